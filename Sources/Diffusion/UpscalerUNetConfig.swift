import Foundation

/// The k-diffusion UNet of stabilityai/sd-x2-latent-upscaler, as diffusers configures it
/// (UNet2DConditionModel with K blocks, read from `unet/config.json`).
public struct UpscalerUNetConfig: Decodable, Sendable, Equatable {
    public var blockOutChannels: [Int]
    public var layersPerBlock: Int
    public var downBlockTypes: [String]
    public var upBlockTypes: [String]
    /// K blocks read `attention_head_dim` as channels per head (heads = width / head size).
    public var headSize: Int
    public var crossAttentionDim: Int
    public var inChannels: Int
    public var outChannels: Int
    /// Width of the timestep conditioning (128 Fourier features of the noise level + pooled CLIP).
    public var timeConditionDim: Int
    public var timeEmbeddingDim: Int?
    /// The final group norm's groups; the x2 upscaler has none (`norm_num_groups: null`).
    public var normGroups: Int?
    public var normEpsilon: Float
    public var convInKernel: Int
    public var convOutKernel: Int
    public var flipSinToCos: Bool
    var timeEmbeddingType: String
    var timestepPostAct: String?
    var activation: String
    var midBlockType: String?

    enum CodingKeys: String, CodingKey {
        case blockOutChannels = "block_out_channels", layersPerBlock = "layers_per_block", downBlockTypes = "down_block_types"
        case upBlockTypes = "up_block_types", headSize = "attention_head_dim", crossAttentionDim = "cross_attention_dim"
        case inChannels = "in_channels", outChannels = "out_channels", timeConditionDim = "time_cond_proj_dim"
        case timeEmbeddingDim = "time_embedding_dim", normGroups = "norm_num_groups", normEpsilon = "norm_eps"
        case convInKernel = "conv_in_kernel", convOutKernel = "conv_out_kernel", flipSinToCos = "flip_sin_to_cos"
        case timeEmbeddingType = "time_embedding_type", timestepPostAct = "timestep_post_act", activation = "act_fn"
        case midBlockType = "mid_block_type"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        blockOutChannels = try c.decode([Int].self, forKey: .blockOutChannels)
        layersPerBlock = try c.decodeIfPresent(Int.self, forKey: .layersPerBlock) ?? 2
        downBlockTypes = try c.decode([String].self, forKey: .downBlockTypes)
        upBlockTypes = try c.decode([String].self, forKey: .upBlockTypes)
        headSize = try c.decodeIfPresent(Int.self, forKey: .headSize) ?? 64
        crossAttentionDim = try c.decodeIfPresent(Int.self, forKey: .crossAttentionDim) ?? 768
        inChannels = try c.decodeIfPresent(Int.self, forKey: .inChannels) ?? 8
        outChannels = try c.decodeIfPresent(Int.self, forKey: .outChannels) ?? 5
        timeConditionDim = try c.decode(Int.self, forKey: .timeConditionDim)
        timeEmbeddingDim = try c.decodeIfPresent(Int.self, forKey: .timeEmbeddingDim)
        normGroups = try c.decodeIfPresent(Int.self, forKey: .normGroups)
        normEpsilon = try c.decodeIfPresent(Float.self, forKey: .normEpsilon) ?? 1e-5
        convInKernel = try c.decodeIfPresent(Int.self, forKey: .convInKernel) ?? 3
        convOutKernel = try c.decodeIfPresent(Int.self, forKey: .convOutKernel) ?? 3
        flipSinToCos = try c.decodeIfPresent(Bool.self, forKey: .flipSinToCos) ?? true
        timeEmbeddingType = try c.decodeIfPresent(String.self, forKey: .timeEmbeddingType) ?? "positional"
        timestepPostAct = try c.decodeIfPresent(String.self, forKey: .timestepPostAct)
        activation = try c.decodeIfPresent(String.self, forKey: .activation) ?? "silu"
        midBlockType = try c.decodeIfPresent(String.self, forKey: .midBlockType)
        try ConfigCheck.check(problem)
    }

    /// Sizes no layer can have (checked when read; `checkSupported` then refuses layouts it does not compute).
    var problem: String? {
        if blockOutChannels.isEmpty { return "block_out_channels is empty" }
        return ConfigCheck.positive(blockOutChannels.enumerated().map { ("block_out_channels[\($0.offset)]", $0.element) }
                                    + [("layers_per_block", layersPerBlock), ("attention_head_dim", headSize), ("cross_attention_dim", crossAttentionDim),
                                       ("in_channels", inChannels), ("out_channels", outChannels), ("time_cond_proj_dim", timeConditionDim),
                                       ("conv_in_kernel", convInKernel), ("conv_out_kernel", convOutKernel)]
                                    + [timeEmbeddingDim.map { ("time_embedding_dim", $0) }, normGroups.map { ("norm_num_groups", $0) }].compactMap { $0 })
            ?? ConfigCheck.finite("norm_eps", normEpsilon, in: 0...1)
    }

    /// Width of the time embedding every block receives (Fourier: twice the first block's width).
    public var timeEmbedDim: Int { timeEmbeddingDim ?? blockOutChannels[0] * 2 }

    /// Refuses configs this implementation does not compute, naming the setting.
    func checkSupported(path: String) throws {
        func refuse(_ reason: String) -> DiffusionError { .modelFiles(path: path, reason: reason + " (the x2 latent upscaler's K-block UNet is supported)") }
        let down: Set<String> = ["KDownBlock2D", "KCrossAttnDownBlock2D"], up: Set<String> = ["KUpBlock2D", "KCrossAttnUpBlock2D"]
        if let other = downBlockTypes.first(where: { !down.contains($0) }) ?? upBlockTypes.first(where: { !up.contains($0) }) {
            throw refuse("block type \(other) is not a K block")
        }
        guard downBlockTypes.count == blockOutChannels.count, upBlockTypes.count == blockOutChannels.count else {
            throw refuse("block_out_channels and the block types must have one entry per level")
        }
        guard midBlockType == nil else { throw refuse("mid_block_type \(midBlockType!) is not supported") }
        guard timeEmbeddingType == "fourier" else { throw refuse("time_embedding_type \(timeEmbeddingType) is not supported") }
        guard activation == "gelu", timestepPostAct == nil || timestepPostAct == "gelu" else {
            throw refuse("activation \(activation) / timestep_post_act \(timestepPostAct ?? "none") is not supported")
        }
        guard convInKernel % 2 == 1, convOutKernel % 2 == 1, timeEmbedDim % 2 == 0, headSize > 0,
              blockOutChannels.allSatisfy({ $0 >= 32 && $0 % 32 == 0 && $0 % headSize == 0 }) else {
            throw refuse("block widths must be multiples of 32 and of the head size; kernels odd")
        }
    }
}

/// Where every resnet and attention of the K-block UNet sits and how wide it is, worked out once
/// from the config exactly as diffusers builds the blocks; the parameter list and the forward pass
/// both read it, so they cannot disagree.
struct UpscalerUNetLayout: Sendable {
    struct Resnet: Sendable {
        let prefix: String
        /// conv1: input → middle, conv2: middle → output; a 1×1 shortcut when input ≠ output.
        let input: Int, middle: Int, output: Int
        let groups: Int, groupsOut: Int
    }
    struct Attention: Sendable {
        let prefix: String
        let width: Int, heads: Int
        let selfAttention: Bool
    }
    struct Layer: Sendable {
        let resnet: Resnet
        let attention: Attention?
    }
    struct Block: Sendable {
        let layers: [Layer]
        /// Down blocks: FIR-halve after the layers; up blocks: FIR-double after them.
        let resample: Bool
        /// Down blocks: whether each layer's output is kept for the up path (a cross-attention
        /// block without downsampling keeps nothing, as diffusers' `None` states).
        let keepsStates: Bool
    }

    let down: [Block]
    let up: [Block]

    init(_ config: UpscalerUNetConfig) {
        let channels = config.blockOutChannels, groupSize = 32, last = channels.count - 1
        func attention(_ prefix: String, _ width: Int, selfAttention: Bool) -> Attention {
            Attention(prefix: prefix, width: width, heads: width / config.headSize, selfAttention: selfAttention)
        }
        var down: [Block] = []
        var output = channels[0]
        for (level, type) in config.downBlockTypes.enumerated() {
            let input = output
            output = channels[level]
            let resample = level != last, crossAttention = type == "KCrossAttnDownBlock2D"
            let layers = (0..<config.layersPerBlock).map { j -> Layer in
                let p = "down_blocks.\(level)", width = j == 0 ? input : output
                let resnet = Resnet(prefix: "\(p).resnets.\(j)", input: width, middle: output, output: output,
                                    groups: width / groupSize, groupsOut: output / groupSize)
                return Layer(resnet: resnet, attention: crossAttention ? attention("\(p).attentions.\(j)", output, selfAttention: !resample) : nil)
            }
            down.append(Block(layers: layers, resample: resample, keepsStates: !crossAttention || resample))
        }
        var up: [Block] = []
        let reversed = Array(channels.reversed())
        for (level, type) in config.upBlockTypes.enumerated() {
            let output = reversed[level], input = reversed[min(level + 1, last)]
            let p = "up_blocks.\(level)", count = config.layersPerBlock
            let layers: [Layer]
            if type == "KUpBlock2D" {
                layers = (0..<count).map { j in
                    let width = j == 0 ? 2 * output : output, out = j == count - 1 ? input : output
                    return Layer(resnet: Resnet(prefix: "\(p).resnets.\(j)", input: width, middle: out, output: out,
                                                groups: width / groupSize, groupsOut: output / groupSize), attention: nil)
                }
            } else {
                // diffusers' KCrossAttnUpBlock2D: the "first" block (no skip, self-attention) is
                // recognised by its widths equalling the time embedding's.
                let first = input == output && output == config.timeEmbedDim, middle = input != output
                layers = (0..<count).map { j in
                    let width = j == 0 ? (first ? output : 2 * output) : output, isLast = j == count - 1
                    let resnet = Resnet(prefix: "\(p).resnets.\(j)", input: width, middle: output, output: middle && isLast ? input : output,
                                        groups: width / groupSize, groupsOut: output / groupSize)
                    return Layer(resnet: resnet, attention: attention("\(p).attentions.\(j)", isLast ? input : output, selfAttention: first))
                }
            }
            up.append(Block(layers: layers, resample: level != last, keepsStates: true))
        }
        self.down = down
        self.up = up
    }

    /// Follows the channel count through the blocks (skips included) and names the first layer that
    /// would receive another width — a config diffusers cannot run either.
    func checkConnected(_ config: UpscalerUNetConfig, path: String) throws {
        var width = config.blockOutChannels[0]
        func pass(_ layer: Layer) throws {
            guard layer.resnet.input == width else {
                throw DiffusionError.modelFiles(path: path, reason: "the UNet's blocks do not connect: \(layer.resnet.prefix) takes \(layer.resnet.input) channels but receives \(width) (diffusers cannot run this config either)")
            }
            width = layer.resnet.output
            if let attention = layer.attention, attention.width != width {
                throw DiffusionError.modelFiles(path: path, reason: "the UNet's blocks do not connect: \(attention.prefix) is \(attention.width) wide but receives \(width) channels")
            }
        }
        var states: [Int?] = [width]
        for block in down {
            for layer in block.layers {
                try pass(layer)
                states.append(block.keepsStates ? width : nil)
            }
        }
        for block in up {
            let taken = states.suffix(block.layers.count)
            states.removeLast(min(block.layers.count, states.count))
            if let skip = taken.last ?? nil { width += skip }
            for layer in block.layers { try pass(layer) }
        }
        guard width == config.blockOutChannels[0] else {
            throw DiffusionError.modelFiles(path: path, reason: "the UNet's last block gives \(width) channels, conv_out takes \(config.blockOutChannels[0])")
        }
    }

    /// Every tensor by diffusers name with its shape.
    func parameters(_ config: UpscalerUNetConfig) -> [(name: String, shape: [Int])] {
        var out: [(String, [Int])] = []
        let timeDim = config.timeEmbedDim, channels = config.blockOutChannels
        func linear(_ p: String, _ o: Int, _ i: Int, bias: Bool = true) { out.append((p + ".weight", [o, i])); if bias { out.append((p + ".bias", [o])) } }
        func conv(_ p: String, _ o: Int, _ i: Int, _ k: Int, bias: Bool = true) {
            out.append((p + ".weight", [o, i, k, k])); if bias { out.append((p + ".bias", [o])) }
        }
        conv("conv_in", channels[0], config.inChannels, config.convInKernel)
        out.append(("time_proj.weight", [timeDim / 2]))
        linear("time_embedding.cond_proj", timeDim, config.timeConditionDim, bias: false)
        linear("time_embedding.linear_1", timeDim, timeDim)
        linear("time_embedding.linear_2", timeDim, timeDim)
        for layer in (down + up).flatMap(\.layers) {
            let r = layer.resnet
            linear(r.prefix + ".norm1.linear", 2 * r.input, timeDim)
            conv(r.prefix + ".conv1", r.middle, r.input, 3)
            linear(r.prefix + ".norm2.linear", 2 * r.middle, timeDim)
            conv(r.prefix + ".conv2", r.output, r.middle, 3)
            if r.input != r.output { conv(r.prefix + ".conv_shortcut", r.output, r.input, 1, bias: false) }
            guard let a = layer.attention else { continue }
            if a.selfAttention {
                linear(a.prefix + ".norm1.linear", 2 * a.width, timeDim)
                for name in ["to_q", "to_k", "to_v", "to_out.0"] { linear(a.prefix + ".attn1." + name, a.width, a.width) }
            }
            linear(a.prefix + ".norm2.linear", 2 * a.width, timeDim)
            out += [(a.prefix + ".attn2.norm_cross.weight", [config.crossAttentionDim]), (a.prefix + ".attn2.norm_cross.bias", [config.crossAttentionDim])]
            linear(a.prefix + ".attn2.to_q", a.width, a.width)
            linear(a.prefix + ".attn2.to_k", a.width, config.crossAttentionDim)
            linear(a.prefix + ".attn2.to_v", a.width, config.crossAttentionDim)
            linear(a.prefix + ".attn2.to_out.0", a.width, a.width)
        }
        if config.normGroups != nil { out += [("conv_norm_out.weight", [channels[0]]), ("conv_norm_out.bias", [channels[0]])] }
        conv("conv_out", config.outChannels, channels[0], config.convOutKernel)
        return out
    }
}
