import AtomicFiles
import Foundation
import Neural

/// The x2 latent upscaler's UNet (diffusers' UNet2DConditionModel with k-diffusion blocks):
/// resnets whose group norms take their scale and shift from the time embedding (AdaGroupNorm),
/// attention blocks without feed-forward (self-attention only at the lowest level, cross-attention
/// to layer-normed text states), FIR down/upsampling, one skip per up block, Fourier time features.
public final class UpscalerUNet: @unchecked Sendable {
    public let config: UpscalerUNetConfig
    let layout: UpscalerUNetLayout
    private let weights: [String: Tensor]

    public init(folder: String) throws {
        let path = folder + "/config.json"
        guard let data = RegularFile.contents(atPath: path) else { throw DiffusionError.modelFiles(path: path, reason: "missing") }
        do { config = try JSONDecoder().decode(UpscalerUNetConfig.self, from: data) } catch {
            throw DiffusionError.modelFiles(path: path, reason: "not an x2 latent upscaler UNet config: \(error)")
        }
        try config.checkSupported(path: path)
        layout = UpscalerUNetLayout(config)
        try layout.checkConnected(config, path: path)
        let source = try SafeTensorsFile(path: ModelFiles.weights(in: folder, stem: "diffusion_pytorch_model"))
        weights = try source.tensors(layout.parameters(config), configName: path)
    }

    private func w(_ name: String) throws -> Tensor {
        guard let tensor = weights[name] else { throw NeuralError.shapeMismatch("upscaler UNet tensor \(name) is not in the model") }
        return tensor
    }

    /// The model output F for `sample` [N, in, H, W] at `timestep` (log σ / 4); sample n attends to
    /// `context` row n [N, tokens, dim] and is conditioned on `condition` row n [N, cond dim].
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
        // Each sample has its own time embedding (the pooled text differs), so they run one by one.
        let outputs = try (0..<batch).map { n in
            try forward(sample.item(n, keepingAxis: true), timestep: timestep, context: context.item(n), condition: condition.item(n, keepingAxis: true))
        }
        return batch == 1 ? outputs[0] : try Ops.concat(outputs, axis: 0)
    }

    private func forward(_ sample: Tensor, timestep: Float, context: Tensor, condition: Tensor) throws -> Tensor {
        let temb = try timeEmbedding(timestep, condition: condition)
        var x = try Convolution.conv2d(sample, weight: try w("conv_in.weight"), bias: try w("conv_in.bias"), padding: config.convInKernel / 2)
        var states: [Tensor?] = [x]
        for block in layout.down {
            for layer in block.layers {
                x = try apply(layer, x, temb, context)
                states.append(block.keepsStates ? x : nil)
            }
            if block.resample { x = try FIRResample.downsample(x) }
        }
        for block in layout.up {
            // Each up block takes as many states as it has layers but uses only the last one.
            let taken = states.suffix(block.layers.count)
            states.removeLast(block.layers.count)
            if let skip = taken.last ?? nil { x = try Ops.concat([x, skip], axis: 1) }
            for layer in block.layers { x = try apply(layer, x, temb, context) }
            if block.resample { x = try FIRResample.upsample(x) }
        }
        if let groups = config.normGroups {
            x = Ops.gelu(try Ops.groupNorm(x, groups: groups, weight: try w("conv_norm_out.weight"), bias: try w("conv_norm_out.bias"), epsilon: config.normEpsilon))
        }
        return try Convolution.conv2d(x, weight: try w("conv_out.weight"), bias: try w("conv_out.bias"), padding: config.convOutKernel / 2)
    }

    /// Fourier features of the timestep ([cos, sin] of 2π·t·w), plus the projected conditioning,
    /// through two linear layers with GELU after each.
    func timeEmbedding(_ timestep: Float, condition: Tensor) throws -> Tensor {
        let frequencies = try w("time_proj.weight").storage, half = frequencies.count
        var features = [Float](repeating: 0, count: 2 * half)
        for i in 0..<half {
            let angle = timestep * frequencies[i] * 2 * Float.pi
            features[config.flipSinToCos ? i : half + i] = cosf(angle)
            features[config.flipSinToCos ? half + i : i] = sinf(angle)
        }
        let projected = try LinearAlgebra.linear(condition, weight: try w("time_embedding.cond_proj.weight"), bias: nil)
        let input = try Ops.add(Tensor(shape: [1, 2 * half], storage: features), projected)
        let hidden = Ops.gelu(try LinearAlgebra.linear(input, weight: try w("time_embedding.linear_1.weight"), bias: try w("time_embedding.linear_1.bias")))
        let out = try LinearAlgebra.linear(hidden, weight: try w("time_embedding.linear_2.weight"), bias: try w("time_embedding.linear_2.bias"))
        return config.timestepPostAct == "gelu" ? Ops.gelu(out) : out
    }

    private func apply(_ layer: UpscalerUNetLayout.Layer, _ x: Tensor, _ temb: Tensor, _ context: Tensor) throws -> Tensor {
        let h = try resnet(x, layer.resnet, temb)
        guard let attention = layer.attention else { return h }
        return try attentionBlock(h, attention, temb, context)
    }

    /// ResnetBlockCondNorm2D: AdaGroupNorm → GELU → conv → AdaGroupNorm → GELU → conv, plus shortcut.
    func resnet(_ x: Tensor, _ r: UpscalerUNetLayout.Resnet, _ temb: Tensor) throws -> Tensor {
        var h = Ops.gelu(try adaptiveGroupNorm(x, r.prefix + ".norm1", groups: r.groups, temb))
        h = try Convolution.conv2d(h, weight: try w(r.prefix + ".conv1.weight"), bias: try w(r.prefix + ".conv1.bias"), padding: 1)
        h = Ops.gelu(try adaptiveGroupNorm(h, r.prefix + ".norm2", groups: r.groupsOut, temb))
        h = try Convolution.conv2d(h, weight: try w(r.prefix + ".conv2.weight"), bias: try w(r.prefix + ".conv2.bias"), padding: 1)
        let shortcut = r.input == r.output ? x : try Convolution.conv2d(x, weight: try w(r.prefix + ".conv_shortcut.weight"), bias: nil)
        return try Ops.add(shortcut, h)
    }

    /// AdaGroupNorm: a plain group norm whose per-channel scale (1 + s) and shift come from the
    /// time embedding — the same as a group norm with those as its affine weight and bias.
    func adaptiveGroupNorm(_ x: Tensor, _ prefix: String, groups: Int, _ temb: Tensor) throws -> Tensor {
        let channels = x.shape[1]
        let mapped = try LinearAlgebra.linear(temb, weight: try w(prefix + ".linear.weight"), bias: try w(prefix + ".linear.bias")).storage
        let scale = Tensor(shape: [channels], storage: mapped[0..<channels].map { 1 + $0 })
        let shift = Tensor(shape: [channels], storage: Array(mapped[channels..<(2 * channels)]))
        return try Ops.groupNorm(x, groups: max(1, groups), weight: scale, bias: shift, epsilon: config.normEpsilon)
    }

    /// KAttentionBlock: optional self-attention, then cross-attention, each after an AdaGroupNorm
    /// and added back; no feed-forward.
    func attentionBlock(_ input: Tensor, _ a: UpscalerUNetLayout.Attention, _ temb: Tensor, _ context: Tensor) throws -> Tensor {
        let (height, width) = (input.shape[2], input.shape[3]), groups = max(1, a.width / 32)
        var x = input
        if a.selfAttention {
            let normed = Layout.channelsLast(try adaptiveGroupNorm(x, a.prefix + ".norm1", groups: groups, temb))
            let attended = try attention(normed, normed, a.prefix + ".attn1", heads: a.heads)
            x = try Ops.add(x, Layout.channelsFirst(attended, height: height, width: width))
        }
        let normed = Layout.channelsLast(try adaptiveGroupNorm(x, a.prefix + ".norm2", groups: groups, temb))
        let text = try Ops.layerNorm(context, weight: try w(a.prefix + ".attn2.norm_cross.weight"), bias: try w(a.prefix + ".attn2.norm_cross.bias"))
        let attended = try attention(normed, text, a.prefix + ".attn2", heads: a.heads)
        return try Ops.add(x, Layout.channelsFirst(attended, height: height, width: width))
    }

    /// Multi-head attention from `x` [tokens, dim] to `source` [tokens', dim'], projections with bias.
    func attention(_ x: Tensor, _ source: Tensor, _ p: String, heads: Int) throws -> Tensor {
        let q = try LinearAlgebra.linear(x, weight: try w(p + ".to_q.weight"), bias: try w(p + ".to_q.bias"))
        let k = try LinearAlgebra.linear(source, weight: try w(p + ".to_k.weight"), bias: try w(p + ".to_k.bias"))
        let v = try LinearAlgebra.linear(source, weight: try w(p + ".to_v.weight"), bias: try w(p + ".to_v.bias"))
        let attended = try Attention.scaledDotProduct(query: Heads.split(q, heads: heads), key: Heads.split(k, heads: heads),
                                                      value: Heads.split(v, heads: heads))
        return try LinearAlgebra.linear(Heads.merge(attended), weight: try w(p + ".to_out.0.weight"), bias: try w(p + ".to_out.0.bias"))
    }
}
