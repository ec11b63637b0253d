import Neural

/// One CLIP text tower with the tokenizer that feeds it.
public struct TextTower: Sendable {
    public let tokenizer: CLIPTokenizer
    public let encoder: CLIPTextEncoder

    public init(tokenizer: CLIPTokenizer, encoder: CLIPTextEncoder) {
        self.tokenizer = tokenizer
        self.encoder = encoder
    }
}

/// A prompt as a UNet takes it.
public struct PromptConditioning: Sendable {
    /// What cross-attention reads: [1, 77·chunks, width].
    public var context: Tensor
    /// SDXL: the last tower's projected pooled state, [1, width].
    public var pooled: Tensor?
}

/// How a model turns prompts into conditioning. SD 1.x/2.x read their one tower's last hidden
/// state. SDXL reads each tower's penultimate hidden state, side by side along the width, and the
/// last tower's pooled state through its projection (diffusers' StableDiffusionXLPipeline
/// .encode_prompt; the refiner has only the second tower).
public struct TextConditioner: Sendable {
    public enum Style: String, Sendable { case lastHiddenState, sdxl }

    public let towers: [TextTower]
    public let style: Style
    /// SDXL pipelines' force_zeros_for_empty_prompt: with no negative prompt, the unconditional
    /// half of a guided batch is zeros rather than the encoded empty text.
    public let zerosForEmptyNegative: Bool
    /// Textual inversions prompts may name.
    public internal(set) var embeddings: [TextualInversion]

    public init(towers: [TextTower], style: Style, zerosForEmptyNegative: Bool = false, path: String) throws {
        switch style {
        case .lastHiddenState:
            guard towers.count == 1 else { throw DiffusionError.modelFiles(path: path, reason: "SD 1.x/2.x models have one text encoder, this has \(towers.count)") }
        case .sdxl:
            guard !towers.isEmpty, towers.last?.encoder.projection != nil else {
                throw DiffusionError.modelFiles(path: path, reason: "an SDXL model's last text encoder needs its text_projection (CLIPTextModelWithProjection)")
            }
        }
        self.towers = towers
        self.style = style
        self.zerosForEmptyNegative = zerosForEmptyNegative
        embeddings = []
    }

    /// SD 1.x's OpenAI CLIP tower (quick-GELU) is the one A1111's Clip skip changes.
    public var appliesClipSkip: Bool { style == .lastHiddenState && towers.first?.encoder.config.activation == .quickGELU }

    /// The width of `context`: the sum of the towers' widths.
    public var contextWidth: Int { towers.reduce(0) { $0 + $1.encoder.config.hiddenSize } }
    /// The width of `pooled` (SDXL), nil when the model takes none.
    public var pooledWidth: Int? { style == .sdxl ? towers.last?.encoder.projection?.outputs : nil }

    /// The prompt read as A1111 reads it (PromptAttention): emphasis, BREAK, and any length in
    /// chunks of 75 tokens, each encoded on its own, weighted, and joined along the tokens. A
    /// plain prompt of up to 75 tokens gives exactly what diffusers gives.
    /// `clipSkip`: A1111's Clip skip, which it applies to SD 1.x's CLIP ViT-L only (its SD 2.x and
    /// SDXL towers ignore it): the states of the layer that many from the end, then the final norm.
    public func encode(_ text: String, clipSkip: Int = 1) throws -> PromptConditioning {
        let pieces = PromptAttention.parse(text)
        let skip = appliesClipSkip ? clipSkip - 1 : 0
        let backend = towers[0].encoder.backend
        var perTower: [Tensor] = [], pooled: Tensor?
        for (index, tower) in towers.enumerated() {
            // The embeddings this tower has vectors for (an SD 1.x embedding has none for SDXL).
            let usable = embeddings.compactMap { e in e.vectors(tower: index, of: towers.count, width: tower.encoder.config.hiddenSize).map { (e, $0) } }
            let names = usable.map { EmbeddingTokens(ids: tower.tokenizer.tokenIDs($0.0.name), vectors: $0.1.shape[0]) }
            var states: [Tensor] = []
            for (number, chunk) in PromptChunks.make(pieces, tokenizer: tower.tokenizer, embeddings: names).enumerated() {
                let output = try tower.encoder.encode(PromptChunks.towerIDs(chunk, tokenizer: tower.tokenizer),
                                                      replacing: chunk.embeddings.map { ($0.offset + 1, usable[$0.embedding].1) }, skipLast: skip)
                if style == .sdxl, index == towers.count - 1, number == 0 {
                    // The pooled embeds come from the first chunk, before any emphasis (as in A1111).
                    pooled = try tower.encoder.projection!(try output.pooled.reshaped([1, output.pooled.count]))
                }
                states.append(try Self.emphasise(style == .sdxl ? output.penultimateHiddenState : output.lastHiddenState, chunk.weights))
            }
            perTower.append(states.count == 1 ? states[0] : try backend.concat(states, axis: 0))
        }
        guard Set(perTower.map { $0.shape[0] }).count == 1 else {
            throw DiffusionError.request("the text encoders split the prompt into different numbers of 75-token chunks; shorten the prompt")
        }
        let context = perTower.count == 1 ? perTower[0] : try backend.concat(perTower, axis: 1)
        return PromptConditioning(context: try context.reshaped([1] + context.shape), pooled: pooled)
    }

    /// A1111's original emphasis: each token's states × its weight, then the whole chunk rescaled
    /// so that its mean is what it was before.
    static func emphasise(_ states: Tensor, _ weights: [Float]) throws -> Tensor {
        guard weights.contains(where: { $0 != 1 }) else { return states }
        let backend = states.backend
        func mean(_ x: Tensor) throws -> Float { Float(try x.host().storage.reduce(0.0) { $0 + Double($1) } / Double(x.count)) }
        let before = try mean(states)
        let weighted = try backend.multiply(states, backend.tensor(weights, shape: [weights.count, 1]))
        return try backend.affine(weighted, scale: before / (try mean(weighted)), offset: 0)
    }

    /// The unconditional half of a guided batch for `text` (empty: no negative prompt).
    public func negative(_ text: String, like positive: PromptConditioning, clipSkip: Int = 1) throws -> PromptConditioning {
        guard text.isEmpty, zerosForEmptyNegative else { return try encode(text, clipSkip: clipSkip) }
        let backend = positive.context.backend
        func zeros(_ x: Tensor) -> Tensor { backend.tensor([Float](repeating: 0, count: x.count), shape: x.shape) }
        return PromptConditioning(context: zeros(positive.context), pooled: positive.pooled.map(zeros))
    }
}
