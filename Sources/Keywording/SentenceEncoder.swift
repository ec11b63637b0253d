import AtomicFiles
import Foundation
import Neural

/// A BERT sentence encoder with mean pooling and L2 normalisation: what sentence-transformers
/// runs for all-MiniLM-L6-v2 (Transformer → Pooling(mean) → Normalize). Sentences are packed
/// into one token matrix, so every linear layer is one GEMM for the whole batch; attention runs
/// per sentence, so no padding or mask is needed.
public final class SentenceEncoder: @unchecked Sendable {
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

    struct Layer {
        var query, queryBias, key, keyBias, value, valueBias, output, outputBias: Tensor
        var attentionNorm, attentionNormBias, intermediate, intermediateBias, down, downBias, outputNorm, outputNormBias: Tensor
    }

    public let config: Config
    public let tokenizer: WordPieceTokenizer
    /// sentence-transformers' max_seq_length for this model: longer texts are cut.
    public let maxTokens: Int
    let wordEmbeddings, positionEmbeddings, tokenTypeEmbedding, embeddingNorm, embeddingNormBias: Tensor
    let layers: [Layer]

    /// Loads config.json, model.safetensors and vocab.txt (and sentence_bert_config.json's
    /// max_seq_length when present) from a sentence-transformers model folder.
    public init(folder: String) throws {
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
        let h = config.hiddenSize, layerCount = config.layers, intermediateSize = config.intermediateSize
        func tensor(_ name: String, _ shape: [Int]) throws -> Tensor {
            let value = try file.tensor(name)
            guard value.shape == shape else {
                throw KeywordingError.modelFiles(path: file.path, reason: "\(name) is \(value.shape), config.json needs \(shape)")
            }
            return value
        }
        wordEmbeddings = try tensor("embeddings.word_embeddings.weight", [tokenizer.vocabulary.count, h])
        positionEmbeddings = try tensor("embeddings.position_embeddings.weight", [config.maxPositions, h])
        tokenTypeEmbedding = try tensor("embeddings.token_type_embeddings.weight", [2, h]).item(0)
        embeddingNorm = try tensor("embeddings.LayerNorm.weight", [h])
        embeddingNormBias = try tensor("embeddings.LayerNorm.bias", [h])
        layers = try (0..<layerCount).map { i in
            let p = "encoder.layer.\(i)."
            return Layer(query: try tensor(p + "attention.self.query.weight", [h, h]), queryBias: try tensor(p + "attention.self.query.bias", [h]),
                         key: try tensor(p + "attention.self.key.weight", [h, h]), keyBias: try tensor(p + "attention.self.key.bias", [h]),
                         value: try tensor(p + "attention.self.value.weight", [h, h]), valueBias: try tensor(p + "attention.self.value.bias", [h]),
                         output: try tensor(p + "attention.output.dense.weight", [h, h]), outputBias: try tensor(p + "attention.output.dense.bias", [h]),
                         attentionNorm: try tensor(p + "attention.output.LayerNorm.weight", [h]),
                         attentionNormBias: try tensor(p + "attention.output.LayerNorm.bias", [h]),
                         intermediate: try tensor(p + "intermediate.dense.weight", [intermediateSize, h]),
                         intermediateBias: try tensor(p + "intermediate.dense.bias", [intermediateSize]),
                         down: try tensor(p + "output.dense.weight", [h, intermediateSize]), downBias: try tensor(p + "output.dense.bias", [h]),
                         outputNorm: try tensor(p + "output.LayerNorm.weight", [h]), outputNormBias: try tensor(p + "output.LayerNorm.bias", [h]))
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
        // Embeddings: word + position + token type 0, then layer norm.
        var x = try Ops.embedding(ids.flatMap { $0 }, table: wordEmbeddings)
        x.storage.withUnsafeMutableBufferPointer { out in
            var row = 0
            for length in lengths {
                for position in 0..<length {
                    for c in 0..<h { out[row * h + c] += positionEmbeddings.storage[position * h + c] + tokenTypeEmbedding.storage[c] }
                    row += 1
                }
            }
        }
        x = try Ops.layerNorm(x, weight: embeddingNorm, bias: embeddingNormBias, epsilon: config.layerNormEpsilon)
        for layer in layers { x = try block(x, layer, lengths: lengths) }
        // Mean over each text's tokens, then L2 normalisation.
        var embeddings: [[Float]] = []
        var row = 0
        for length in lengths {
            var mean = [Float](repeating: 0, count: h)
            for r in row..<(row + length) { for c in 0..<h { mean[c] += x.storage[r * h + c] } }
            row += length
            let norm = max(mean.reduce(0) { $0 + $1 * $1 }.squareRoot() / Float(length), 1e-12)
            embeddings.append(mean.map { $0 / Float(length) / norm })
        }
        return embeddings
    }

    /// One post-norm BERT layer over packed tokens.
    func block(_ x: Tensor, _ layer: Layer, lengths: [Int]) throws -> Tensor {
        let h = config.hiddenSize, heads = config.heads, d = h / heads
        let q = try LinearAlgebra.linear(x, weight: layer.query, bias: layer.queryBias)
        let k = try LinearAlgebra.linear(x, weight: layer.key, bias: layer.keyBias)
        let v = try LinearAlgebra.linear(x, weight: layer.value, bias: layer.valueBias)
        var context = Tensor(zeros: x.shape)
        let scale = 1 / Float(d).squareRoot()
        // Texts are short (keywords: a few tokens), so attention runs here, one small GEMM pair per
        // head, rather than through the blocked parallel kernel built for 4096-token images.
        q.storage.withUnsafeBufferPointer { qp in
            k.storage.withUnsafeBufferPointer { kp in
                v.storage.withUnsafeBufferPointer { vp in
                    context.storage.withUnsafeMutableBufferPointer { cp in
                        var start = 0
                        for length in lengths {
                            var scores = [Float](repeating: 0, count: length * length)
                            for head in 0..<heads {
                                let offset = start * h + head * d
                                scores.withUnsafeMutableBufferPointer { sp in
                                    // Rows are h apart: treat each head's slice as a strided matrix via lda = h.
                                    for r in 0..<length {
                                        for c in 0..<length {
                                            var dot: Float = 0
                                            for e in 0..<d { dot += qp[offset + r * h + e] * kp[offset + c * h + e] }
                                            sp[r * length + c] = dot * scale
                                        }
                                        let row = sp.baseAddress! + r * length
                                        var maximum = -Float.infinity
                                        for c in 0..<length { maximum = max(maximum, row[c]) }
                                        var sum: Float = 0
                                        for c in 0..<length { row[c] = expf(row[c] - maximum); sum += row[c] }
                                        for c in 0..<length { row[c] /= sum }
                                        for e in 0..<d {
                                            var value: Float = 0
                                            for c in 0..<length { value += row[c] * vp[offset + c * h + e] }
                                            cp[offset + r * h + e] = value
                                        }
                                    }
                                }
                            }
                            start += length
                        }
                    }
                }
            }
        }
        let attention = try Ops.add(try LinearAlgebra.linear(context, weight: layer.output, bias: layer.outputBias), x)
        let normed = try Ops.layerNorm(attention, weight: layer.attentionNorm, bias: layer.attentionNormBias, epsilon: config.layerNormEpsilon)
        let hidden = Ops.gelu(try LinearAlgebra.linear(normed, weight: layer.intermediate, bias: layer.intermediateBias))
        let out = try Ops.add(try LinearAlgebra.linear(hidden, weight: layer.down, bias: layer.downBias), normed)
        return try Ops.layerNorm(out, weight: layer.outputNorm, bias: layer.outputNormBias, epsilon: config.layerNormEpsilon)
    }
}
