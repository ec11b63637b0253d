import Foundation
import Neural

/// AutoencoderKL's shape, from a diffusers `vae/config.json`.
public struct VAEConfig: Decodable, Sendable, Equatable {
    public var blockOutChannels: [Int]
    public var layersPerBlock: Int
    public var latentChannels: Int
    public var normGroups: Int
    public var outChannels: Int
    public var scalingFactor: Float
    public var usePostQuantConv: Bool
    public var midBlockAttention: Bool

    enum CodingKeys: String, CodingKey {
        case blockOutChannels = "block_out_channels", layersPerBlock = "layers_per_block", latentChannels = "latent_channels"
        case normGroups = "norm_num_groups", outChannels = "out_channels", scalingFactor = "scaling_factor"
        case usePostQuantConv = "use_post_quant_conv", midBlockAttention = "mid_block_add_attention"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        blockOutChannels = try c.decode([Int].self, forKey: .blockOutChannels)
        layersPerBlock = try c.decodeIfPresent(Int.self, forKey: .layersPerBlock) ?? 2
        latentChannels = try c.decodeIfPresent(Int.self, forKey: .latentChannels) ?? 4
        normGroups = try c.decodeIfPresent(Int.self, forKey: .normGroups) ?? 32
        outChannels = try c.decodeIfPresent(Int.self, forKey: .outChannels) ?? 3
        scalingFactor = try c.decodeIfPresent(Float.self, forKey: .scalingFactor) ?? 0.18215
        usePostQuantConv = try c.decodeIfPresent(Bool.self, forKey: .usePostQuantConv) ?? true
        midBlockAttention = try c.decodeIfPresent(Bool.self, forKey: .midBlockAttention) ?? true
    }
}

/// The decoder half of Stable Diffusion's VAE (diffusers' AutoencoderKL.decode): latents → pixels in [-1, 1].
public final class VAEDecoder: @unchecked Sendable {
    public let config: VAEConfig
    private let weights: SafeTensorsFile

    /// Loads `config.json` and `diffusion_pytorch_model.safetensors` (or its fp16 variant) from a folder.
    public init(folder: String) throws {
        guard let data = FileManager.default.contents(atPath: folder + "/config.json") else {
            throw DiffusionError.modelFiles(path: folder + "/config.json", reason: "missing")
        }
        do { config = try JSONDecoder().decode(VAEConfig.self, from: data) } catch {
            throw DiffusionError.modelFiles(path: folder + "/config.json", reason: "not a VAE config: \(error)")
        }
        let names = ["diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors"]
        guard let file = names.map({ folder + "/" + $0 }).first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            throw DiffusionError.modelFiles(path: folder, reason: "no diffusion_pytorch_model.safetensors")
        }
        weights = try SafeTensorsFile(path: file)
        try validate()
    }

    /// Checks every tensor the decoder needs before any work, so a broken file fails early and clearly.
    private func validate() throws {
        _ = try decodeShapesOnly()
    }

    private func tensor(_ name: String, _ shape: [Int]) throws -> Tensor {
        let value = try weights.tensor(name)
        guard value.shape == shape else {
            throw NeuralError.shapeMismatch("\(name) in \(weights.path) is \(value.shape), the config needs \(shape)")
        }
        return value
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
            x = try Convolution.conv2d(x, weight: try tensor("post_quant_conv.weight", [latent, latent, 1, 1]),
                                       bias: try tensor("post_quant_conv.bias", [latent]))
        }
        let channels = Array(config.blockOutChannels.reversed())
        x = try Convolution.conv2d(x, weight: try tensor("decoder.conv_in.weight", [channels[0], latent, 3, 3]),
                                   bias: try tensor("decoder.conv_in.bias", [channels[0]]), padding: 1)
        x = try resnet(x, "decoder.mid_block.resnets.0", from: channels[0], to: channels[0])
        if config.midBlockAttention { x = try attention(x, "decoder.mid_block.attentions.0", channels: channels[0]) }
        x = try resnet(x, "decoder.mid_block.resnets.1", from: channels[0], to: channels[0])
        var previous = channels[0]
        for (level, width) in channels.enumerated() {
            for j in 0...config.layersPerBlock {
                x = try resnet(x, "decoder.up_blocks.\(level).resnets.\(j)", from: j == 0 ? previous : width, to: width)
            }
            if level != channels.count - 1 {
                x = try Interpolation.resize(x, height: x.shape[2] * 2, width: x.shape[3] * 2, mode: .nearest)
                x = try Convolution.conv2d(x, weight: try tensor("decoder.up_blocks.\(level).upsamplers.0.conv.weight", [width, width, 3, 3]),
                                           bias: try tensor("decoder.up_blocks.\(level).upsamplers.0.conv.bias", [width]), padding: 1)
            }
            previous = width
        }
        let last = channels.last!
        x = try Ops.groupNorm(x, groups: config.normGroups, weight: try tensor("decoder.conv_norm_out.weight", [last]),
                              bias: try tensor("decoder.conv_norm_out.bias", [last]), epsilon: 1e-6)
        x = Ops.silu(x)
        return try Convolution.conv2d(x, weight: try tensor("decoder.conv_out.weight", [config.outChannels, last, 3, 3]),
                                      bias: try tensor("decoder.conv_out.bias", [config.outChannels]), padding: 1)
    }

    /// Loads every decoder tensor with its expected shape (no pixels).
    private func decodeShapesOnly() throws -> Int {
        let channels = Array(config.blockOutChannels.reversed())
        var count = 0
        func need(_ name: String, _ shape: [Int]) throws { _ = try tensor(name, shape); count += 1 }
        func resnetShapes(_ p: String, _ a: Int, _ b: Int) throws {
            try need(p + ".norm1.weight", [a]); try need(p + ".conv1.weight", [b, a, 3, 3])
            try need(p + ".norm2.weight", [b]); try need(p + ".conv2.weight", [b, b, 3, 3])
            if a != b { try need(p + ".conv_shortcut.weight", [b, a, 1, 1]) }
        }
        try need("decoder.conv_in.weight", [channels[0], config.latentChannels, 3, 3])
        try resnetShapes("decoder.mid_block.resnets.0", channels[0], channels[0])
        try resnetShapes("decoder.mid_block.resnets.1", channels[0], channels[0])
        var previous = channels[0]
        for (level, width) in channels.enumerated() {
            for j in 0...config.layersPerBlock { try resnetShapes("decoder.up_blocks.\(level).resnets.\(j)", j == 0 ? previous : width, width) }
            previous = width
        }
        try need("decoder.conv_out.weight", [config.outChannels, channels.last!, 3, 3])
        return count
    }

    /// ResnetBlock2D without time embedding: GN → SiLU → conv → GN → SiLU → conv, plus the shortcut.
    private func resnet(_ x: Tensor, _ p: String, from a: Int, to b: Int) throws -> Tensor {
        var h = try Ops.groupNorm(x, groups: config.normGroups, weight: try tensor(p + ".norm1.weight", [a]),
                                  bias: try tensor(p + ".norm1.bias", [a]), epsilon: 1e-6)
        h = try Convolution.conv2d(Ops.silu(h), weight: try tensor(p + ".conv1.weight", [b, a, 3, 3]), bias: try tensor(p + ".conv1.bias", [b]), padding: 1)
        h = try Ops.groupNorm(h, groups: config.normGroups, weight: try tensor(p + ".norm2.weight", [b]),
                              bias: try tensor(p + ".norm2.bias", [b]), epsilon: 1e-6)
        h = try Convolution.conv2d(Ops.silu(h), weight: try tensor(p + ".conv2.weight", [b, b, 3, 3]), bias: try tensor(p + ".conv2.bias", [b]), padding: 1)
        let shortcut = a == b ? x : try Convolution.conv2d(x, weight: try tensor(p + ".conv_shortcut.weight", [b, a, 1, 1]),
                                                           bias: try tensor(p + ".conv_shortcut.bias", [b]))
        return try Ops.add(shortcut, h)
    }

    /// The mid-block self-attention over all pixels (one head, group-normed input, residual).
    private func attention(_ x: Tensor, _ p: String, channels c: Int) throws -> Tensor {
        let normed = try Ops.groupNorm(x, groups: config.normGroups, weight: try tensor(p + ".group_norm.weight", [c]),
                                       bias: try tensor(p + ".group_norm.bias", [c]), epsilon: 1e-6)
        let (batch, height, width) = (x.shape[0], x.shape[2], x.shape[3])
        let pixels = height * width
        var out = x
        for n in 0..<batch {
            // [c, pixels] → [pixels, c]
            var tokens = [Float](repeating: 0, count: pixels * c)
            for ch in 0..<c { for i in 0..<pixels { tokens[i * c + ch] = normed.storage[(n * c + ch) * pixels + i] } }
            let input = Tensor(shape: [pixels, c], storage: tokens)
            func project(_ name: String) throws -> Tensor {
                let y = try LinearAlgebra.linear(input, weight: try tensor(p + ".\(name).weight", [c, c]), bias: try tensor(p + ".\(name).bias", [c]))
                return Tensor(shape: [1, pixels, c], storage: y.storage)
            }
            let attended = try Attention.scaledDotProduct(query: try project("to_q"), key: try project("to_k"), value: try project("to_v"))
            let projected = try LinearAlgebra.linear(Tensor(shape: [pixels, c], storage: attended.storage),
                                                     weight: try tensor(p + ".to_out.0.weight", [c, c]), bias: try tensor(p + ".to_out.0.bias", [c]))
            for ch in 0..<c { for i in 0..<pixels { out.storage[(n * c + ch) * pixels + i] += projected.storage[i * c + ch] } }
        }
        return out
    }
}
