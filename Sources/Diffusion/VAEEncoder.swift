import Foundation
import Neural

/// The encoder half of Stable Diffusion's VAE (diffusers' AutoencoderKL.encode): pixels in [-1, 1]
/// → a diagonal Gaussian over latents, sampled with the pipeline's generator like diffusers does.
public final class VAEEncoder: @unchecked Sendable {
    let blocks: VAEBlocks
    public var config: VAEConfig { blocks.config }

    public convenience init(folder: String) throws {
        try self.init(blocks: VAEBlocks(folder: folder))
    }

    /// Checks every tensor the encoder needs before any work.
    init(blocks: VAEBlocks) throws {
        self.blocks = blocks
        try checkShapes()
    }

    /// The latent distribution's mean and log-variance (clamped to [-30, 20] as diffusers does).
    public func encode(_ image: Tensor) throws -> (mean: Tensor, logVariance: Tensor) {
        guard image.shape.count == 4, image.shape[1] == config.inChannels else {
            throw NeuralError.shapeMismatch("VAE encoder input \(image.shape), expected [batch, \(config.inChannels), h, w]")
        }
        let channels = config.blockOutChannels, latent = config.latentChannels
        var x = try Convolution.conv2d(image, weight: try blocks.tensor("encoder.conv_in.weight", [channels[0], config.inChannels, 3, 3]),
                                       bias: try blocks.tensor("encoder.conv_in.bias", [channels[0]]), padding: 1)
        var previous = channels[0]
        for (level, width) in channels.enumerated() {
            for j in 0..<config.layersPerBlock {
                x = try blocks.resnet(x, "encoder.down_blocks.\(level).resnets.\(j)", from: j == 0 ? previous : width, to: width)
            }
            if level != channels.count - 1 {
                // Downsample2D in the VAE pads only bottom and right, then convolves with stride 2.
                let p = "encoder.down_blocks.\(level).downsamplers.0.conv"
                x = try Convolution.conv2d(x, weight: try blocks.tensor(p + ".weight", [width, width, 3, 3]),
                                           bias: try blocks.tensor(p + ".bias", [width]), stride: 2, padding: 0, paddingEnd: 1)
            }
            previous = width
        }
        let last = channels.last!
        x = try blocks.resnet(x, "encoder.mid_block.resnets.0", from: last, to: last)
        if config.midBlockAttention { x = try blocks.attention(x, "encoder.mid_block.attentions.0", channels: last) }
        x = try blocks.resnet(x, "encoder.mid_block.resnets.1", from: last, to: last)
        x = try Ops.groupNorm(x, groups: config.normGroups, weight: try blocks.tensor("encoder.conv_norm_out.weight", [last]),
                              bias: try blocks.tensor("encoder.conv_norm_out.bias", [last]), epsilon: 1e-6)
        x = try Convolution.conv2d(Ops.silu(x), weight: try blocks.tensor("encoder.conv_out.weight", [2 * latent, last, 3, 3]),
                                   bias: try blocks.tensor("encoder.conv_out.bias", [2 * latent]), padding: 1)
        if config.useQuantConv {
            x = try Convolution.conv2d(x, weight: try blocks.tensor("quant_conv.weight", [2 * latent, 2 * latent, 1, 1]),
                                       bias: try blocks.tensor("quant_conv.bias", [2 * latent]))
        }
        let (batch, plane) = (x.shape[0], x.shape[2] * x.shape[3])
        var mean = [Float](), logVariance = [Float]()
        mean.reserveCapacity(batch * latent * plane)
        logVariance.reserveCapacity(batch * latent * plane)
        for n in 0..<batch {
            let base = n * 2 * latent * plane
            mean += x.storage[base..<(base + latent * plane)]
            logVariance += x.storage[(base + latent * plane)..<(base + 2 * latent * plane)].map { min(max($0, -30), 20) }
        }
        let shape = [batch, latent, x.shape[2], x.shape[3]]
        return (Tensor(shape: shape, storage: mean), Tensor(shape: shape, storage: logVariance))
    }

    /// `latent_dist.sample(generator)`: mean + exp(½·logvar)·ε, ε drawn from `generator` (one
    /// randn over the latent shape, as diffusers draws it), then multiplied by the scaling factor.
    public func sampleLatents(_ image: Tensor, generator: inout TorchGenerator) throws -> Tensor {
        try sampleLatents(moments: try encode(image), generator: &generator)
    }

    func sampleLatents(moments: (mean: Tensor, logVariance: Tensor), generator: inout TorchGenerator) throws -> Tensor {
        let (mean, logVariance) = moments
        let noise = generator.randn(shape: mean.shape)
        var out = mean
        for i in 0..<out.count {
            let std = expf(0.5 * logVariance.storage[i])
            out.storage[i] = (mean.storage[i] + std * noise.storage[i]) * config.scalingFactor
        }
        return out
    }

    /// Loads every encoder tensor with its expected shape (no pixels).
    private func checkShapes() throws {
        let channels = config.blockOutChannels
        _ = try blocks.tensor("encoder.conv_in.weight", [channels[0], config.inChannels, 3, 3])
        var previous = channels[0]
        for (level, width) in channels.enumerated() {
            for j in 0..<config.layersPerBlock { try blocks.checkResnet("encoder.down_blocks.\(level).resnets.\(j)", from: j == 0 ? previous : width, to: width) }
            previous = width
        }
        try blocks.checkResnet("encoder.mid_block.resnets.0", from: channels.last!, to: channels.last!)
        _ = try blocks.tensor("encoder.conv_out.weight", [2 * config.latentChannels, channels.last!, 3, 3])
    }
}
