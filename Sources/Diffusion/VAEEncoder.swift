import Foundation
import Neural

/// The encoder half of Stable Diffusion's VAE (diffusers' AutoencoderKL.encode): pixels in [-1, 1]
/// → a diagonal Gaussian over latents, sampled with the pipeline's generator like diffusers does.
public final class VAEEncoder: Sendable {
    public let config: VAEConfig
    let backend: any Backend
    let convIn: Conv2d
    /// Per level: its resnets and the downsampler after them (none on the last level).
    let levels: [(resnets: [ResnetBlock], downsample: Downsample?)]
    let midResnets: [ResnetBlock]
    let midAttention: VAEAttention?
    let normOut: GroupNorm
    let convOut: Conv2d
    let quantConv: Conv2d?

    public convenience init(folder: String, backend: any Backend) throws {
        try self.init(weights: VAEWeights(folder: folder), backend: backend)
    }

    /// Reads and prepares every tensor the encoder needs, so a broken file fails at load.
    init(weights: VAEWeights, backend: any Backend) throws {
        let w = weights.loader(backend: backend)
        config = weights.config
        self.backend = backend
        let config = weights.config, channels = config.blockOutChannels, latent = config.latentChannels, groups = config.normGroups
        func resnet(_ p: String, _ a: Int, _ b: Int) throws -> ResnetBlock {
            try ResnetBlock(w, p, inputs: a, outputs: b, groups: groups, epsilon: 1e-6)
        }
        convIn = try Conv2d(w, "encoder.conv_in", inputs: config.inChannels, outputs: channels[0], kernel: 3)
        var previous = channels[0]
        levels = try channels.enumerated().map { level, width in
            let p = "encoder.down_blocks.\(level)"
            let resnets = try (0..<config.layersPerBlock).map { j in try resnet("\(p).resnets.\(j)", j == 0 ? previous : width, width) }
            previous = width
            // Downsample2D in the VAE pads only bottom and right, then convolves with stride 2.
            return (resnets, level == channels.count - 1 ? nil : try Downsample(w, "\(p).downsamplers.0", channels: width, asymmetric: true))
        }
        let last = channels.last!
        midResnets = [try resnet("encoder.mid_block.resnets.0", last, last), try resnet("encoder.mid_block.resnets.1", last, last)]
        midAttention = config.midBlockAttention ? try VAEAttention(w, "encoder.mid_block.attentions.0", channels: last, groups: groups) : nil
        normOut = try GroupNorm(w, "encoder.conv_norm_out", channels: last, groups: groups, epsilon: 1e-6)
        convOut = try Conv2d(w, "encoder.conv_out", inputs: last, outputs: 2 * latent, kernel: 3)
        quantConv = config.useQuantConv ? try Conv2d(w, "quant_conv", inputs: 2 * latent, outputs: 2 * latent, kernel: 1) : nil
    }

    /// The latent distribution's mean and log-variance (clamped to [-30, 20] as diffusers does).
    public func encode(_ image: Tensor) throws -> (mean: Tensor, logVariance: Tensor) {
        guard image.shape.count == 4, image.shape[1] == config.inChannels else {
            throw NeuralError.shapeMismatch("VAE encoder input \(image.shape), expected [batch, \(config.inChannels), h, w]")
        }
        var x = try convIn(image)
        for level in levels {
            for resnet in level.resnets { x = try resnet(x) }
            if let downsample = level.downsample { x = try downsample(x) }
        }
        x = try midResnets[0](x)
        if let midAttention { x = try midAttention(x) }
        x = try midResnets[1](x)
        x = try convOut(try normOut(x, activation: .silu))
        if let quantConv { x = try quantConv(x) }
        let latent = config.latentChannels
        let mean = try backend.slice(x, axis: 1, range: 0..<latent)
        let logVariance = try backend.clamp(try backend.slice(x, axis: 1, range: latent..<(2 * latent)), min: -30, max: 20)
        return (mean, logVariance)
    }

    /// `latent_dist.sample(generator)`: mean + exp(½·logvar)·ε, ε drawn from `generator` (one
    /// randn over the latent shape, as diffusers draws it), then multiplied by the scaling factor.
    public func sampleLatents(_ image: Tensor, generator: inout TorchGenerator) throws -> Tensor {
        try sampleLatents(moments: try encode(image), generator: &generator)
    }

    func sampleLatents(moments: (mean: Tensor, logVariance: Tensor), generator: inout TorchGenerator) throws -> Tensor {
        let (mean, logVariance) = moments
        let noise = backend.tensor(generator.randn(shape: mean.shape))
        let std = try backend.exp(try backend.affine(logVariance, scale: 0.5, offset: 0))
        let sample = try backend.add(mean, try backend.multiply(std, noise))
        return try backend.affine(sample, scale: config.scalingFactor, offset: 0)
    }
}
