import AtomicFiles
import Foundation
import Neural

/// Reads named tensors from a weight source, accepting both key layouts found in the wild:
/// with the `text_model.` prefix (Hub SD folders, older transformers) and without (transformers ≥ 5).
struct CLIPTextWeights {
    let source: WeightSource
    let prefix: String

    init(source: WeightSource) {
        self.source = source
        prefix = source.shape(of: "text_model.embeddings.token_embedding.weight") != nil ? "text_model." : ""
    }

    func callAsFunction(_ name: String, shape: [Int]) throws -> Tensor {
        let tensor = try source.tensor(prefix + name)
        guard tensor.shape == shape else {
            throw NeuralError.shapeMismatch("\(prefix + name) in \(source.path) is \(tensor.shape), the config needs \(shape)")
        }
        return tensor
    }
}

/// The CLIP text transformer that conditions Stable Diffusion (transformers' CLIPTextModel):
/// token + position embeddings, pre-norm causal self-attention blocks, final layer norm.
public final class CLIPTextEncoder: @unchecked Sendable {
    struct Layer {
        var norm1Weight, norm1Bias, norm2Weight, norm2Bias: Tensor
        /// q, k and v projections stacked into one [3·hidden, hidden] matrix: one larger GEMM is faster.
        var qkvWeight, qkvBias, outWeight, outBias: Tensor
        var fc1Weight, fc1Bias, fc2Weight, fc2Bias: Tensor
    }

    public let config: CLIPTextConfig
    let tokenEmbedding: Tensor
    let positionEmbedding: Tensor
    let layers: [Layer]
    let finalNormWeight: Tensor
    let finalNormBias: Tensor

    /// Loads `config.json` and `model.safetensors` (or `model.fp16.safetensors`) from a folder.
    public convenience init(folder: String) throws {
        guard let data = RegularFile.contents(atPath: folder + "/config.json") else {
            throw NeuralError.cannotOpen(file: folder + "/config.json", reason: "missing")
        }
        let config: CLIPTextConfig
        do { config = try JSONDecoder().decode(CLIPTextConfig.self, from: data) } catch {
            throw DiffusionError.modelFiles(path: folder + "/config.json", reason: "not a CLIP text encoder config: \(error)")
        }
        try self.init(config: config, weights: SafeTensorsFile(path: ModelFiles.weights(in: folder, stem: "model")))
    }

    public convenience init(config: CLIPTextConfig, weights file: SafeTensorsFile) throws {
        try self.init(config: config, source: file)
    }

    convenience init(config: CLIPTextConfig, source: WeightSource) throws {
        let weights = CLIPTextWeights(source: source)
        try self.init(config: config) { name, shape in try weights(name, shape: shape) }
    }

    /// Random weights (normal, σ = 0.02, layer norms at 1 and 0) for benchmarks: no download needed.
    public static func random(config: CLIPTextConfig, seed: UInt64) throws -> CLIPTextEncoder {
        var generator = TorchGenerator(seed: seed)
        return try CLIPTextEncoder(config: config) { name, shape in
            let count = shape.reduce(1, *)
            if name.contains("norm") { return Tensor(shape: shape, storage: [Float](repeating: name.hasSuffix("weight") ? 1 : 0, count: count)) }
            return Tensor(shape: shape, storage: generator.randn(count: count).map { $0 * 0.02 })
        }
    }

    /// Builds the model from a source of named tensors of the given shapes.
    init(config: CLIPTextConfig, tensor w: (String, [Int]) throws -> Tensor) throws {
        self.config = config
        let h = config.hiddenSize, i = config.intermediateSize
        tokenEmbedding = try w("embeddings.token_embedding.weight", [config.vocabSize, h])
        positionEmbedding = try w("embeddings.position_embedding.weight", [config.maxPositions, h])
        layers = try (0..<config.layers).map { index in
            let p = "encoder.layers.\(index)."
            return Layer(norm1Weight: try w(p + "layer_norm1.weight", [h]), norm1Bias: try w(p + "layer_norm1.bias", [h]),
                         norm2Weight: try w(p + "layer_norm2.weight", [h]), norm2Bias: try w(p + "layer_norm2.bias", [h]),
                         qkvWeight: try stack(["q", "k", "v"].map { try w(p + "self_attn.\($0)_proj.weight", [h, h]) }),
                         qkvBias: try stack(["q", "k", "v"].map { try w(p + "self_attn.\($0)_proj.bias", [h]) }),
                         outWeight: try w(p + "self_attn.out_proj.weight", [h, h]), outBias: try w(p + "self_attn.out_proj.bias", [h]),
                         fc1Weight: try w(p + "mlp.fc1.weight", [i, h]), fc1Bias: try w(p + "mlp.fc1.bias", [i]),
                         fc2Weight: try w(p + "mlp.fc2.weight", [h, i]), fc2Bias: try w(p + "mlp.fc2.bias", [h]))
        }
        finalNormWeight = try w("final_layer_norm.weight", [h])
        finalNormBias = try w("final_layer_norm.bias", [h])
    }

    public struct Output: Sendable {
        /// [tokens, hidden] after the final layer norm: what the UNet attends to.
        public var lastHiddenState: Tensor
        /// The input of the last block ([tokens, hidden], no final norm), for "clip skip".
        public var penultimateHiddenState: Tensor
        /// The final state at the end token: [hidden].
        public var pooled: Tensor
        /// The last block's output before the final layer norm (transformers' `hidden_states[-1]`),
        /// which the x2 latent upscaler attends to.
        public var lastBlockOutput: Tensor
    }

    public func encode(_ ids: [Int]) throws -> Output {
        guard ids.count <= config.maxPositions else {
            throw NeuralError.shapeMismatch("\(ids.count) tokens, the model takes at most \(config.maxPositions)")
        }
        let h = config.hiddenSize
        var hidden = try Ops.add(try Ops.embedding(ids, table: tokenEmbedding),
                                 Tensor(shape: [ids.count, h], storage: Array(positionEmbedding.storage.prefix(ids.count * h))))
        var penultimate = hidden
        for (index, layer) in layers.enumerated() {
            if index == layers.count - 1 { penultimate = hidden }
            hidden = try block(hidden, layer)
        }
        let last = try Ops.layerNorm(hidden, weight: finalNormWeight, bias: finalNormBias, epsilon: config.layerNormEpsilon)
        // transformers: the first end token, or (old configs with eos id 2) the highest id.
        let endIndex = config.eosTokenID == 2 ? ids.indices.max { ids[$0] < ids[$1] }! : (ids.firstIndex(of: config.eosTokenID) ?? ids.count - 1)
        let pooled = Tensor(shape: [h], storage: Array(last.storage[(endIndex * h)..<((endIndex + 1) * h)]))
        return Output(lastHiddenState: last, penultimateHiddenState: penultimate, pooled: pooled, lastBlockOutput: hidden)
    }

    func block(_ input: Tensor, _ layer: Layer) throws -> Tensor {
        let eps = config.layerNormEpsilon
        let normed = try Ops.layerNorm(input, weight: layer.norm1Weight, bias: layer.norm1Bias, epsilon: eps)
        let qkv = try LinearAlgebra.linear(normed, weight: layer.qkvWeight, bias: layer.qkvBias)
        let (q, k, v) = Heads.splitQKV(qkv, heads: config.heads)
        let attended = try Attention.scaledDotProduct(query: q, key: k, value: v, causal: true)
        let projected = try LinearAlgebra.linear(Heads.merge(attended), weight: layer.outWeight, bias: layer.outBias)
        let afterAttention = try Ops.add(input, projected)
        let normed2 = try Ops.layerNorm(afterAttention, weight: layer.norm2Weight, bias: layer.norm2Bias, epsilon: eps)
        var inner = try LinearAlgebra.linear(normed2, weight: layer.fc1Weight, bias: layer.fc1Bias)
        inner = config.activation == .quickGELU ? Ops.quickGELU(inner) : Ops.gelu(inner)
        return try Ops.add(afterAttention, try LinearAlgebra.linear(inner, weight: layer.fc2Weight, bias: layer.fc2Bias))
    }
}

/// Concatenates tensors along the first dimension.
func stack(_ parts: [Tensor]) throws -> Tensor {
    guard let first = parts.first, parts.allSatisfy({ Array($0.shape.dropFirst()) == Array(first.shape.dropFirst()) }) else {
        throw NeuralError.shapeMismatch("stacking \(parts.map(\.shape))")
    }
    return Tensor(shape: [parts.reduce(0) { $0 + $1.shape[0] }] + first.shape.dropFirst(), storage: parts.flatMap(\.storage))
}

/// [tokens, heads·d] ⇄ [heads, tokens, d].
enum Heads {
    static func split(_ x: Tensor, heads: Int) -> Tensor {
        let tokens = x.shape[0], width = x.shape[1], d = width / heads
        var out = [Float](repeating: 0, count: x.count)
        x.storage.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { out in
                for t in 0..<tokens { for h in 0..<heads { for j in 0..<d { out[(h * tokens + t) * d + j] = source[t * width + h * d + j] } } }
            }
        }
        return Tensor(shape: [heads, tokens, d], storage: out)
    }

    /// Splits a fused [tokens, 3·heads·d] projection into q, k, v as [heads, tokens, d] each.
    static func splitQKV(_ x: Tensor, heads: Int) -> (Tensor, Tensor, Tensor) {
        let tokens = x.shape[0], width = x.shape[1] / 3, d = width / heads
        var parts = [[Float]](repeating: [Float](repeating: 0, count: tokens * width), count: 3)
        x.storage.withUnsafeBufferPointer { source in
            for part in 0..<3 {
                parts[part].withUnsafeMutableBufferPointer { out in
                    for t in 0..<tokens {
                        for h in 0..<heads {
                            let from = t * 3 * width + part * width + h * d, to = (h * tokens + t) * d
                            for j in 0..<d { out[to + j] = source[from + j] }
                        }
                    }
                }
            }
        }
        return (Tensor(shape: [heads, tokens, d], storage: parts[0]), Tensor(shape: [heads, tokens, d], storage: parts[1]),
                Tensor(shape: [heads, tokens, d], storage: parts[2]))
    }

    static func merge(_ x: Tensor) -> Tensor {
        let heads = x.shape[0], tokens = x.shape[1], d = x.shape[2]
        var out = [Float](repeating: 0, count: x.count)
        x.storage.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { out in
                for h in 0..<heads { for t in 0..<tokens { for j in 0..<d { out[t * heads * d + h * d + j] = source[(h * tokens + t) * d + j] } } }
            }
        }
        return Tensor(shape: [tokens, heads * d], storage: out)
    }
}
