import AtomicFiles
import Foundation
import Neural

/// Where one AutoencoderKL's weights come from: a diffusers `vae/` folder, one part of a
/// single-file checkpoint, or random tensors (benchmarks). The encoder and decoder each read
/// theirs once, at load.
struct VAEWeights: Sendable {
    let config: VAEConfig
    private let source: WeightSource?
    /// Benchmarks: random tensors (the encoder's and the decoder's names differ, so each gets its own).
    private let random: RandomTensors?

    /// Reads `config.json` and `diffusion_pytorch_model.safetensors` (or its fp16 variant) from a folder.
    init(folder: String) throws {
        guard let data = RegularFile.contents(atPath: folder + "/config.json") else {
            throw DiffusionError.modelFiles(path: folder + "/config.json", reason: "missing")
        }
        do { config = try JSONDecoder().decode(VAEConfig.self, from: data) } catch {
            throw DiffusionError.modelFiles(path: folder + "/config.json", reason: "not a VAE config: \(error)")
        }
        source = try SafeTensorsFile(path: ModelFiles.weights(in: folder, stem: "diffusion_pytorch_model"))
        random = nil
    }

    init(config: VAEConfig, weights: WeightSource) {
        self.config = config
        source = weights
        random = nil
    }

    init(randomWeights config: VAEConfig, seed: UInt64) {
        self.config = config
        source = nil
        random = RandomTensors(seed: seed)
    }

    func loader(backend: any Backend) -> WeightLoader {
        if let source { return source.loader(backend: backend, configName: "the VAE config") }
        return random!.loader(backend: backend)
    }
}

/// The VAE's mid-block self-attention over all pixels: one head, group-normed input, residual.
struct VAEAttention: Sendable {
    let norm: GroupNorm
    let attention: Attention

    init(_ w: WeightLoader, _ prefix: String, channels: Int, groups: Int) throws {
        norm = try GroupNorm(w, prefix + ".group_norm", channels: channels, groups: groups, epsilon: 1e-6)
        attention = try Attention(w, prefix, width: channels, heads: 1, projectionBias: true)
    }

    func callAsFunction(_ x: Tensor) throws -> Tensor {
        let backend = x.backend
        let normed = try norm(x)
        let (height, width) = (x.shape[2], x.shape[3])
        let attended = try (0..<x.shape[0]).map { n in
            try PixelTokens.image(try attention(try PixelTokens.tokens(try normed.item(n, keepingAxis: true))), height: height, width: width)
        }
        return try backend.add(x, x.shape[0] == 1 ? attended[0] : try backend.concat(attended, axis: 0))
    }
}
