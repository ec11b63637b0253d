/// A prompt as A1111 feeds it to a CLIP tower (its TextConditionalModel.tokenize_line): each
/// parsed piece tokenized on its own, 75 tokens a chunk with the start and end tokens around
/// them and end tokens as padding; a chunk that fills up in the middle of words moves the words
/// after its last comma (up to 20 tokens back) to the next one; BREAK closes a chunk. Long
/// prompts are therefore never cut off: each chunk is encoded and the states are joined.
public struct PromptChunk: Equatable, Sendable {
    /// 77 token ids.
    public var ids: [Int]
    /// 77 emphasis factors (1 for the start, end and padding tokens).
    public var weights: [Float]
    /// Textual inversions: (index after the start token where its vectors go, which embedding).
    public var embeddings: [Placement] = []

    public struct Placement: Equatable, Sendable {
        public var offset: Int
        public var embedding: Int
    }
}

/// An embedding as the chunker looks for it: its name's tokens and how many vectors it puts in.
public struct EmbeddingTokens: Sendable {
    public var ids: [Int]
    public var vectors: Int

    public init(ids: [Int], vectors: Int) {
        self.ids = ids
        self.vectors = vectors
    }
}

public enum PromptChunks {
    public static let length = 75
    /// A1111's "prompt word wrap length limit" (comma_padding_backtrack), 20 by default.
    public static let commaBacktrack = 20

    /// `embeddings`: the textual inversions a prompt may name. Where a piece's tokens spell one's
    /// name (the longest first), its vectors take that many placeholder tokens (id 0, as in
    /// A1111), moved whole to the next chunk when they do not fit.
    public static func make(_ pieces: [PromptAttention.Piece], tokenizer: CLIPTokenizer, embeddings: [EmbeddingTokens] = []) -> [PromptChunk] {
        let comma = tokenizer.vocabulary[",</w>"]
        let lookup = embeddings.indices.filter { !embeddings[$0].ids.isEmpty }.sorted { embeddings[$0].ids.count > embeddings[$1].ids.count }
        var chunks: [PromptChunk] = []
        var ids: [Int] = [], weights: [Float] = [], placements: [PromptChunk.Placement] = [], lastComma = -1
        func close() {
            let padding = length - ids.count
            chunks.append(PromptChunk(ids: [tokenizer.startToken] + ids + Array(repeating: tokenizer.endToken, count: padding + 1),
                                      weights: [1] + weights + Array(repeating: 1, count: padding + 1), embeddings: placements))
            (ids, weights, placements, lastComma) = ([], [], [], -1)
        }
        for piece in pieces {
            guard case let .text(text, weight) = piece else { close(); continue }
            let tokens = tokenizer.tokenIDs(text)
            var position = 0
            while position < tokens.count {
                let token = tokens[position]
                if token == comma {
                    lastComma = ids.count
                } else if ids.count == length, lastComma != -1, ids.count - lastComma <= commaBacktrack {
                    let (movedIDs, movedWeights) = (Array(ids[(lastComma + 1)...]), Array(weights[(lastComma + 1)...]))
                    ids.removeSubrange((lastComma + 1)...)
                    weights.removeSubrange((lastComma + 1)...)
                    close()
                    (ids, weights) = (movedIDs, movedWeights)
                }
                if ids.count == length { close() }
                let match = lookup.first { index in
                    let name = embeddings[index].ids
                    return position + name.count <= tokens.count && Array(tokens[position..<(position + name.count)]) == name
                }
                guard let match else {
                    ids.append(token)
                    weights.append(Float(weight))
                    position += 1
                    continue
                }
                let count = embeddings[match].vectors
                if ids.count + count > length { close() }
                placements.append(.init(offset: ids.count, embedding: match))
                ids += Array(repeating: 0, count: count)
                weights += Array(repeating: Float(weight), count: count)
                position += embeddings[match].ids.count
            }
        }
        if !ids.isEmpty || chunks.isEmpty { close() }
        return chunks
    }

    /// The ids a tower reads: where its padding token is not the end token (SD 2.x, SDXL's second
    /// tower), everything after the first end token is padding (A1111's process_tokens).
    public static func towerIDs(_ chunk: PromptChunk, tokenizer: CLIPTokenizer) -> [Int] {
        guard tokenizer.padToken != tokenizer.endToken, let end = chunk.ids.firstIndex(of: tokenizer.endToken) else { return chunk.ids }
        return Array(chunk.ids[...end]) + Array(repeating: tokenizer.padToken, count: chunk.ids.count - end - 1)
    }
}
