import AtomicFiles
import Foundation
import Metadata
import Yams

/// The data the extractor reads from presets/keywords/ (see its README): boilerplate phrases,
/// stop words, weak words and related concepts.
public struct KeywordVocabulary: Sendable {
    /// Normalised phrases, longest first, so "8k uhd" goes before "8k".
    public let boilerplate: [String]
    public let stopwords: Set<String>
    public let weakWords: Set<String>
    /// Never keywords, alone or in a free phrase ("seen", "many"): filler-words.txt.
    public let fillerWords: Set<String>
    public let concepts: [String: [String]]
    /// -ing words that are nouns ("morning", "building"); other -ing words are verbs.
    public let ingNouns: Set<String>
    public let wordForms: WordForms
    /// Fixed multi-word terms ("wind turbine", "copy space"), normalised, hyphens as spaces: kept whole.
    public let compounds: Set<String>

    public init(folder: String) throws {
        func lines(_ name: String) throws -> [String] {
            guard let text = RegularFile.text(atPath: folder + "/" + name) else {
                throw KeywordingError.modelFiles(path: folder + "/" + name, reason: "missing (presets/keywords/ ships it)")
            }
            return text.components(separatedBy: .newlines).map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
                .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        }
        boilerplate = try lines("boilerplate.txt").sorted { $0.count > $1.count }
        stopwords = Set(try lines("stopwords.txt"))
        weakWords = Set(try lines("weak-words.txt"))
        fillerWords = Set(try lines("filler-words.txt"))
        ingNouns = Set(try lines("ing-nouns.txt"))
        var exceptions: [String: String] = [:]
        for line in try lines("plurals.txt") {
            let pair = line.split(separator: " ")
            if pair.count == 2 { exceptions[String(pair[0])] = String(pair[1]) }
        }
        let forms = WordForms(exceptions: exceptions)
        wordForms = forms
        compounds = Set(try (lines("compounds.txt") + lines("stock-compounds.txt")).map { Self.compoundKey($0, forms: forms) })
        let path = folder + "/concepts.yaml"
        guard let text = RegularFile.text(atPath: path) else {
            throw KeywordingError.modelFiles(path: path, reason: "missing (presets/keywords/ ships it)")
        }
        do { concepts = try YAMLDecoder().decode([String: [String]].self, from: text) } catch {
            throw KeywordingError.modelFiles(path: path, reason: "not a mapping of word to a list of concepts: \(error)")
        }
    }
}

extension KeywordVocabulary {
    /// How a phrase is looked up among the compounds: normalised, hyphens as spaces ("hot-air balloon" = "hot air balloon").
    static func compoundKey(_ phrase: String, forms: WordForms) -> String {
        forms.normalized(phrase.replacingOccurrences(of: "-", with: " "))
    }

    public func isCompound(_ phrase: String) -> Bool { compounds.contains(Self.compoundKey(phrase, forms: wordForms)) }
}
