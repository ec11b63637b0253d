import Foundation

/// CLIP's byte-level BPE tokenizer, as Stable Diffusion uses it: the same ids as transformers'
/// `CLIPTokenizer` (normalisation NFC → whitespace runs to one space → lower case; CLIP's
/// pre-tokenizer pattern; byte-to-unicode mapping; BPE with `</w>` word ends).
public struct CLIPTokenizer: Sendable {
    public static let contextLength = 77
    public static let startText = "<|startoftext|>", endText = "<|endoftext|>"

    let vocabulary: [String: Int]
    let mergeRanks: [String: Int]
    public let startToken: Int
    public let endToken: Int
    /// SD1 pads with the end token; SD2's tokenizer pads with "!" (id 0).
    public let padToken: Int
    /// Start, end and padding tokens by their text, longest first (matched in raw text).
    let specialIDs: [String: Int]
    private let specialsLongestFirst: [(text: String, id: Int)]

    public init(vocabulary: [String: Int], merges: [(String, String)], padToken: String = CLIPTokenizer.endText) throws {
        guard let start = vocabulary[Self.startText], let end = vocabulary[Self.endText] else {
            throw DiffusionError.tokenizerFiles(path: "vocabulary", reason: "the start and end tokens are missing")
        }
        guard let pad = vocabulary[padToken] else {
            throw DiffusionError.tokenizerFiles(path: "vocabulary", reason: "the padding token \"\(padToken)\" is not in the vocabulary")
        }
        self.vocabulary = vocabulary
        var ranks: [String: Int] = [:]
        ranks.reserveCapacity(merges.count)
        for (rank, merge) in merges.enumerated() where ranks[merge.0 + " " + merge.1] == nil {
            ranks[merge.0 + " " + merge.1] = rank
        }
        mergeRanks = ranks
        startToken = start
        endToken = end
        self.padToken = pad
        specialIDs = [Self.startText: start, Self.endText: end].merging([padToken: pad]) { first, _ in first }
        specialsLongestFirst = specialIDs.map { ($0.key, $0.value) }.sorted { $0.text.count > $1.text.count }
    }

    /// Ids for the text encoder: start token, up to 75 tokens, end token, padding to 77.
    public func encode(_ text: String) -> [Int] {
        let content = tokenIDs(text).prefix(Self.contextLength - 2)
        var ids = [startToken] + content + [endToken]
        ids += Array(repeating: padToken, count: Self.contextLength - ids.count)
        return ids
    }

    /// The tokens of `text` without start, end, truncation or padding. Special tokens written in
    /// the text (the start, end and padding tokens, so "!" for SD2) are cut out of the raw text
    /// first, as transformers does with added tokens; the pieces between them are tokenized apart.
    public func tokenIDs(_ text: String) -> [Int] {
        var ids: [Int] = []
        for segment in splitOnSpecialTokens(text) {
            switch segment {
            case .special(let id): ids.append(id)
            case .text(let part):
                for piece in CLIPPreTokenizer.pieces(of: CLIPPreTokenizer.normalize(part)) {
                    if let id = specialIDs[piece] { ids.append(id); continue }
                    for token in bytePairEncode(ByteLevel.encode(piece)) { ids.append(vocabulary[token] ?? endToken) }
                }
            }
        }
        return ids
    }

    enum Segment { case text(String), special(Int) }


    /// Splits raw text at the leftmost (then longest) occurrence of a special token, repeatedly.
    func splitOnSpecialTokens(_ text: String) -> [Segment] {
        var segments: [Segment] = []
        var rest = Substring(text)
        while !rest.isEmpty {
            var best: (range: Range<Substring.Index>, id: Int)?
            for (token, id) in specialsLongestFirst {
                if let range = rest.range(of: token), range.lowerBound < (best?.range.lowerBound ?? rest.endIndex) {
                    best = (range, id)
                }
            }
            guard let found = best else { segments.append(.text(String(rest))); break }
            if found.range.lowerBound > rest.startIndex { segments.append(.text(String(rest[..<found.range.lowerBound]))) }
            segments.append(.special(found.id))
            rest = rest[found.range.upperBound...]
        }
        return segments
    }

    /// Merges adjacent symbols by rank until no known pair is left; the last symbol ends a word.
    func bytePairEncode(_ characters: [String]) -> [String] {
        guard var last = characters.last else { return [] }
        last += "</w>"
        var word = Array(characters.dropLast()) + [last]
        while word.count > 1 {
            var best: (rank: Int, index: Int)?
            for index in 0..<(word.count - 1) {
                if let rank = mergeRanks[word[index] + " " + word[index + 1]], rank < (best?.rank ?? .max) {
                    best = (rank, index)
                }
            }
            guard let chosen = best else { break }
            let first = word[chosen.index], second = word[chosen.index + 1]
            var merged: [String] = []
            merged.reserveCapacity(word.count)
            var index = 0
            while index < word.count {
                if index < word.count - 1, word[index] == first, word[index + 1] == second {
                    merged.append(first + second)
                    index += 2
                } else {
                    merged.append(word[index])
                    index += 1
                }
            }
            word = merged
        }
        return word
    }
}

/// GPT-2/CLIP byte-to-unicode table: every byte gets a printable character, so BPE works on text.
enum ByteLevel {
    static let characters: [String] = {
        let printable = Array(33...126) + Array(161...172) + Array(174...255)
        var table = [String](repeating: "", count: 256)
        for byte in printable { table[byte] = String(UnicodeScalar(UInt8(byte))) }
        var extra = 0
        for byte in 0..<256 where !printable.contains(byte) {
            table[byte] = String(UnicodeScalar(UInt32(256 + extra))!)
            extra += 1
        }
        return table
    }()

    /// The order of the first 256 vocabulary entries (printable bytes first, as CLIP lists them).
    static let vocabularyOrder: [String] = {
        let printable = Array(33...126) + Array(161...172) + Array(174...255)
        let rest = (0..<256).filter { !printable.contains($0) }
        return (printable + rest).map { characters[$0] }
    }()

    static func encode(_ piece: String) -> [String] { piece.utf8.map { characters[Int($0)] } }
}
