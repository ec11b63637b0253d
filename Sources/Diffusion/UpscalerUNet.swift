import AtomicFiles
import Foundation
import Neural

/// The x2 latent upscaler's UNet (diffusers' UNet2DConditionModel with k-diffusion blocks):
/// resnets whose group norms take their scale and shift from the time embedding (AdaGroupNorm),
/// attention blocks without feed-forward (self-attention only at the lowest level, cross-attention
/// to layer-normed text states), FIR down/upsampling, one skip per up block, Fourier time features.
public final class UpscalerUNet: Sendable {
    public let config: UpscalerUNetConfig
    let layout: UpscalerUNetLayout
    let backend: any Backend
    /// The Fourier features' frequencies (time_proj.weight), used on the host to build the features.
    let frequencies: [Float]
    let conditionProjection: Linear
    let timeEmbedding: TimestepEmbedding
    let convIn: Conv2d
    let down: [[KLayer]], up: [[KLayer]]
    let normOut: GroupNorm?
    let convOut: Conv2d

    public init(folder: String, backend: any Backend) throws {
        let path = folder + "/config.json"
        guard let data = RegularFile.contents(atPath: path) else { throw DiffusionError.modelFiles(path: path, reason: "missing") }
        do { config = try JSONDecoder().decode(UpscalerUNetConfig.self, from: data) } catch {
            throw DiffusionError.modelFiles(path: path, reason: "not an x2 latent upscaler UNet config: \(error)")
        }
        try config.checkSupported(path: path)
        layout = UpscalerUNetLayout(config)
        try layout.checkConnected(config, path: path)
        let source = try SafeTensorsFile(path: ModelFiles.weights(in: folder, stem: "diffusion_pytorch_model"))
        try source.check(layout.parameters(config), configName: path)
        let w = source.loader(backend: backend, configName: path)
        self.backend = backend
        let timeWidth = config.timeEmbedDim, channels = config.blockOutChannels
        frequencies = try w.host("time_proj.weight", [timeWidth / 2]).storage
        conditionProjection = try Linear(w, "time_embedding.cond_proj", inputs: config.timeConditionDim, outputs: timeWidth, bias: false)
        timeEmbedding = try TimestepEmbedding(w, "time_embedding", inputs: timeWidth, outputs: timeWidth, activation: .gelu)
        convIn = try Conv2d(w, "conv_in", inputs: config.inChannels, outputs: channels[0], kernel: config.convInKernel)
        let config = config
        func layers(_ block: UpscalerUNetLayout.Block) throws -> [KLayer] {
            try block.layers.map { try KLayer(w, $0, config: config) }
        }
        down = try layout.down.map(layers)
        up = try layout.up.map(layers)
        normOut = try config.normGroups.map { try GroupNorm(w, "conv_norm_out", channels: channels[0], groups: $0, epsilon: config.normEpsilon) }
        convOut = try Conv2d(w, "conv_out", inputs: channels[0], outputs: config.outChannels, kernel: config.convOutKernel)
    }

    /// Predicts for [N, C, H, W] at one `timestep`, sample n conditioned on `context` [N, tokens, dim]
    /// row n and `condition` [N, timeConditionDim] row n.
    public func callAsFunction(_ sample: Tensor, timestep: Float, context: Tensor, condition: Tensor) throws -> Tensor {
        let batch = sample.shape.first ?? 0, multiple = 1 << (config.blockOutChannels.count - 1)
        guard sample.shape.count == 4, batch >= 1, sample.shape[1] == config.inChannels,
              context.shape.count == 3, context.shape[0] == batch, context.shape[2] == config.crossAttentionDim,
              condition.shape == [batch, config.timeConditionDim] else {
            throw NeuralError.shapeMismatch("upscaler UNet input \(sample.shape), context \(context.shape), condition \(condition.shape): expected [N, \(config.inChannels), h, w], [N, tokens, \(config.crossAttentionDim)], [N, \(config.timeConditionDim)]")
        }
        guard sample.shape[2] % multiple == 0, sample.shape[3] % multiple == 0, sample.shape[2] >= 2 * multiple, sample.shape[3] >= 2 * multiple else {
            throw NeuralError.shapeMismatch("upscaler UNet input \(sample.shape): height and width must be multiples of \(multiple), at least \(2 * multiple)")
        }
        let (sample, context, condition) = (try backend.adopting(sample), try backend.adopting(context), try backend.adopting(condition))
        // Each sample has its own time embedding (the pooled text differs), so they run one by one.
        let outputs = try (0..<batch).map { n in
            try forward(try sample.item(n, keepingAxis: true), timestep: timestep, context: try context.item(n),
                        condition: try condition.item(n, keepingAxis: true))
        }
        return batch == 1 ? outputs[0] : try backend.concat(outputs, axis: 0)
    }

    private func forward(_ sample: Tensor, timestep: Float, context: Tensor, condition: Tensor) throws -> Tensor {
        let temb = try timeEmbedding(timestep, condition: condition)
        var x = try convIn(sample)
        var states: [Tensor?] = [x]
        for (block, layers) in zip(layout.down, down) {
            for layer in layers {
                x = try layer(x, temb, context)
                states.append(block.keepsStates ? x : nil)
            }
            if block.resample { x = try backend.firResample(x, .down) }
        }
        for (block, layers) in zip(layout.up, up) {
            // Each up block takes as many states as it has layers but uses only the last one.
            let taken = states.suffix(layers.count)
            states.removeLast(layers.count)
            if let skip = taken.last ?? nil { x = try backend.concat([x, skip], axis: 1) }
            for layer in layers { x = try layer(x, temb, context) }
            if block.resample { x = try backend.firResample(x, .up) }
        }
        if let normOut { x = try normOut(x, activation: .gelu) }
        return try convOut(x)
    }

    /// Fourier features of the timestep (2π·t·f, cos and sin) plus the projected condition, then
    /// the time embedding's two linear layers.
    func timeEmbedding(_ timestep: Float, condition: Tensor) throws -> Tensor {
        let half = frequencies.count
        var features = [Float](repeating: 0, count: 2 * half)
        for i in 0..<half {
            let angle = timestep * frequencies[i] * 2 * Float.pi
            features[config.flipSinToCos ? i : half + i] = cosf(angle)
            features[config.flipSinToCos ? half + i : i] = sinf(angle)
        }
        let input = try backend.add(backend.tensor(features, shape: [1, 2 * half]), try conditionProjection(condition))
        let out = try timeEmbedding(input)
        return config.timestepPostAct == "gelu" ? try backend.activation(out, .gelu) : out
    }
}

/// One layer of a K block: a resnet with adaptive group norms, then (in cross-attention blocks)
/// an attention block.
struct KLayer: Sendable {
    let norm1: AdaptiveGroupNorm, conv1: Conv2d, norm2: AdaptiveGroupNorm, conv2: Conv2d
    let shortcut: Conv2d?
    let attention: KAttention?

    init(_ w: WeightLoader, _ layer: UpscalerUNetLayout.Layer, config: UpscalerUNetConfig) throws {
        let r = layer.resnet, timeWidth = config.timeEmbedDim
        norm1 = try AdaptiveGroupNorm(w, r.prefix + ".norm1", channels: r.input, groups: r.groups, timeWidth: timeWidth, epsilon: config.normEpsilon)
        conv1 = try Conv2d(w, r.prefix + ".conv1", inputs: r.input, outputs: r.middle, kernel: 3)
        norm2 = try AdaptiveGroupNorm(w, r.prefix + ".norm2", channels: r.middle, groups: r.groupsOut, timeWidth: timeWidth, epsilon: config.normEpsilon)
        conv2 = try Conv2d(w, r.prefix + ".conv2", inputs: r.middle, outputs: r.output, kernel: 3)
        shortcut = r.input == r.output ? nil : try Conv2d(w, r.prefix + ".conv_shortcut", inputs: r.input, outputs: r.output, kernel: 1, bias: false)
        attention = try layer.attention.map { try KAttention(w, $0, config: config) }
    }

    func callAsFunction(_ x: Tensor, _ temb: Tensor, _ context: Tensor) throws -> Tensor {
        var h = try conv1(try norm1(x, temb, activation: .gelu))
        h = try conv2(try norm2(h, temb, activation: .gelu), adding: try shortcut?(x) ?? x)
        return try attention?(h, temb, context) ?? h
    }
}

/// The K blocks' attention: optional self-attention, then cross-attention to the layer-normed
/// text, each after an adaptive group norm and added to its input.
struct KAttention: Sendable {
    let norm1: AdaptiveGroupNorm?, selfAttention: Attention?
    let norm2: AdaptiveGroupNorm, normCross: LayerNorm, crossAttention: Attention

    init(_ w: WeightLoader, _ a: UpscalerUNetLayout.Attention, config: UpscalerUNetConfig) throws {
        let groups = max(1, a.width / 32), timeWidth = config.timeEmbedDim
        norm1 = a.selfAttention ? try AdaptiveGroupNorm(w, a.prefix + ".norm1", channels: a.width, groups: groups, timeWidth: timeWidth, epsilon: config.normEpsilon) : nil
        selfAttention = a.selfAttention ? try Attention(w, a.prefix + ".attn1", width: a.width, heads: a.heads, projectionBias: true) : nil
        norm2 = try AdaptiveGroupNorm(w, a.prefix + ".norm2", channels: a.width, groups: groups, timeWidth: timeWidth, epsilon: config.normEpsilon)
        normCross = try LayerNorm(w, a.prefix + ".attn2.norm_cross", width: config.crossAttentionDim)
        crossAttention = try Attention(w, a.prefix + ".attn2", width: a.width, contextWidth: config.crossAttentionDim, heads: a.heads, projectionBias: true)
    }

    func callAsFunction(_ input: Tensor, _ temb: Tensor, _ context: Tensor) throws -> Tensor {
        let backend = input.backend
        let (height, width) = (input.shape[2], input.shape[3])
        var x = input
        if let norm1, let selfAttention {
            let attended = try selfAttention(try PixelTokens.tokens(try norm1(x, temb)))
            x = try backend.add(x, try PixelTokens.image(attended, height: height, width: width))
        }
        let attended = try crossAttention(try PixelTokens.tokens(try norm2(x, temb)), context: try normCross(context))
        return try backend.add(x, try PixelTokens.image(attended, height: height, width: width))
    }
}

/// diffusers' AdaGroupNorm: a group norm whose scale (1 + ·) and shift come from the time embedding.
struct AdaptiveGroupNorm: Sendable {
    let linear: Linear
    let channels: Int, groups: Int
    let epsilon: Float

    init(_ w: WeightLoader, _ prefix: String, channels: Int, groups: Int, timeWidth: Int, epsilon: Float) throws {
        linear = try Linear(w, prefix + ".linear", inputs: timeWidth, outputs: 2 * channels)
        self.channels = channels
        self.groups = max(1, groups)
        self.epsilon = epsilon
    }

    func callAsFunction(_ x: Tensor, _ temb: Tensor, activation: Activation? = nil) throws -> Tensor {
        let backend = x.backend
        let mapped = try linear(temb)
        let scale = try backend.affine(try backend.slice(mapped, axis: 1, range: 0..<channels), scale: 1, offset: 1).reshaped([channels])
        let shift = try backend.slice(mapped, axis: 1, range: channels..<(2 * channels)).reshaped([channels])
        return try backend.groupNorm(x, groups: groups, scale: scale, shift: shift, epsilon: epsilon, activation: activation)
    }
}
