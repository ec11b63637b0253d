import Foundation
import Neural

/// The decoder half of Stable Diffusion's VAE (diffusers' AutoencoderKL.decode): latents → pixels in [-1, 1].
public final class VAEDecoder: @unchecked Sendable {
    let blocks: VAEBlocks
    public var config: VAEConfig { blocks.config }

    /// Loads `config.json` and `diffusion_pytorch_model.safetensors` (or its fp16 variant) from a folder.
    public convenience init(folder: String) throws {
        try self.init(blocks: VAEBlocks(folder: folder))
    }

    /// The full-size SD 1.5 VAE decoder with random weights (benchmarks: nothing to download).
    public convenience init(randomSD15Seed seed: UInt64) throws {
        try self.init(blocks: VAEBlocks(randomWeights: try JSONDecoder().decode(VAEConfig.self, from: Data(StableDiffusionModel.sd15VAE.utf8)), seed: seed))
    }

    /// Checks every tensor the decoder needs before any work, so a broken file fails early and clearly.
    init(blocks: VAEBlocks) throws {
        self.blocks = blocks
        try checkShapes()
    }

    /// Decodes SD latents (as the UNet produces them): divides by the scaling factor, then decodes.
    public func decode(latents: Tensor) throws -> Tensor {
        var scaled = latents
        for i in 0..<scaled.count { scaled.storage[i] /= config.scalingFactor }
        return try decode(scaled)
    }

    /// diffusers' `vae.decode(z)`: z must already be divided by the scaling factor.
    public func decode(_ z: Tensor) throws -> Tensor {
        guard z.shape.count == 4, z.shape[1] == config.latentChannels else {
            throw NeuralError.shapeMismatch("VAE input \(z.shape), expected [batch, \(config.latentChannels), h, w]")
        }
        var x = z
        let latent = config.latentChannels
        if config.usePostQuantConv {
            x = try Convolution.conv2d(x, weight: try blocks.tensor("post_quant_conv.weight", [latent, latent, 1, 1]),
                                       bias: try blocks.tensor("post_quant_conv.bias", [latent]))
        }
        let channels = Array(config.blockOutChannels.reversed())
        x = try Convolution.conv2d(x, weight: try blocks.tensor("decoder.conv_in.weight", [channels[0], latent, 3, 3]),
                                   bias: try blocks.tensor("decoder.conv_in.bias", [channels[0]]), padding: 1)
        x = try blocks.resnet(x, "decoder.mid_block.resnets.0", from: channels[0], to: channels[0])
        if config.midBlockAttention { x = try blocks.attention(x, "decoder.mid_block.attentions.0", channels: channels[0]) }
        x = try blocks.resnet(x, "decoder.mid_block.resnets.1", from: channels[0], to: channels[0])
        var previous = channels[0]
        for (level, width) in channels.enumerated() {
            for j in 0...config.layersPerBlock {
                x = try blocks.resnet(x, "decoder.up_blocks.\(level).resnets.\(j)", from: j == 0 ? previous : width, to: width)
            }
            if level != channels.count - 1 {
                x = try Interpolation.resize(x, height: x.shape[2] * 2, width: x.shape[3] * 2, mode: .nearest)
                x = try Convolution.conv2d(x, weight: try blocks.tensor("decoder.up_blocks.\(level).upsamplers.0.conv.weight", [width, width, 3, 3]),
                                           bias: try blocks.tensor("decoder.up_blocks.\(level).upsamplers.0.conv.bias", [width]), padding: 1)
            }
            previous = width
        }
        let last = channels.last!
        x = try Ops.groupNorm(x, groups: config.normGroups, weight: try blocks.tensor("decoder.conv_norm_out.weight", [last]),
                              bias: try blocks.tensor("decoder.conv_norm_out.bias", [last]), epsilon: 1e-6)
        x = Ops.silu(x)
        return try Convolution.conv2d(x, weight: try blocks.tensor("decoder.conv_out.weight", [config.outChannels, last, 3, 3]),
                                      bias: try blocks.tensor("decoder.conv_out.bias", [config.outChannels]), padding: 1)
    }

    /// Loads every decoder tensor with its expected shape (no pixels).
    private func checkShapes() throws {
        let channels = Array(config.blockOutChannels.reversed())
        _ = try blocks.tensor("decoder.conv_in.weight", [channels[0], config.latentChannels, 3, 3])
        try blocks.checkResnet("decoder.mid_block.resnets.0", from: channels[0], to: channels[0])
        try blocks.checkResnet("decoder.mid_block.resnets.1", from: channels[0], to: channels[0])
        var previous = channels[0]
        for (level, width) in channels.enumerated() {
            for j in 0...config.layersPerBlock { try blocks.checkResnet("decoder.up_blocks.\(level).resnets.\(j)", from: j == 0 ? previous : width, to: width) }
            previous = width
        }
        _ = try blocks.tensor("decoder.conv_out.weight", [config.outChannels, channels.last!, 3, 3])
    }
}
