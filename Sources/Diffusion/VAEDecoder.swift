import Foundation
import Neural

/// The decoder half of Stable Diffusion's VAE (diffusers' AutoencoderKL.decode): latents → pixels in [-1, 1].
public final class VAEDecoder: Sendable {
    public let config: VAEConfig
    let backend: any Backend
    let postQuantConv: Conv2d?
    let convIn: Conv2d
    let midResnets: [ResnetBlock]
    let midAttention: VAEAttention?
    /// Per level: its resnets and the upsampler after them (none on the last level).
    let levels: [(resnets: [ResnetBlock], upsample: Upsample?)]
    let normOut: GroupNorm
    let convOut: Conv2d

    /// Loads `config.json` and `diffusion_pytorch_model.safetensors` (or its fp16 variant) from a folder.
    public convenience init(folder: String, backend: any Backend) throws {
        try self.init(weights: VAEWeights(folder: folder), backend: backend)
    }

    /// The full-size SD 1.5 VAE decoder with random weights (benchmarks: nothing to download).
    public convenience init(randomSD15Seed seed: UInt64, backend: any Backend) throws {
        try self.init(weights: VAEWeights(randomWeights: try JSONDecoder().decode(VAEConfig.self, from: Data(StableDiffusionModel.sd15VAE.utf8)), seed: seed),
                      backend: backend)
    }

    /// Reads and prepares every tensor the decoder needs, so a broken file fails at load, naming the tensor.
    init(weights: VAEWeights, backend: any Backend) throws {
        let w = weights.loader(backend: backend)
        config = weights.config
        self.backend = backend
        let config = weights.config, latent = config.latentChannels, groups = config.normGroups
        let channels = Array(config.blockOutChannels.reversed())
        func resnet(_ p: String, _ a: Int, _ b: Int) throws -> ResnetBlock {
            try ResnetBlock(w, p, inputs: a, outputs: b, groups: groups, epsilon: 1e-6)
        }
        convIn = try Conv2d(w, "decoder.conv_in", inputs: latent, outputs: channels[0], kernel: 3)
        postQuantConv = config.usePostQuantConv ? try Conv2d(w, "post_quant_conv", inputs: latent, outputs: latent, kernel: 1) : nil
        midResnets = [try resnet("decoder.mid_block.resnets.0", channels[0], channels[0]),
                      try resnet("decoder.mid_block.resnets.1", channels[0], channels[0])]
        midAttention = config.midBlockAttention ? try VAEAttention(w, "decoder.mid_block.attentions.0", channels: channels[0], groups: groups) : nil
        var previous = channels[0]
        levels = try channels.enumerated().map { level, width in
            let p = "decoder.up_blocks.\(level)"
            let resnets = try (0...config.layersPerBlock).map { j in try resnet("\(p).resnets.\(j)", j == 0 ? previous : width, width) }
            previous = width
            return (resnets, level == channels.count - 1 ? nil : try Upsample(w, "\(p).upsamplers.0", channels: width))
        }
        normOut = try GroupNorm(w, "decoder.conv_norm_out", channels: channels.last!, groups: groups, epsilon: 1e-6)
        convOut = try Conv2d(w, "decoder.conv_out", inputs: channels.last!, outputs: config.outChannels, kernel: 3)
    }

    /// Decodes SD latents (as the UNet produces them): divides by the scaling factor, then decodes.
    public func decode(latents: Tensor) throws -> Tensor {
        try decode(try backend.affine(latents, scale: 1 / config.scalingFactor, offset: 0))
    }

    /// diffusers' `vae.decode(z)`: z must already be divided by the scaling factor.
    public func decode(_ z: Tensor) throws -> Tensor {
        guard z.shape.count == 4, z.shape[1] == config.latentChannels else {
            throw NeuralError.shapeMismatch("VAE input \(z.shape), expected [batch, \(config.latentChannels), h, w]")
        }
        var x = try postQuantConv?(z) ?? z
        x = try convIn(x)
        // Each layer is handed x (consume), so it can free it once read (see ResnetBlock).
        x = try midResnets[0](consume x)
        if let midAttention { x = try midAttention(x) }
        x = try midResnets[1](consume x)
        for level in levels {
            for resnet in level.resnets { x = try resnet(consume x) }
            if let upsample = level.upsample { x = try upsample(consume x) }
        }
        return try convOut(try normOut(x, activation: .silu))
    }
}
