import AtomicFiles
import Foundation
import Neural

/// The weights of one AutoencoderKL and the blocks its encoder and decoder share.
struct VAEBlocks: @unchecked Sendable {
    let config: VAEConfig
    let weights: WeightSource?
    /// Benchmarks: random tensors made on first use, then kept.
    let random: RandomTensors?

    /// Reads `config.json` and `diffusion_pytorch_model.safetensors` (or its fp16 variant) from a folder.
    init(folder: String) throws {
        guard let data = RegularFile.contents(atPath: folder + "/config.json") else {
            throw DiffusionError.modelFiles(path: folder + "/config.json", reason: "missing")
        }
        do { config = try JSONDecoder().decode(VAEConfig.self, from: data) } catch {
            throw DiffusionError.modelFiles(path: folder + "/config.json", reason: "not a VAE config: \(error)")
        }
        weights = try SafeTensorsFile(path: ModelFiles.weights(in: folder, stem: "diffusion_pytorch_model"))
        random = nil
    }

    init(config: VAEConfig, weights: WeightSource) {
        self.config = config
        self.weights = weights
        random = nil
    }

    init(randomWeights config: VAEConfig, seed: UInt64) {
        self.config = config
        weights = nil
        random = RandomTensors(seed: seed)
    }

    /// A tensor that must have `shape`; a mismatch names the tensor, the file and both shapes.
    func tensor(_ name: String, _ shape: [Int]) throws -> Tensor {
        guard let weights else { return random!.tensor(name, shape) }
        let value = try weights.tensor(name)
        guard value.shape == shape else {
            throw NeuralError.shapeMismatch("\(name) in \(weights.path) is \(value.shape), the config needs \(shape)")
        }
        return value
    }

    /// Checks a ResnetBlock2D's tensor shapes without computing anything.
    func checkResnet(_ p: String, from a: Int, to b: Int) throws {
        for (name, shape) in [(".norm1.weight", [a]), (".conv1.weight", [b, a, 3, 3]), (".norm2.weight", [b]), (".conv2.weight", [b, b, 3, 3])] {
            _ = try tensor(p + name, shape)
        }
        if a != b { _ = try tensor(p + ".conv_shortcut.weight", [b, a, 1, 1]) }
    }

    /// ResnetBlock2D without time embedding: GN → SiLU → conv → GN → SiLU → conv, plus the shortcut.
    func resnet(_ x: Tensor, _ p: String, from a: Int, to b: Int) throws -> Tensor {
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
    func attention(_ x: Tensor, _ p: String, channels c: Int) throws -> Tensor {
        let normed = try Ops.groupNorm(x, groups: config.normGroups, weight: try tensor(p + ".group_norm.weight", [c]),
                                       bias: try tensor(p + ".group_norm.bias", [c]), epsilon: 1e-6)
        let (height, width, pixels) = (x.shape[2], x.shape[3], x.shape[2] * x.shape[3])
        let attended = try (0..<x.shape[0]).map { n -> Tensor in
            let input = Layout.channelsLast(normed.item(n, keepingAxis: true))
            func project(_ name: String) throws -> Tensor {
                let y = try LinearAlgebra.linear(input, weight: try tensor(p + ".\(name).weight", [c, c]), bias: try tensor(p + ".\(name).bias", [c]))
                return Tensor(shape: [1, pixels, c], storage: y.storage)
            }
            let heads = try Attention.scaledDotProduct(query: try project("to_q"), key: try project("to_k"), value: try project("to_v"))
            let projected = try LinearAlgebra.linear(Tensor(shape: [pixels, c], storage: heads.storage),
                                                     weight: try tensor(p + ".to_out.0.weight", [c, c]), bias: try tensor(p + ".to_out.0.bias", [c]))
            return Layout.channelsFirst(projected, height: height, width: width)
        }
        return try Ops.add(x, Ops.concat(attended, axis: 0))
    }
}
