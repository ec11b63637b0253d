import Foundation
import Neural

/// A Stable Diffusion 1.x/2.x model in one original-layout (CompVis/LDM) safetensors file: the
/// family and the three model configs, inferred from the tensors' names and shapes.
///
/// A file holds no config. Everything with a shape is read from it; the rest follows the original
/// LDM configs the files were trained with: SD 1.x attention uses 8 heads, SD 2.x heads of 64
/// channels; CLIP heads are 64 wide; the VAE normalises in 32 groups and scales latents by 0.18215.
public struct SingleFileCheckpoint: Sendable {
    public enum Family: String, Sendable {
        case sd1 = "SD 1.x", sd2 = "SD 2.x"
    }

    public let family: Family
    public var textEncoder: CLIPTextConfig
    public var unet: UNetConfig
    public var vae: VAEConfig

    /// Reads the family and configs from `shapes` (tensor name → shape) of the file at `path`.
    public init(shapes: [String: [Int]], path: String) throws {
        func fail(_ reason: String) -> DiffusionError { .modelFiles(path: path, reason: reason) }
        if shapes.keys.contains(where: { $0.hasPrefix("conditioner.embedders.") }) {
            throw fail("this is an SDXL checkpoint; SD 1.x and 2.x are supported")
        }
        let unetShapes = Self.strip(CheckpointKeys.unetPrefix, from: shapes)
        let vaeShapes = Self.strip(CheckpointKeys.vaePrefix, from: shapes)
        guard !unetShapes.isEmpty else { throw fail("no model.diffusion_model.* tensors: not a Stable Diffusion 1.x/2.x checkpoint") }
        guard !vaeShapes.isEmpty else { throw fail("no first_stage_model.* tensors: the checkpoint has no VAE") }
        let openCLIP = Self.strip(CheckpointKeys.openCLIPPrefix, from: shapes)
        let clip = Self.strip(CheckpointKeys.clipPrefix, from: shapes)
        if !openCLIP.isEmpty {
            family = .sd2
            textEncoder = try Self.openCLIPConfig(openCLIP, fail: fail)
        } else if !clip.isEmpty {
            family = .sd1
            textEncoder = try Self.clipConfig(clip, fail: fail)
        } else {
            throw fail("no cond_stage_model.* tensors: the checkpoint has no text encoder")
        }
        // Decoded configs are checked by their decoders; this one is built from sizes directly.
        if let problem = textEncoder.problem { throw fail("its text encoder's tensors describe no working model: \(problem)") }
        unet = try Self.unetConfig(unetShapes, family: family, fail: fail)
        vae = try Self.vaeConfig(vaeShapes, fail: fail)
    }

    /// The text encoder, UNet and VAE tensors of `file` by diffusers names, for these configs.
    func parts(of file: SafeTensorsFile) -> (textEncoder: CheckpointPart, unet: CheckpointPart, vae: CheckpointPart) {
        let layers = unet.layersPerBlock, levels = vae.blockOutChannels.count, width = textEncoder.hiddenSize
        let upAttention = Set(unet.upBlockTypes.indices.filter { unet.upBlockTypes[$0].hasPrefix("CrossAttn") })
        let text: CheckpointPart
        switch family {
        case .sd1: text = CheckpointPart(file: file) { CheckpointLocation(key: CheckpointKeys.clipPrefix + $0) }
        case .sd2: text = CheckpointPart(file: file) { CheckpointKeys.openCLIP($0, width: width) }
        }
        let unetPart = CheckpointPart(file: file) { name in
            CheckpointKeys.unet(name, layersPerBlock: layers, upLevelsWithAttention: upAttention).map { CheckpointLocation(key: $0) }
        }
        return (text, unetPart, CheckpointPart(file: file) { CheckpointKeys.vae($0, levels: levels) })
    }

    private static func strip(_ prefix: String, from shapes: [String: [Int]]) -> [String: [Int]] {
        var out: [String: [Int]] = [:]
        for (name, shape) in shapes where name.hasPrefix(prefix) { out[String(name.dropFirst(prefix.count))] = shape }
        return out
    }

    /// A config from sizes read off the tensors; one the config checks refuse is this file's error.
    private static func decode<T: Decodable>(_ type: T.Type, fail: (String) -> DiffusionError, _ object: [String: Any]) throws -> T {
        do { return try JSONDecoder().decode(type, from: JSONSerialization.data(withJSONObject: object)) } catch {
            throw fail("its tensors describe no working \(type): \(error)")
        }
    }

    /// The shape of a tensor the inference reads sizes from: `rank` dimensions, none of them zero.
    /// A 0-d or 1-d tensor where a matrix belongs is a damaged or foreign file, named here.
    private static func matrix(_ shapes: [String: [Int]], _ name: String, rank: Int, fail: (String) -> DiffusionError) throws -> [Int] {
        guard let shape = shapes[name], shape.count == rank, shape.allSatisfy({ $0 > 0 }) else {
            throw fail("tensor \(name) has shape \(shapes[name] ?? []); it must have \(rank) dimensions, none of them 0")
        }
        return shape
    }

    /// Counts `prefix0…prefixN` while `prefix{i}suffix` exists.
    private static func count(_ shapes: [String: [Int]], _ prefix: String, _ suffix: String) -> Int {
        var n = 0
        while shapes[prefix + "\(n)" + suffix] != nil { n += 1 }
        return n
    }

    private static func clipConfig(_ shapes: [String: [Int]], fail: (String) -> DiffusionError) throws -> CLIPTextConfig {
        let p = shapes["text_model.embeddings.token_embedding.weight"] != nil ? "text_model." : ""
        guard shapes[p + "embeddings.token_embedding.weight"] != nil, shapes[p + "embeddings.position_embedding.weight"] != nil,
              shapes[p + "encoder.layers.0.mlp.fc1.weight"] != nil else {
            throw fail("the CLIP text encoder (cond_stage_model.transformer.*) lacks its embeddings or first layer")
        }
        let tokens = try matrix(shapes, p + "embeddings.token_embedding.weight", rank: 2, fail: fail)
        let positions = try matrix(shapes, p + "embeddings.position_embedding.weight", rank: 2, fail: fail)
        let fc1 = try matrix(shapes, p + "encoder.layers.0.mlp.fc1.weight", rank: 2, fail: fail)
        return CLIPTextConfig(vocabSize: tokens[0], hiddenSize: tokens[1], intermediateSize: fc1[0],
                              layers: count(shapes, p + "encoder.layers.", ".mlp.fc1.weight"), heads: max(1, tokens[1] / 64),
                              maxPositions: positions[0], activation: .quickGELU)
    }

    /// OpenCLIP (SD 2.x): GELU, and one layer fewer than the file has — SD 2.x conditions on the
    /// penultimate layer, which diffusers runs as a 23-layer tower followed by the final norm.
    private static func openCLIPConfig(_ shapes: [String: [Int]], fail: (String) -> DiffusionError) throws -> CLIPTextConfig {
        guard shapes["token_embedding.weight"] != nil, shapes["positional_embedding"] != nil, shapes["transformer.resblocks.0.mlp.c_fc.weight"] != nil else {
            throw fail("the OpenCLIP text encoder (cond_stage_model.model.*) lacks its embeddings or first layer")
        }
        let tokens = try matrix(shapes, "token_embedding.weight", rank: 2, fail: fail)
        let positions = try matrix(shapes, "positional_embedding", rank: 2, fail: fail)
        let fc = try matrix(shapes, "transformer.resblocks.0.mlp.c_fc.weight", rank: 2, fail: fail)
        let layers = count(shapes, "transformer.resblocks.", ".mlp.c_fc.weight")
        guard layers >= 2 else { throw fail("the OpenCLIP text encoder has \(layers) layer(s); SD 2.x needs at least 2") }
        return CLIPTextConfig(vocabSize: tokens[0], hiddenSize: tokens[1], intermediateSize: fc[0], layers: layers - 1,
                              heads: max(1, tokens[1] / 64), maxPositions: positions[0], activation: .gelu)
    }

    private static func unetConfig(_ shapes: [String: [Int]], family: Family, fail: (String) -> DiffusionError) throws -> UNetConfig {
        guard shapes["input_blocks.0.0.weight"] != nil, shapes["out.2.weight"] != nil else {
            throw fail("the UNet lacks input_blocks.0.0 or out.2")
        }
        let convIn = try matrix(shapes, "input_blocks.0.0.weight", rank: 4, fail: fail)
        let convOut = try matrix(shapes, "out.2.weight", rank: 4, fail: fail)
        // Walk the flat input blocks: resnets (with an optional attention) until a downsampler ends a level.
        var channels: [Int] = [], attention: [Bool] = [], layersPerLevel: [Int] = []
        var index = 1, inLevel = 0, levelChannels = 0, levelAttention = false
        while true {
            if shapes["input_blocks.\(index).0.op.weight"] != nil || shapes["input_blocks.\(index).0.in_layers.2.weight"] == nil {
                if inLevel > 0 { channels.append(levelChannels); attention.append(levelAttention); layersPerLevel.append(inLevel) }
                if shapes["input_blocks.\(index).0.op.weight"] == nil { break }
                inLevel = 0; levelAttention = false
            } else {
                levelChannels = try matrix(shapes, "input_blocks.\(index).0.in_layers.2.weight", rank: 4, fail: fail)[0]
                levelAttention = levelAttention || shapes["input_blocks.\(index).1.proj_in.weight"] != nil
                inLevel += 1
            }
            index += 1
        }
        guard let layers = layersPerLevel.first, !channels.isEmpty, Set(layersPerLevel).count == 1 else {
            throw fail("the UNet's input blocks do not form levels of equal depth")
        }
        guard let projIn = shapes["middle_block.1.proj_in.weight"], shapes["middle_block.1.transformer_blocks.0.attn2.to_k.weight"] != nil else {
            throw fail("the UNet has no middle attention block (middle_block.1)")
        }
        let context = try matrix(shapes, "middle_block.1.transformer_blocks.0.attn2.to_k.weight", rank: 2, fail: fail)
        let heads: [Int] = family == .sd2 ? channels.map { max(1, $0 / 64) } : channels.map { _ in 8 }
        return try decode(UNetConfig.self, fail: fail, [
            "block_out_channels": channels, "layers_per_block": layers, "attention_head_dim": heads,
            "down_block_types": attention.map { $0 ? "CrossAttnDownBlock2D" : "DownBlock2D" },
            "up_block_types": attention.reversed().map { $0 ? "CrossAttnUpBlock2D" : "UpBlock2D" },
            "use_linear_projection": projIn.count == 2, "cross_attention_dim": context[1],
            "in_channels": convIn[1], "out_channels": convOut[0], "sample_size": family == .sd2 ? 96 : 64,
        ])
    }

    private static func vaeConfig(_ shapes: [String: [Int]], fail: (String) -> DiffusionError) throws -> VAEConfig {
        let levels = count(shapes, "encoder.down.", ".block.0.conv1.weight")
        guard levels > 0, shapes["encoder.conv_in.weight"] != nil, shapes["decoder.conv_out.weight"] != nil, shapes["post_quant_conv.weight"] != nil else {
            throw fail("the VAE (first_stage_model.*) lacks its encoder levels, conv_in, conv_out or post_quant_conv")
        }
        let convIn = try matrix(shapes, "encoder.conv_in.weight", rank: 4, fail: fail)
        let convOut = try matrix(shapes, "decoder.conv_out.weight", rank: 4, fail: fail)
        let postQuant = try matrix(shapes, "post_quant_conv.weight", rank: 4, fail: fail)
        return try decode(VAEConfig.self, fail: fail, [
            "block_out_channels": try (0..<levels).map { try matrix(shapes, "encoder.down.\($0).block.0.conv1.weight", rank: 4, fail: fail)[0] },
            "layers_per_block": count(shapes, "encoder.down.0.block.", ".conv1.weight"), "latent_channels": postQuant[0],
            "in_channels": convIn[1], "out_channels": convOut[0], "mid_block_add_attention": shapes["encoder.mid.attn_1.q.weight"] != nil,
        ])
    }
}
