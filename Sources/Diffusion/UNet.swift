import AtomicFiles
import Foundation
import Neural

/// UNet2DConditionModel's shape, from a diffusers `unet/config.json` (SD 1.x and 2.x layouts).
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
    /// The latent size the model was trained at (64 for SD 1.x, 96 for SD 2.x 768-v).
    public var sampleSize: Int

    enum CodingKeys: String, CodingKey {
        case blockOutChannels = "block_out_channels", layersPerBlock = "layers_per_block", downBlockTypes = "down_block_types"
        case upBlockTypes = "up_block_types", attentionHeadDim = "attention_head_dim", numAttentionHeads = "num_attention_heads"
        case normGroups = "norm_num_groups", normEpsilon = "norm_eps", useLinearProjection = "use_linear_projection"
        case inChannels = "in_channels", outChannels = "out_channels", crossAttentionDim = "cross_attention_dim", sampleSize = "sample_size"
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
        try ConfigCheck.check(problem)
    }
}

/// Stable Diffusion's denoising UNet (diffusers' UNet2DConditionModel, SD 1.x/2.x block types).
public final class UNet: @unchecked Sendable {
    public let config: UNetConfig
    /// Every tensor, float32, loaded and shape-checked once (UNetParameters).
    private let weights: [String: Tensor]

    public init(folder: String) throws {
        guard let data = RegularFile.contents(atPath: folder + "/config.json") else {
            throw DiffusionError.modelFiles(path: folder + "/config.json", reason: "missing")
        }
        do { config = try JSONDecoder().decode(UNetConfig.self, from: data) } catch {
            throw DiffusionError.modelFiles(path: folder + "/config.json", reason: "not a UNet config: \(error)")
        }
        try Self.checkSupported(config, path: folder + "/config.json")
        let file = try SafeTensorsFile(path: ModelFiles.weights(in: folder, stem: "diffusion_pytorch_model"))
        weights = try UNetParameters.load(config, from: file)
    }

    /// A UNet whose tensors come from `source` (one part of a single-file checkpoint).
    init(config: UNetConfig, weights source: WeightSource, configName: String) throws {
        try Self.checkSupported(config, path: configName)
        self.config = config
        weights = try UNetParameters.load(config, from: source, configName: configName)
    }

    /// A full model with random weights (benchmarks: no download needed).
    public init(randomWeights config: UNetConfig, seed: UInt64 = 0) throws {
        try Self.checkSupported(config, path: "UNet config")
        self.config = config
        weights = UNetParameters.random(config, seed: seed)
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

    private func w(_ name: String) throws -> Tensor {
        guard let tensor = weights[name] else { throw NeuralError.shapeMismatch("UNet tensor \(name) is not in the model") }
        return tensor
    }

    /// Predicts noise (or v) for latents [N, C, H, W] at one `timestep`; sample n attends to
    /// `context` [N, tokens, dim] row n (or [tokens, dim] when N is 1). Guided sampling passes the
    /// unconditional and conditional halves as one batch of two, as diffusers does.
    public func callAsFunction(_ sample: Tensor, timestep: Float, context: Tensor) throws -> Tensor {
        let batch = sample.shape.first ?? 0
        let contexts = context.shape.count == 2 ? [context] : (0..<(context.shape.first ?? 0)).map { context.item($0) }
        guard sample.shape.count == 4, batch >= 1, sample.shape[1] == config.inChannels, contexts.count == batch,
              contexts.allSatisfy({ $0.shape.count == 2 && $0.shape[1] == config.crossAttentionDim }) else {
            throw NeuralError.shapeMismatch("UNet input \(sample.shape) with context \(context.shape): expected [N, \(config.inChannels), h, w] and [N, tokens, \(config.crossAttentionDim)]")
        }
        let context = contexts
        let temb = try timeEmbedding(timestep)
        var x = try Convolution.conv2d(sample, weight: try w("conv_in.weight"), bias: try w("conv_in.bias"), padding: 1)
        var skips = [x]
        for (level, type) in config.downBlockTypes.enumerated() {
            let p = "down_blocks.\(level)"
            for j in 0..<config.layersPerBlock {
                x = try resnet(x, "\(p).resnets.\(j)", temb)
                if type.hasPrefix("CrossAttn") { x = try transformer(x, "\(p).attentions.\(j)", context, heads: config.heads[level]) }
                skips.append(x)
            }
            if level != config.downBlockTypes.count - 1 {
                x = try Convolution.conv2d(x, weight: try w("\(p).downsamplers.0.conv.weight"), bias: try w("\(p).downsamplers.0.conv.bias"),
                                           stride: 2, padding: 1)
                skips.append(x)
            }
        }
        x = try resnet(x, "mid_block.resnets.0", temb)
        x = try transformer(x, "mid_block.attentions.0", context, heads: config.heads.last!)
        x = try resnet(x, "mid_block.resnets.1", temb)
        let upHeads = Array(config.heads.reversed())
        for (level, type) in config.upBlockTypes.enumerated() {
            let p = "up_blocks.\(level)"
            for j in 0...config.layersPerBlock {
                x = try Ops.concat([x, skips.removeLast()], axis: 1)
                x = try resnet(x, "\(p).resnets.\(j)", temb)
                if type.hasPrefix("CrossAttn") { x = try transformer(x, "\(p).attentions.\(j)", context, heads: upHeads[level]) }
            }
            if level != config.upBlockTypes.count - 1, let skip = skips.last {
                // Up to the size of the level below, not simply ×2: a latent side the downsampling
                // does not divide (640×480 on SD) was rounded up on the way down (diffusers'
                // forward_upsample_size); for sides it divides the two are the same.
                x = try Interpolation.resize(x, height: skip.shape[2], width: skip.shape[3], mode: .nearest)
                x = try Convolution.conv2d(x, weight: try w("\(p).upsamplers.0.conv.weight"), bias: try w("\(p).upsamplers.0.conv.bias"), padding: 1)
            }
        }
        x = try Ops.groupNorm(x, groups: config.normGroups, weight: try w("conv_norm_out.weight"), bias: try w("conv_norm_out.bias"),
                              epsilon: config.normEpsilon)
        return try Convolution.conv2d(Ops.silu(x), weight: try w("conv_out.weight"), bias: try w("conv_out.bias"), padding: 1)
    }

    /// Sinusoidal timestep features ([cos, sin], as flip_sin_to_cos), then two linear layers.
    func timeEmbedding(_ timestep: Float) throws -> Tensor {
        let dim = config.blockOutChannels[0], half = dim / 2
        var features = [Float](repeating: 0, count: dim)
        for i in 0..<half {
            let frequency = expf(-logf(10_000) * Float(i) / Float(half))
            let angle = timestep * frequency
            features[i] = cosf(angle)
            features[half + i] = sinf(angle)
        }
        let hidden = Ops.silu(try LinearAlgebra.linear(Tensor(shape: [1, dim], storage: features), weight: try w("time_embedding.linear_1.weight"),
                                                       bias: try w("time_embedding.linear_1.bias")))
        return try LinearAlgebra.linear(hidden, weight: try w("time_embedding.linear_2.weight"), bias: try w("time_embedding.linear_2.bias"))
    }

    /// ResnetBlock2D with the time embedding added after the first convolution.
    func resnet(_ x: Tensor, _ p: String, _ temb: Tensor) throws -> Tensor {
        let eps = config.normEpsilon, groups = config.normGroups
        var h = try Ops.groupNorm(x, groups: groups, weight: try w(p + ".norm1.weight"), bias: try w(p + ".norm1.bias"), epsilon: eps)
        h = try Convolution.conv2d(Ops.silu(h), weight: try w(p + ".conv1.weight"), bias: try w(p + ".conv1.bias"), padding: 1)
        let shift = try LinearAlgebra.linear(Ops.silu(temb), weight: try w(p + ".time_emb_proj.weight"), bias: try w(p + ".time_emb_proj.bias"))
        Ops.addPerChannel(&h, shift.storage)
        h = try Ops.groupNorm(h, groups: groups, weight: try w(p + ".norm2.weight"), bias: try w(p + ".norm2.bias"), epsilon: eps)
        h = try Convolution.conv2d(Ops.silu(h), weight: try w(p + ".conv2.weight"), bias: try w(p + ".conv2.bias"), padding: 1)
        let shortcut = weights[p + ".conv_shortcut.weight"] == nil ? x
            : try Convolution.conv2d(x, weight: try w(p + ".conv_shortcut.weight"), bias: try w(p + ".conv_shortcut.bias"))
        return try Ops.add(shortcut, h)
    }

    /// Transformer2DModel over each sample of the batch with its own context.
    func transformer(_ x: Tensor, _ p: String, _ contexts: [Tensor], heads: Int) throws -> Tensor {
        if contexts.count == 1 { return try transformer(x, p, contexts[0], heads: heads) }
        return try Ops.concat(try contexts.indices.map { try transformer(x.item($0, keepingAxis: true), p, contexts[$0], heads: heads) }, axis: 0)
    }

    /// Transformer2DModel: group norm, projection in, transformer blocks, projection out, residual.
    func transformer(_ x: Tensor, _ p: String, _ context: Tensor, heads: Int) throws -> Tensor {
        let (height, width) = (x.shape[2], x.shape[3])
        var h = try Ops.groupNorm(x, groups: config.normGroups, weight: try w(p + ".norm.weight"), bias: try w(p + ".norm.bias"), epsilon: 1e-6)
        if config.useLinearProjection {
            h = try LinearAlgebra.linear(Layout.channelsLast(h), weight: try w(p + ".proj_in.weight"), bias: try w(p + ".proj_in.bias"))
        } else {
            h = Layout.channelsLast(try Convolution.conv2d(h, weight: try w(p + ".proj_in.weight"), bias: try w(p + ".proj_in.bias")))
        }
        h = try transformerBlock(h, p + ".transformer_blocks.0", context, heads: heads)
        if config.useLinearProjection {
            h = Layout.channelsFirst(try LinearAlgebra.linear(h, weight: try w(p + ".proj_out.weight"), bias: try w(p + ".proj_out.bias")),
                                     height: height, width: width)
        } else {
            h = try Convolution.conv2d(Layout.channelsFirst(h, height: height, width: width), weight: try w(p + ".proj_out.weight"),
                                       bias: try w(p + ".proj_out.bias"))
        }
        return try Ops.add(x, h)
    }

    /// BasicTransformerBlock: self-attention, cross-attention, GEGLU feed-forward; pre-norm, residuals.
    func transformerBlock(_ input: Tensor, _ p: String, _ context: Tensor, heads: Int) throws -> Tensor {
        var h = input
        let n1 = try Ops.layerNorm(h, weight: try w(p + ".norm1.weight"), bias: try w(p + ".norm1.bias"))
        h = try Ops.add(h, try attention(n1, n1, p + ".attn1", heads: heads))
        let n2 = try Ops.layerNorm(h, weight: try w(p + ".norm2.weight"), bias: try w(p + ".norm2.bias"))
        h = try Ops.add(h, try attention(n2, context, p + ".attn2", heads: heads))
        let n3 = try Ops.layerNorm(h, weight: try w(p + ".norm3.weight"), bias: try w(p + ".norm3.bias"))
        let projected = try LinearAlgebra.linear(n3, weight: try w(p + ".ff.net.0.proj.weight"), bias: try w(p + ".ff.net.0.proj.bias"))
        let ff = try LinearAlgebra.linear(Ops.geglu(projected), weight: try w(p + ".ff.net.2.weight"), bias: try w(p + ".ff.net.2.bias"))
        return try Ops.add(h, ff)
    }

    /// Multi-head attention from `x` [tokens, dim] to `source` [tokens', dim'] (q/k/v without bias).
    func attention(_ x: Tensor, _ source: Tensor, _ p: String, heads: Int) throws -> Tensor {
        let q = try LinearAlgebra.linear(x, weight: try w(p + ".to_q.weight"), bias: nil)
        let k = try LinearAlgebra.linear(source, weight: try w(p + ".to_k.weight"), bias: nil)
        let v = try LinearAlgebra.linear(source, weight: try w(p + ".to_v.weight"), bias: nil)
        let attended = try Attention.scaledDotProduct(query: Heads.split(q, heads: heads), key: Heads.split(k, heads: heads),
                                                      value: Heads.split(v, heads: heads))
        return try LinearAlgebra.linear(Heads.merge(attended), weight: try w(p + ".to_out.0.weight"), bias: try w(p + ".to_out.0.bias"))
    }
}
