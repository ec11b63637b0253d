import Foundation
import Neural

/// A Stable Diffusion 1.x/2.x or SDXL model in one original-layout (CompVis/LDM, Stability's
/// generative-models) safetensors file: the family and the model configs, inferred from the
/// tensors' names and shapes.
///
/// A file holds no config. Everything with a shape is read from it; the rest follows the original
/// LDM configs the files were trained with: SD 1.x attention uses 8 heads, SD 2.x heads of 64
/// channels (SDXL too); CLIP heads are 64 wide; the VAE normalises in 32 groups and scales latents
/// by 0.18215 (SDXL: 0.13025); SDXL's added time ids have 256 features each.
public struct SingleFileCheckpoint: Sendable {
    public enum Family: String, Sendable {
        case sd1 = "SD 1.x", sd2 = "SD 2.x", sdxl = "SDXL", sdxlRefiner = "SDXL refiner"

        public var isSDXL: Bool { self == .sdxl || self == .sdxlRefiner }
    }

    public let family: Family
    /// The first (SD 1.x/2.x: only) text tower; the refiner's OpenCLIP ViT-bigG.
    public var textEncoder: CLIPTextConfig
    /// SDXL base: the second tower, OpenCLIP ViT-bigG with its projection.
    public var secondTextEncoder: CLIPTextConfig?
    public var unet: UNetConfig
    public var vae: VAEConfig

    /// Configs given from elsewhere (a config folder, as diffusers' `from_single_file(config:)`).
    init(family: Family, textEncoder: CLIPTextConfig, secondTextEncoder: CLIPTextConfig?, unet: UNetConfig, vae: VAEConfig) {
        self.family = family
        self.textEncoder = textEncoder
        self.secondTextEncoder = secondTextEncoder
        self.unet = unet
        self.vae = vae
    }

    /// Only the family, from which text encoders the file holds: what a file read with a config
    /// folder's configs needs (its other sizes may not follow the original configs' conventions).
    public static func family(shapes: [String: [Int]], path: String) throws -> Family {
        func has(_ prefix: String) -> Bool { shapes.keys.contains { $0.hasPrefix(prefix) } }
        if has(CheckpointKeys.sdxlCLIPPrefix) || has(CheckpointKeys.sdxlOpenCLIPPrefix) { return .sdxl }
        if has(CheckpointKeys.refinerOpenCLIPPrefix) { return .sdxlRefiner }
        if has(CheckpointKeys.openCLIPPrefix) { return .sd2 }
        if has(CheckpointKeys.clipPrefix) { return .sd1 }
        throw DiffusionError.modelFiles(path: path, reason: "no cond_stage_model.* or conditioner.embedders.* tensors: the checkpoint has no text encoder")
    }

    /// Reads the family and configs from `shapes` (tensor name → shape) of the file at `path`.
    public init(shapes: [String: [Int]], path: String) throws {
        func fail(_ reason: String) -> DiffusionError { .modelFiles(path: path, reason: reason) }
        let unetShapes = Self.strip(CheckpointKeys.unetPrefix, from: shapes)
        let vaeShapes = Self.strip(CheckpointKeys.vaePrefix, from: shapes)
        guard !unetShapes.isEmpty else { throw fail("no model.diffusion_model.* tensors: not a Stable Diffusion 1.x/2.x or SDXL checkpoint") }
        guard !vaeShapes.isEmpty else { throw fail("no first_stage_model.* tensors: the checkpoint has no VAE") }
        family = try Self.family(shapes: shapes, path: path)
        switch family {
        case .sdxl:
            let clip = Self.strip(CheckpointKeys.sdxlCLIPPrefix, from: shapes), openCLIP = Self.strip(CheckpointKeys.sdxlOpenCLIPPrefix, from: shapes)
            guard !clip.isEmpty, !openCLIP.isEmpty else {
                throw fail("an SDXL checkpoint needs both text encoders (conditioner.embedders.0.transformer.* and conditioner.embedders.1.model.*)")
            }
            textEncoder = try Self.clipConfig(clip, fail: fail)
            secondTextEncoder = try Self.openCLIPConfig(openCLIP, droppingLast: false, fail: fail)
        case .sdxlRefiner:
            textEncoder = try Self.openCLIPConfig(Self.strip(CheckpointKeys.refinerOpenCLIPPrefix, from: shapes), droppingLast: false, fail: fail)
        case .sd2:
            textEncoder = try Self.openCLIPConfig(Self.strip(CheckpointKeys.openCLIPPrefix, from: shapes), droppingLast: true, fail: fail)
        case .sd1:
            textEncoder = try Self.clipConfig(Self.strip(CheckpointKeys.clipPrefix, from: shapes), fail: fail)
        }
        // Decoded configs are checked by their decoders; this one is built from sizes directly.
        for config in [textEncoder, secondTextEncoder].compactMap({ $0 }) {
            if let problem = config.problem { throw fail("its text encoder's tensors describe no working model: \(problem)") }
        }
        unet = try Self.unetConfig(unetShapes, family: family, fail: fail)
        vae = try Self.vaeConfig(vaeShapes, scalingFactor: family.isSDXL ? 0.13025 : 0.18215, fail: fail)
    }

    /// The text encoder, UNet and VAE tensors of `file` by diffusers names, for these configs.
    func parts(of file: SafeTensorsFile) -> (textEncoder: CheckpointPart, secondTextEncoder: CheckpointPart?, unet: CheckpointPart, vae: CheckpointPart) {
        let layers = unet.layersPerBlock, levels = vae.blockOutChannels.count, width = textEncoder.hiddenSize
        let upAttention = Set(unet.upBlockTypes.indices.filter { unet.upBlockTypes[$0].hasPrefix("CrossAttn") })
        let text: CheckpointPart
        var second: CheckpointPart?
        switch family {
        case .sd1: text = CheckpointPart(file: file) { CheckpointLocation(key: CheckpointKeys.clipPrefix + $0) }
        case .sd2: text = CheckpointPart(file: file) { CheckpointKeys.openCLIP($0, width: width) }
        case .sdxl:
            text = CheckpointPart(file: file) { CheckpointLocation(key: CheckpointKeys.sdxlCLIPPrefix + $0) }
            let secondWidth = secondTextEncoder?.hiddenSize ?? 0
            second = CheckpointPart(file: file) { CheckpointKeys.openCLIP($0, width: secondWidth, prefix: CheckpointKeys.sdxlOpenCLIPPrefix) }
        case .sdxlRefiner: text = CheckpointPart(file: file) { CheckpointKeys.openCLIP($0, width: width, prefix: CheckpointKeys.refinerOpenCLIPPrefix) }
        }
        let unetPart = CheckpointPart(file: file) { name in
            CheckpointKeys.unet(name, layersPerBlock: layers, upLevelsWithAttention: upAttention).map { CheckpointLocation(key: $0) }
        }
        return (text, second, unetPart, CheckpointPart(file: file) { CheckpointKeys.vae($0, levels: levels) })
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

    /// OpenCLIP: GELU. SD 2.x (`droppingLast`) has one layer fewer than the file: it conditions on
    /// the penultimate layer, which diffusers runs as a 23-layer tower followed by the final norm.
    /// SDXL keeps every layer (diffusers reads the penultimate hidden state, and pools the last).
    private static func openCLIPConfig(_ shapes: [String: [Int]], droppingLast: Bool, fail: (String) -> DiffusionError) throws -> CLIPTextConfig {
        guard shapes["token_embedding.weight"] != nil, shapes["positional_embedding"] != nil, shapes["transformer.resblocks.0.mlp.c_fc.weight"] != nil else {
            throw fail("the OpenCLIP text encoder (cond_stage_model.model.*) lacks its embeddings or first layer")
        }
        let tokens = try matrix(shapes, "token_embedding.weight", rank: 2, fail: fail)
        let positions = try matrix(shapes, "positional_embedding", rank: 2, fail: fail)
        let fc = try matrix(shapes, "transformer.resblocks.0.mlp.c_fc.weight", rank: 2, fail: fail)
        let layers = count(shapes, "transformer.resblocks.", ".mlp.c_fc.weight")
        guard layers >= 2 else { throw fail("the OpenCLIP text encoder has \(layers) layer(s); it needs at least 2") }
        return CLIPTextConfig(vocabSize: tokens[0], hiddenSize: tokens[1], intermediateSize: fc[0], layers: droppingLast ? layers - 1 : layers,
                              heads: max(1, tokens[1] / 64), maxPositions: positions[0], activation: .gelu)
    }

    private static func unetConfig(_ shapes: [String: [Int]], family: Family, fail: (String) -> DiffusionError) throws -> UNetConfig {
        guard shapes["input_blocks.0.0.weight"] != nil, shapes["out.2.weight"] != nil else {
            throw fail("the UNet lacks input_blocks.0.0 or out.2")
        }
        let convIn = try matrix(shapes, "input_blocks.0.0.weight", rank: 4, fail: fail)
        let convOut = try matrix(shapes, "out.2.weight", rank: 4, fail: fail)
        // Walk the flat input blocks: resnets (with an optional attention) until a downsampler ends a level.
        var channels: [Int] = [], attention: [Bool] = [], layersPerLevel: [Int] = [], depths: [Int] = []
        var index = 1, inLevel = 0, levelChannels = 0, levelAttention = false, levelDepth = 1
        while true {
            if shapes["input_blocks.\(index).0.op.weight"] != nil || shapes["input_blocks.\(index).0.in_layers.2.weight"] == nil {
                if inLevel > 0 { channels.append(levelChannels); attention.append(levelAttention); layersPerLevel.append(inLevel); depths.append(levelDepth) }
                if shapes["input_blocks.\(index).0.op.weight"] == nil { break }
                inLevel = 0; levelAttention = false; levelDepth = 1
            } else {
                levelChannels = try matrix(shapes, "input_blocks.\(index).0.in_layers.2.weight", rank: 4, fail: fail)[0]
                if shapes["input_blocks.\(index).1.proj_in.weight"] != nil {
                    levelAttention = true
                    levelDepth = max(1, count(shapes, "input_blocks.\(index).1.transformer_blocks.", ".attn1.to_q.weight"))
                }
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
        let heads: [Int] = family == .sd1 ? channels.map { _ in 8 } : channels.map { max(1, $0 / 64) }
        var config: [String: Any] = [
            "block_out_channels": channels, "layers_per_block": layers, "attention_head_dim": heads,
            "down_block_types": attention.map { $0 ? "CrossAttnDownBlock2D" : "DownBlock2D" },
            "up_block_types": attention.reversed().map { $0 ? "CrossAttnUpBlock2D" : "UpBlock2D" },
            "use_linear_projection": projIn.count == 2, "cross_attention_dim": context[1],
            "in_channels": convIn[1], "out_channels": convOut[0], "sample_size": family.isSDXL ? 128 : family == .sd2 ? 96 : 64,
        ]
        if family.isSDXL {
            // The middle block's depth is the deepest level's; SDXL adds pooled text and time ids (label_emb).
            let middle = max(1, count(shapes, "middle_block.1.transformer_blocks.", ".attn1.to_q.weight"))
            config["transformer_layers_per_block"] = Array(depths.dropLast()) + [middle]
            config["addition_embed_type"] = "text_time"
            config["addition_time_embed_dim"] = 256
            config["projection_class_embeddings_input_dim"] = try matrix(shapes, "label_emb.0.0.weight", rank: 2, fail: fail)[1]
        }
        return try decode(UNetConfig.self, fail: fail, config)
    }

    private static func vaeConfig(_ shapes: [String: [Int]], scalingFactor: Float, fail: (String) -> DiffusionError) throws -> VAEConfig {
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
            "scaling_factor": scalingFactor,
        ])
    }
}
