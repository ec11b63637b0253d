import Foundation

/// The text tower's shape, read from a model folder's config.json (transformers' CLIPTextConfig).
public struct CLIPTextConfig: Decodable, Sendable, Equatable {
    public enum Activation: String, Decodable, Sendable { case quickGELU = "quick_gelu", gelu }

    public var vocabSize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layers: Int
    public var heads: Int
    public var maxPositions: Int
    public var activation: Activation
    public var layerNormEpsilon: Float
    public var eosTokenID: Int

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
        case layers = "num_hidden_layers", heads = "num_attention_heads", maxPositions = "max_position_embeddings"
        case activation = "hidden_act", layerNormEpsilon = "layer_norm_eps", eosTokenID = "eos_token_id"
    }

    public init(vocabSize: Int, hiddenSize: Int, intermediateSize: Int, layers: Int, heads: Int, maxPositions: Int,
                activation: Activation, layerNormEpsilon: Float = 1e-5, eosTokenID: Int = 49407) {
        self.vocabSize = vocabSize; self.hiddenSize = hiddenSize; self.intermediateSize = intermediateSize
        self.layers = layers; self.heads = heads; self.maxPositions = maxPositions; self.activation = activation
        self.layerNormEpsilon = layerNormEpsilon; self.eosTokenID = eosTokenID
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        vocabSize = try c.decode(Int.self, forKey: .vocabSize)
        hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
        intermediateSize = try c.decode(Int.self, forKey: .intermediateSize)
        layers = try c.decode(Int.self, forKey: .layers)
        heads = try c.decode(Int.self, forKey: .heads)
        maxPositions = try c.decodeIfPresent(Int.self, forKey: .maxPositions) ?? 77
        activation = try c.decodeIfPresent(Activation.self, forKey: .activation) ?? .quickGELU
        layerNormEpsilon = try c.decodeIfPresent(Float.self, forKey: .layerNormEpsilon) ?? 1e-5
        eosTokenID = try c.decodeIfPresent(Int.self, forKey: .eosTokenID) ?? 49407
        try ConfigCheck.check(problem)
    }

    /// SD 1.x: OpenAI CLIP ViT-L/14 text tower.
    public static let sd1 = CLIPTextConfig(vocabSize: 49408, hiddenSize: 768, intermediateSize: 3072, layers: 12, heads: 12,
                                           maxPositions: 77, activation: .quickGELU)
}
