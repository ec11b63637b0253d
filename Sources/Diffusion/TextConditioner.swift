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
    /// What cross-attention reads: [1, 77, width].
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
    }

    /// The width of `context`: the sum of the towers' widths.
    public var contextWidth: Int { towers.reduce(0) { $0 + $1.encoder.config.hiddenSize } }
    /// The width of `pooled` (SDXL), nil when the model takes none.
    public var pooledWidth: Int? { style == .sdxl ? towers.last?.encoder.projection?.outputs : nil }

    public func encode(_ text: String) throws -> PromptConditioning {
        let outputs = try towers.map { try $0.encoder.encode($0.tokenizer.encode(text)) }
        let backend = towers[0].encoder.backend
        switch style {
        case .lastHiddenState:
            let states = outputs[0].lastHiddenState
            return PromptConditioning(context: try states.reshaped([1] + states.shape), pooled: nil)
        case .sdxl:
            let states = try backend.concat(outputs.map(\.penultimateHiddenState), axis: 1)
            let pooled = outputs[outputs.count - 1].pooled
            let projected = try towers[towers.count - 1].encoder.projection!(try pooled.reshaped([1, pooled.count]))
            return PromptConditioning(context: try states.reshaped([1] + states.shape), pooled: projected)
        }
    }

    /// The unconditional half of a guided batch for `text` (empty: no negative prompt).
    public func negative(_ text: String, like positive: PromptConditioning) throws -> PromptConditioning {
        guard text.isEmpty, zerosForEmptyNegative else { return try encode(text) }
        let backend = positive.context.backend
        func zeros(_ x: Tensor) -> Tensor { backend.tensor([Float](repeating: 0, count: x.count), shape: x.shape) }
        return PromptConditioning(context: zeros(positive.context), pooled: positive.pooled.map(zeros))
    }
}
