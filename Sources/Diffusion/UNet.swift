import AtomicFiles
import Foundation
import Neural

/// UNet2DConditionModel's shape, from a diffusers `unet/config.json` (SD 1.x, 2.x and SDXL layouts).
public struct UNetConfig: Decodable, Sendable, Equatable {
    public var blockOutChannels: [Int]
    public var layersPerBlock: Int
    public var downBlockTypes: [String]
    public var upBlockTypes: [String]
    /// diffusers reads `attention_head_dim` as the number of heads (an old naming quirk it keeps).
    public var heads: [Int]
    public var normGroups: Int
    public var normEpsilon: Float
    public var useLinearProjection: Bool
    public var inChannels: Int
    public var outChannels: Int
    public var crossAttentionDim: Int
    /// The latent size the model was trained at (64 for SD 1.x, 96 for SD 2.x 768-v, 128 for SDXL).
    public var sampleSize: Int
    /// Transformer blocks per attention, per level (SDXL base: 1, 2, 10; SD 1.x/2.x: 1).
    public var transformerLayers: [Int]
    /// SDXL's added conditioning ("text_time": pooled text embeds and size/crop or aesthetic
    /// ids added to the time embedding); nil for SD 1.x/2.x.
    public var additionEmbedType: String?
    /// Sinusoidal features per added time id (256 on SDXL).
    public var additionTimeEmbedDim: Int
    /// add_embedding's input width: the pooled text embeds plus every time id's features.
    public var projectionClassEmbeddingsInputDim: Int

    enum CodingKeys: String, CodingKey {
        case blockOutChannels = "block_out_channels", layersPerBlock = "layers_per_block", downBlockTypes = "down_block_types"
        case upBlockTypes = "up_block_types", attentionHeadDim = "attention_head_dim", numAttentionHeads = "num_attention_heads"
        case normGroups = "norm_num_groups", normEpsilon = "norm_eps", useLinearProjection = "use_linear_projection"
        case inChannels = "in_channels", outChannels = "out_channels", crossAttentionDim = "cross_attention_dim", sampleSize = "sample_size"
        case transformerLayers = "transformer_layers_per_block", additionEmbedType = "addition_embed_type"
        case additionTimeEmbedDim = "addition_time_embed_dim", projectionClassEmbeddingsInputDim = "projection_class_embeddings_input_dim"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        blockOutChannels = try c.decode([Int].self, forKey: .blockOutChannels)
        layersPerBlock = try c.decodeIfPresent(Int.self, forKey: .layersPerBlock) ?? 2
        downBlockTypes = try c.decode([String].self, forKey: .downBlockTypes)
        upBlockTypes = try c.decode([String].self, forKey: .upBlockTypes)
        let key: CodingKeys = (try? c.decodeNil(forKey: .numAttentionHeads)) == false ? .numAttentionHeads : .attentionHeadDim
        if let list = try? c.decode([Int].self, forKey: key) { heads = list } else {
            heads = Array(repeating: try c.decodeIfPresent(Int.self, forKey: key) ?? 8, count: blockOutChannels.count)
        }
        normGroups = try c.decodeIfPresent(Int.self, forKey: .normGroups) ?? 32
        normEpsilon = try c.decodeIfPresent(Float.self, forKey: .normEpsilon) ?? 1e-5
        useLinearProjection = try c.decodeIfPresent(Bool.self, forKey: .useLinearProjection) ?? false
        inChannels = try c.decodeIfPresent(Int.self, forKey: .inChannels) ?? 4
        outChannels = try c.decodeIfPresent(Int.self, forKey: .outChannels) ?? 4
        crossAttentionDim = try c.decodeIfPresent(Int.self, forKey: .crossAttentionDim) ?? 768
        sampleSize = try c.decodeIfPresent(Int.self, forKey: .sampleSize) ?? 64
        if let list = try? c.decode([Int].self, forKey: .transformerLayers) { transformerLayers = list } else {
            transformerLayers = Array(repeating: try c.decodeIfPresent(Int.self, forKey: .transformerLayers) ?? 1, count: blockOutChannels.count)
        }
        additionEmbedType = try c.decodeIfPresent(String.self, forKey: .additionEmbedType)
        additionTimeEmbedDim = try c.decodeIfPresent(Int.self, forKey: .additionTimeEmbedDim) ?? 0
        projectionClassEmbeddingsInputDim = try c.decodeIfPresent(Int.self, forKey: .projectionClassEmbeddingsInputDim) ?? 0
        try ConfigCheck.check(problem)
    }
}

/// SDXL's added conditioning for each sample of a batch, which the UNet adds to its time embedding.
public struct AddedConditioning: Sendable {
    /// The pooled, projected text embeds: [N, width].
    public var textEmbeds: Tensor
    /// One row of ids per sample, each turned into sinusoidal features: original height and width,
    /// crop top and left, target height and width (base); or original size, crop and aesthetic
    /// score (refiner).
    public var timeIds: [[Float]]

    public init(textEmbeds: Tensor, timeIds: [[Float]]) {
        self.textEmbeds = textEmbeds
        self.timeIds = timeIds
    }
}

/// Stable Diffusion's denoising UNet (diffusers' UNet2DConditionModel, SD 1.x/2.x and SDXL
/// layouts), built from the layer library with its weights prepared once at load.
public final class UNet: Sendable {
    public let config: UNetConfig
    let backend: any Backend
    let timeEmbedding: TimestepEmbedding
    /// SDXL: the added conditioning's embedding (text embeds and time ids → time embedding width).
    let addEmbedding: TimestepEmbedding?
    let convIn: Conv2d
    let down: [Level]
    let midResnets: [ResnetBlock]
    let midTransformer: Transformer2D
    let up: [Level]
    let normOut: GroupNorm
    let convOut: Conv2d

    /// One resolution level: resnets, each followed by a transformer in cross-attention blocks,
    /// then a down- or upsampler (none on the last level).
    struct Level: Sendable {
        var resnets: [ResnetBlock] = []
        var transformers: [Transformer2D] = []
        var downsample: Downsample?
        var upsample: Upsample?
    }

    public convenience init(folder: String, backend: any Backend) throws {
        try self.init(folder: folder, backend: backend, adjusting: nil)
    }

    /// `adjusting`: what the weights pass through as they are read (LoRA updates), given the config.
    convenience init(folder: String, backend: any Backend, adjusting: ((WeightSource, UNetConfig) -> WeightSource)?) throws {
        guard let data = RegularFile.contents(atPath: folder + "/config.json") else {
            throw DiffusionError.modelFiles(path: folder + "/config.json", reason: "missing")
        }
        let config: UNetConfig
        do { config = try JSONDecoder().decode(UNetConfig.self, from: data) } catch {
            throw DiffusionError.modelFiles(path: folder + "/config.json", reason: "not a UNet config: \(error)")
        }
        let file = try SafeTensorsFile(path: ModelFiles.weights(in: folder, stem: "diffusion_pytorch_model"))
        try self.init(config: config, weights: adjusting?(file, config) ?? file, configName: folder + "/config.json", backend: backend)
    }

    /// A UNet whose tensors come from `source` (a diffusers file, or one part of a single-file
    /// checkpoint); every name and shape is checked before any tensor is read.
    convenience init(config: UNetConfig, weights source: WeightSource, configName: String, backend: any Backend) throws {
        try Self.checkSupported(config, path: configName)
        try source.check(UNetParameters.shapes(config), configName: configName)
        try self.init(config: config, loader: source.loader(backend: backend, configName: configName))
    }

    /// A full model with random weights (benchmarks: no download needed); `roundedToHalf`: fp16
    /// values, as an fp16 checkpoint's.
    public convenience init(randomWeights config: UNetConfig, seed: UInt64 = 0, roundedToHalf: Bool = false, backend: any Backend) throws {
        try Self.checkSupported(config, path: "UNet config")
        try self.init(config: config, loader: RandomTensors(seed: seed, roundedToHalf: roundedToHalf).loader(backend: backend))
    }

    private init(config: UNetConfig, loader w: WeightLoader) throws {
        self.config = config
        backend = w.backend
        let channels = config.blockOutChannels, timeWidth = channels[0] * 4
        let (groups, epsilon) = (config.normGroups, config.normEpsilon)
        func resnet(_ p: String, _ inputs: Int, _ outputs: Int) throws -> ResnetBlock {
            try ResnetBlock(w, p, inputs: inputs, outputs: outputs, groups: groups, epsilon: epsilon, timeEmbedding: timeWidth)
        }
        func transformer(_ p: String, _ c: Int, heads: Int, depth: Int) throws -> Transformer2D {
            try Transformer2D(w, p, channels: c, heads: heads, contextWidth: config.crossAttentionDim, groups: groups,
                              linearProjection: config.useLinearProjection, depth: depth)
        }
        timeEmbedding = try TimestepEmbedding(w, "time_embedding", inputs: channels[0], outputs: timeWidth)
        addEmbedding = config.additionEmbedType == nil ? nil
            : try TimestepEmbedding(w, "add_embedding", inputs: config.projectionClassEmbeddingsInputDim, outputs: timeWidth)
        convIn = try Conv2d(w, "conv_in", inputs: config.inChannels, outputs: channels[0], kernel: 3)
        var previous = channels[0]
        down = try config.downBlockTypes.enumerated().map { level, type in
            let c = channels[level], p = "down_blocks.\(level)"
            var block = Level()
            for j in 0..<config.layersPerBlock {
                block.resnets.append(try resnet("\(p).resnets.\(j)", j == 0 ? previous : c, c))
                if type.hasPrefix("CrossAttn") {
                    block.transformers.append(try transformer("\(p).attentions.\(j)", c, heads: config.heads[level], depth: config.transformerLayers[level]))
                }
            }
            if level != channels.count - 1 { block.downsample = try Downsample(w, "\(p).downsamplers.0", channels: c) }
            previous = c
            return block
        }
        let last = channels.last!
        midResnets = [try resnet("mid_block.resnets.0", last, last), try resnet("mid_block.resnets.1", last, last)]
        midTransformer = try transformer("mid_block.attentions.0", last, heads: config.heads.last!, depth: config.transformerLayers.last!)
        let reversed = Array(channels.reversed()), upHeads = Array(config.heads.reversed()), upDepths = Array(config.transformerLayers.reversed())
        previous = last
        up = try config.upBlockTypes.enumerated().map { level, type in
            let c = reversed[level], input = reversed[min(level + 1, reversed.count - 1)], p = "up_blocks.\(level)"
            var block = Level()
            for j in 0...config.layersPerBlock {
                let skip = j == config.layersPerBlock ? input : c
                block.resnets.append(try resnet("\(p).resnets.\(j)", (j == 0 ? previous : c) + skip, c))
                if type.hasPrefix("CrossAttn") {
                    block.transformers.append(try transformer("\(p).attentions.\(j)", c, heads: upHeads[level], depth: upDepths[level]))
                }
            }
            if level != reversed.count - 1 { block.upsample = try Upsample(w, "\(p).upsamplers.0", channels: c) }
            previous = c
            return block
        }
        normOut = try GroupNorm(w, "conv_norm_out", channels: channels[0], groups: groups, epsilon: epsilon)
        convOut = try Conv2d(w, "conv_out", inputs: channels[0], outputs: config.outChannels, kernel: 3)
    }

    /// The time embedding, [1, width]; on SDXL plus each sample's added conditioning, [N, width].
    func timeEmbedding(sinusoidal timestep: Float, added: AddedConditioning?, batch: Int) throws -> Tensor {
        let embedding = try timeEmbedding(backend.tensor(TimestepEmbedding.sinusoidal(timestep, width: config.blockOutChannels[0])))
        guard let addEmbedding else {
            guard added == nil else { throw NeuralError.shapeMismatch("added conditioning for a UNet without add_embedding") }
            return embedding
        }
        guard let added else { throw NeuralError.shapeMismatch("this UNet (addition_embed_type text_time) needs pooled text embeds and time ids") }
        let idCount = added.timeIds.first?.count ?? 0, dim = config.additionTimeEmbedDim
        guard added.timeIds.count == batch, added.timeIds.allSatisfy({ $0.count == idCount }), added.textEmbeds.shape.count == 2,
              added.textEmbeds.shape[0] == batch, added.textEmbeds.shape[1] + idCount * dim == config.projectionClassEmbeddingsInputDim else {
            throw NeuralError.shapeMismatch("added conditioning \(added.textEmbeds.shape) with \(added.timeIds.count)×\(idCount) time ids for a batch of \(batch): "
                                            + "add_embedding takes \(config.projectionClassEmbeddingsInputDim) values per sample")
        }
        // diffusers: concat(text_embeds, Timesteps(addition_time_embed_dim)(time_ids).flatten) → add_embedding.
        let features = added.timeIds.flatMap { ids in ids.flatMap { TimestepEmbedding.sinusoidal($0, width: dim).storage } }
        let input = try backend.concat([added.textEmbeds, backend.tensor(features, shape: [batch, idCount * dim])], axis: 1)
        return try backend.add(try backend.concat(Array(repeating: embedding, count: batch), axis: 0), try addEmbedding(input))
    }

    static func checkSupported(_ config: UNetConfig, path: String) throws {
        let supported: Set<String> = ["CrossAttnDownBlock2D", "DownBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"]
        if let unknown = (config.downBlockTypes + config.upBlockTypes).first(where: { !supported.contains($0) }) {
            throw DiffusionError.modelFiles(path: path, reason: "block type \(unknown) is not supported (SD 1.x/2.x UNets are)")
        }
        guard config.heads.count == config.blockOutChannels.count, config.downBlockTypes.count == config.blockOutChannels.count,
              config.upBlockTypes.count == config.blockOutChannels.count else {
            throw DiffusionError.modelFiles(path: path, reason: "block_out_channels, attention heads and block types must have one entry per level")
        }
    }

    /// Predicts noise (or v) for latents [N, C, H, W] at one `timestep`; sample n attends to
    /// `context` [N, tokens, dim] row n (or [tokens, dim] when N is 1). Guided sampling passes the
    /// unconditional and conditional halves as one batch of two, as diffusers does. An SDXL UNet
    /// also needs each sample's `added` conditioning.
    public func callAsFunction(_ sample: Tensor, timestep: Float, context: Tensor, added: AddedConditioning? = nil) throws -> Tensor {
        let contexts = context.shape.count == 2 ? [context] : try (0..<(context.shape.first ?? 0)).map { try context.item($0) }
        return try self(sample, timestep: timestep, contexts: contexts, added: added)
    }

    /// The same with one context [tokens, dim] per sample; their token counts may differ (a long
    /// prompt against a short negative one: A1111 runs them as separate passes, which this is).
    public func callAsFunction(_ sample: Tensor, timestep: Float, contexts: [Tensor], added: AddedConditioning? = nil) throws -> Tensor {
        let batch = sample.shape.first ?? 0
        guard sample.shape.count == 4, batch >= 1, sample.shape[1] == config.inChannels, contexts.count == batch,
              contexts.allSatisfy({ $0.shape.count == 2 && $0.shape[1] == config.crossAttentionDim }) else {
            throw NeuralError.shapeMismatch("UNet input \(sample.shape) with contexts \(contexts.map(\.shape)): expected [N, \(config.inChannels), h, w] and N × [tokens, \(config.crossAttentionDim)]")
        }
        let time = try backend.activation(try timeEmbedding(sinusoidal: timestep, added: added, batch: batch), .silu)
        var x = try convIn(sample)
        var skips = [x]
        for level in down {
            for (j, resnet) in level.resnets.enumerated() {
                x = try resnet(x, activatedTime: time)
                if !level.transformers.isEmpty { x = try level.transformers[j](x, contexts: contexts) }
                skips.append(x)
            }
            if let downsample = level.downsample {
                x = try downsample(x)
                skips.append(x)
            }
        }
        x = try midResnets[0](x, activatedTime: time)
        x = try midTransformer(x, contexts: contexts)
        x = try midResnets[1](x, activatedTime: time)
        for level in up {
            for (j, resnet) in level.resnets.enumerated() {
                x = try resnet(try backend.concat([x, skips.removeLast()], axis: 1), activatedTime: time)
                if !level.transformers.isEmpty { x = try level.transformers[j](x, contexts: contexts) }
            }
            if let upsample = level.upsample, let skip = skips.last {
                // Up to the size of the level below, not simply ×2: a latent side the downsampling
                // does not divide (640×480 on SD) was rounded up on the way down (diffusers'
                // forward_upsample_size); for sides it divides the two are the same.
                x = try upsample(x, height: skip.shape[2], width: skip.shape[3])
            }
        }
        return try convOut(try normOut(x, activation: .silu))
    }
}
