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

    func callAsFunction(_ name: String, shape: [Int]) throws -> HostTensor {
        let tensor = try source.tensor(prefix + name)
        guard tensor.shape == shape else {
            throw NeuralError.shapeMismatch("\(prefix + name) in \(source.path) is \(tensor.shape), the config needs \(shape)")
        }
        return tensor
    }
}

/// CLIP's text transformer (transformers' CLIPTextModel): token and position embeddings, causal
/// pre-norm blocks, a final layer norm; with CLIPTextModelWithProjection's `text_projection` when
/// the file has one (SDXL's second encoder). Its weights are prepared once at load.
public final class CLIPTextEncoder: Sendable {
    struct Layer: Sendable {
        let norm1: LayerNorm, norm2: LayerNorm
        /// q, k and v stacked into one projection: one matrix product instead of three.
        let qkv: Linear, out: Linear
        let fc1: Linear, fc2: Linear
    }

    public let config: CLIPTextConfig
    public let backend: any Backend
    let tokenEmbedding: Tensor
    let positionEmbedding: Tensor
    let layers: [Layer]
    let finalNorm: LayerNorm
    /// CLIPTextModelWithProjection's text_projection (no bias): the pooled state → text embeds.
    public let projection: Linear?

    public convenience init(folder: String, backend: any Backend) throws {
        try self.init(folder: folder, backend: backend, adjusting: nil)
    }

    /// `adjusting`: what the weights pass through as they are read (LoRA updates).
    convenience init(folder: String, backend: any Backend, adjusting: ((WeightSource) -> WeightSource)?) throws {
        guard let data = RegularFile.contents(atPath: folder + "/config.json") else {
            throw NeuralError.cannotOpen(file: folder + "/config.json", reason: "missing")
        }
        let config: CLIPTextConfig
        do { config = try JSONDecoder().decode(CLIPTextConfig.self, from: data) } catch {
            throw DiffusionError.modelFiles(path: folder + "/config.json", reason: "not a CLIP text encoder config: \(error)")
        }
        let file = try SafeTensorsFile(path: ModelFiles.weights(in: folder, stem: "model"))
        try self.init(config: config, source: adjusting?(file) ?? file, backend: backend)
    }

    public convenience init(config: CLIPTextConfig, weights file: SafeTensorsFile, backend: any Backend) throws {
        try self.init(config: config, source: file, backend: backend)
    }

    convenience init(config: CLIPTextConfig, source: WeightSource, backend: any Backend) throws {
        let weights = CLIPTextWeights(source: source)
        let projection = source.shape(of: Self.projectionName)
        if let projection, projection.count != 2 || !(1...ConfigCheck.maxSize).contains(projection[0]) {
            throw DiffusionError.modelFiles(path: source.path, reason: "tensor \(Self.projectionName) is \(projection), expected [projection width, \(config.hiddenSize)]")
        }
        try self.init(config: config, loader: WeightLoader(backend: backend) { name, shape in
            // The projection sits beside the transformer, never under `text_model.`.
            name == Self.projectionName ? try source.tensor(name, shape: shape, configName: "the text encoder config") : try weights(name, shape: shape)
        }, projectionWidth: projection?.first)
    }

    /// Random weights (benchmarks): N(0, 0.02²) from a torch generator, norms at 1 and 0.
    public static func random(config: CLIPTextConfig, seed: UInt64, backend: any Backend) throws -> CLIPTextEncoder {
        let generator = LockedGenerator(seed: seed)
        return try CLIPTextEncoder(config: config, loader: WeightLoader(backend: backend) { name, shape in
            let count = shape.reduce(1, *)
            if name.contains("norm") { return HostTensor(shape: shape, storage: [Float](repeating: name.hasSuffix("weight") ? 1 : 0, count: count)) }
            return HostTensor(shape: shape, storage: generator.randn(count: count).map { $0 * 0.02 })
        })
    }

    static let projectionName = "text_projection.weight"

    init(config: CLIPTextConfig, loader w: WeightLoader, projectionWidth: Int? = nil) throws {
        self.config = config
        backend = w.backend
        let h = config.hiddenSize, i = config.intermediateSize
        tokenEmbedding = w.backend.embeddingTable(try w.host("embeddings.token_embedding.weight", [config.vocabSize, h]))
        positionEmbedding = try w.tensor("embeddings.position_embedding.weight", [config.maxPositions, h])
        layers = try (0..<config.layers).map { index in
            let p = "encoder.layers.\(index)."
            let qkv = try Linear(backend: w.backend, weight: try stack(["q", "k", "v"].map { try w.host(p + "self_attn.\($0)_proj.weight", [h, h]) }),
                                 bias: try stack(["q", "k", "v"].map { try w.host(p + "self_attn.\($0)_proj.bias", [h]) }))
            return Layer(norm1: try LayerNorm(w, p + "layer_norm1", width: h, epsilon: config.layerNormEpsilon),
                         norm2: try LayerNorm(w, p + "layer_norm2", width: h, epsilon: config.layerNormEpsilon),
                         qkv: qkv, out: try Linear(w, p + "self_attn.out_proj", inputs: h, outputs: h),
                         fc1: try Linear(w, p + "mlp.fc1", inputs: h, outputs: i), fc2: try Linear(w, p + "mlp.fc2", inputs: i, outputs: h))
        }
        finalNorm = try LayerNorm(w, "final_layer_norm", width: h, epsilon: config.layerNormEpsilon)
        projection = try projectionWidth.map { try Linear(w, "text_projection", inputs: h, outputs: $0, bias: false) }
    }

    public struct Output: Sendable {
        /// [tokens, hidden], after the final layer norm.
        public var lastHiddenState: Tensor
        /// The input of the last block ([tokens, hidden], no final norm), for "clip skip".
        public var penultimateHiddenState: Tensor
        /// The final state at the end token: [hidden].
        public var pooled: Tensor
        /// The last block's output before the final layer norm (transformers' `hidden_states[-1]`),
        /// which the x2 latent upscaler attends to.
        public var lastBlockOutput: Tensor
    }

    /// `replacing`: rows of the token embeddings to replace, from `position` on, with vectors
    /// [n, hidden] (textual inversions, as A1111's embedding hijack puts them in). `skipLast`:
    /// blocks left out at the end (A1111's Clip skip − 1); the final norm follows the last block run.
    public func encode(_ ids: [Int], replacing: [(position: Int, vectors: HostTensor)] = [], skipLast: Int = 0) throws -> Output {
        guard (0..<layers.count).contains(skipLast) else {
            throw DiffusionError.request("clip skip \(skipLast + 1) leaves no layer of the text encoder's \(layers.count); use 1 to \(layers.count)")
        }
        guard ids.count <= config.maxPositions, !ids.isEmpty else {
            throw NeuralError.shapeMismatch("\(ids.count) tokens, the model takes 1 to \(config.maxPositions)")
        }
        var tokens = try backend.embedding(ids, table: tokenEmbedding)
        if !replacing.isEmpty {
            var rows = try tokens.host()
            let width = config.hiddenSize
            for (position, vectors) in replacing where vectors.shape.count == 2 && vectors.shape[1] == width && (0..<ids.count).contains(position) {
                let count = min(vectors.shape[0], ids.count - position)
                rows.storage.replaceSubrange((position * width)..<((position + count) * width), with: vectors.storage[0..<(count * width)])
            }
            tokens = backend.tensor(rows)
        }
        var hidden = try backend.add(tokens, try backend.slice(positionEmbedding, axis: 0, range: 0..<ids.count))
        var penultimate = hidden
        let run = layers.dropLast(skipLast)
        for (index, layer) in run.enumerated() {
            if index == run.count - 1 { penultimate = hidden }
            hidden = try block(hidden, layer)
        }
        let last = try finalNorm(hidden)
        // transformers: the first end token, or (old configs with eos id 2) the highest id.
        let endIndex = config.eosTokenID == 2 ? ids.indices.max { ids[$0] < ids[$1] }! : (ids.firstIndex(of: config.eosTokenID) ?? ids.count - 1)
        let pooled = try backend.slice(last, axis: 0, range: endIndex..<(endIndex + 1)).reshaped([config.hiddenSize])
        return Output(lastHiddenState: last, penultimateHiddenState: penultimate, pooled: pooled, lastBlockOutput: hidden)
    }

    func block(_ input: Tensor, _ layer: Layer) throws -> Tensor {
        let h = config.hiddenSize
        let qkv = try layer.qkv(try layer.norm1(input))
        let (q, k, v) = (try backend.slice(qkv, axis: 1, range: 0..<h), try backend.slice(qkv, axis: 1, range: h..<(2 * h)),
                         try backend.slice(qkv, axis: 1, range: (2 * h)..<(3 * h)))
        let attended = try backend.attention(query: q, key: k, value: v, heads: config.heads, causal: true)
        let afterAttention = try backend.add(input, try layer.out(attended))
        let inner = try backend.activation(try layer.fc1(try layer.norm2(afterAttention)), config.activation == .quickGELU ? .quickGELU : .gelu)
        return try backend.add(afterAttention, try layer.fc2(inner))
    }
}

/// Parts stacked along the first axis ([a, …] + [b, …] → [a + b, …]).
func stack(_ parts: [HostTensor]) throws -> HostTensor {
    guard let first = parts.first, parts.allSatisfy({ Array($0.shape.dropFirst()) == Array(first.shape.dropFirst()) }) else {
        throw NeuralError.shapeMismatch("stacking \(parts.map(\.shape))")
    }
    return HostTensor(shape: [parts.reduce(0) { $0 + $1.shape[0] }] + first.shape.dropFirst(), storage: parts.flatMap(\.storage))
}

/// A torch generator shared by a loader's calls (they run one after another, at load).
final class LockedGenerator: @unchecked Sendable {
    private var generator: TorchGenerator
    private let lock = NSLock()

    init(seed: UInt64) { generator = TorchGenerator(seed: seed) }

    func randn(count: Int) -> [Float] {
        lock.lock()
        defer { lock.unlock() }
        return generator.randn(count: count)
    }
}
