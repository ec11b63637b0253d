import AtomicFiles
import Foundation
import Neural

/// A BERT sentence encoder with mean pooling and L2 normalisation: what sentence-transformers
/// runs for all-MiniLM-L6-v2 (Transformer → Pooling(mean) → Normalize). Sentences are packed
/// into one token matrix, so every linear layer is one GEMM for the whole batch; attention runs
/// per sentence, so no padding or mask is needed.
public final class SentenceEncoder: Sendable {
    public struct Config: Decodable, Sendable {
        public var hiddenSize: Int
        public var layers: Int
        public var heads: Int
        public var intermediateSize: Int
        public var maxPositions: Int
        public var layerNormEpsilon: Float

        enum CodingKeys: String, CodingKey {
            case hiddenSize = "hidden_size", layers = "num_hidden_layers", heads = "num_attention_heads"
            case intermediateSize = "intermediate_size", maxPositions = "max_position_embeddings", layerNormEpsilon = "layer_norm_eps"
        }
    }

    struct Layer: Sendable {
        let query, key, value, output: Linear
        let attentionNorm: LayerNorm
        let intermediate, down: Linear
        let outputNorm: LayerNorm
    }

    public let config: Config
    public let tokenizer: WordPieceTokenizer
    /// sentence-transformers' max_seq_length for this model: longer texts are cut.
    public let maxTokens: Int
    let backend: any Backend
    let wordEmbeddings, positionEmbeddings, tokenTypeEmbeddings: Tensor
    let embeddingNorm: LayerNorm
    let layers: [Layer]

    /// Loads config.json, model.safetensors and vocab.txt (and sentence_bert_config.json's
    /// max_seq_length when present) from a sentence-transformers model folder.
    public init(folder: String, backend: any Backend) throws {
        func data(_ name: String) throws -> Data {
            guard let data = RegularFile.contents(atPath: folder + "/" + name) else {
                throw KeywordingError.modelFiles(path: folder + "/" + name, reason: "missing")
            }
            return data
        }
        do { config = try JSONDecoder().decode(Config.self, from: try data("config.json")) } catch let error as KeywordingError { throw error } catch {
            throw KeywordingError.modelFiles(path: folder + "/config.json", reason: "not a BERT config: \(error)")
        }
        let limits = (try? JSONSerialization.jsonObject(with: try data("sentence_bert_config.json"))) as? [String: Any]
        maxTokens = min(limits?["max_seq_length"] as? Int ?? 256, config.maxPositions)
        tokenizer = try WordPieceTokenizer(vocabularyFile: folder + "/vocab.txt")
        let file = try SafeTensorsFile(path: folder + "/model.safetensors")
        let config = self.config
        let h = config.hiddenSize, inner = config.intermediateSize, epsilon = config.layerNormEpsilon
        self.backend = backend
        let w = WeightLoader(backend: backend) { name, shape in
            let value = try file.tensor(name)
            guard value.shape == shape else {
                throw KeywordingError.modelFiles(path: file.path, reason: "\(name) is \(value.shape), config.json needs \(shape)")
            }
            return value
        }
        wordEmbeddings = try w.tensor("embeddings.word_embeddings.weight", [tokenizer.vocabulary.count, h])
        positionEmbeddings = try w.tensor("embeddings.position_embeddings.weight", [config.maxPositions, h])
        tokenTypeEmbeddings = try w.tensor("embeddings.token_type_embeddings.weight", [2, h])
        embeddingNorm = try LayerNorm(w, "embeddings.LayerNorm", width: h, epsilon: epsilon)
        layers = try (0..<config.layers).map { i in
            let p = "encoder.layer.\(i)."
            return Layer(query: try Linear(w, p + "attention.self.query", inputs: h, outputs: h),
                         key: try Linear(w, p + "attention.self.key", inputs: h, outputs: h),
                         value: try Linear(w, p + "attention.self.value", inputs: h, outputs: h),
                         output: try Linear(w, p + "attention.output.dense", inputs: h, outputs: h),
                         attentionNorm: try LayerNorm(w, p + "attention.output.LayerNorm", width: h, epsilon: epsilon),
                         intermediate: try Linear(w, p + "intermediate.dense", inputs: h, outputs: inner),
                         down: try Linear(w, p + "output.dense", inputs: inner, outputs: h),
                         outputNorm: try LayerNorm(w, p + "output.LayerNorm", width: h, epsilon: epsilon))
        }
    }

    /// Unit-length embeddings, one per text, in order.
    public func encode(_ texts: [String]) throws -> [[Float]] {
        let ids = texts.map { tokenizer.encode($0, maxLength: maxTokens) }
        return try embed(tokenIDs: ids)
    }

    /// Embeddings of already tokenized texts ([CLS] … [SEP] each).
    public func embed(tokenIDs ids: [[Int]]) throws -> [[Float]] {
        guard !ids.isEmpty else { return [] }
        let h = config.hiddenSize
        let lengths = ids.map(\.count)
        // Embeddings: word + (position + token type 0), then layer norm.
        guard let longest = lengths.max(), longest <= config.maxPositions, !lengths.contains(0) else {
            throw KeywordingError.modelFiles(path: "sentence encoder", reason: "texts must have 1 to \(config.maxPositions) tokens")
        }
        let words = try backend.embedding(ids.flatMap { $0 }, table: wordEmbeddings)
        let positions = try backend.embedding(lengths.flatMap { 0..<$0 }, table: positionEmbeddings)
        let types = try backend.embedding([Int](repeating: 0, count: words.shape[0]), table: tokenTypeEmbeddings)
        var x = try embeddingNorm(try backend.add(words, try backend.add(positions, types)))
        for layer in layers { x = try block(x, layer, lengths: lengths) }
        // The states leave the backend here: mean over each text's tokens, then L2 normalisation.
        let states = try x.host().storage
        var embeddings: [[Float]] = []
        var row = 0
        for length in lengths {
            var mean = [Float](repeating: 0, count: h)
            for r in row..<(row + length) { for c in 0..<h { mean[c] += states[r * h + c] } }
            row += length
            let norm = max(mean.reduce(0) { $0 + $1 * $1 }.squareRoot() / Float(length), 1e-12)
            embeddings.append(mean.map { $0 / Float(length) / norm })
        }
        return embeddings
    }

    /// One post-norm BERT layer over packed tokens; each text attends only to its own tokens.
    func block(_ x: Tensor, _ layer: Layer, lengths: [Int]) throws -> Tensor {
        let context = try backend.packedAttention(query: try layer.query(x), key: try layer.key(x), value: try layer.value(x),
                                                  heads: config.heads, lengths: lengths)
        let normed = try layer.attentionNorm(try backend.add(try layer.output(context), x))
        let hidden = try backend.activation(try layer.intermediate(normed), .gelu)
        return try layer.outputNorm(try backend.add(try layer.down(hidden), normed))
    }
}
