import Foundation

/// Terms that must not appear in keywords, titles or descriptions (brands, artist and real-person
/// names, AI wording, camera terms: presets/banned/), matched as whole words, case-insensitively.
/// Prepared once, so a check costs a few set lookups however long the lists are.
public struct ExcludedTerms: Sendable {
    /// Each term as its words joined by single spaces ("greg rutkowski").
    let phrases: Set<String>
    /// The most words any term has.
    let longest: Int

    public init(_ terms: [String]) {
        let wordLists = terms.map(Self.words).filter { !$0.isEmpty }
        phrases = Set(wordLists.map { $0.joined(separator: " ") })
        longest = wordLists.map(\.count).max() ?? 0
    }

    public var isEmpty: Bool { phrases.isEmpty }

    /// Lower-case runs of letters and digits: "Nike's" → ["nike", "s"], as the terms are split.
    static func words(_ text: String) -> [String] {
        text.lowercased().split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map(String.init)
    }

    /// The length of the term that starts at `index` of `words`, or nil.
    func match(_ words: [String], at index: Int) -> Int? {
        var length = min(longest, words.count - index)
        while length > 0 {
            if phrases.contains(words[index..<(index + length)].joined(separator: " ")) { return length }
            length -= 1
        }
        return nil
    }

    /// Whether `text` holds a term as whole words ("nike" in "nike shoes", not in "nikesha").
    public func occur(in text: String) -> Bool {
        guard !isEmpty else { return false }
        let words = Self.words(text)
        return words.indices.contains { match(words, at: $0) != nil }
    }

    /// `text` (space-separated words) with every term taken out.
    public func removed(from text: String) -> String {
        guard !isEmpty else { return text }
        var kept: [Substring] = []
        let tokens = text.split(separator: " ")
        // Each token's comparable form; a token of punctuation only ("-") compares as nothing.
        let forms = tokens.map { $0.lowercased().filter { $0.isLetter || $0.isNumber } }
        var i = 0
        while i < tokens.count {
            if !forms[i].isEmpty, let length = match(forms, at: i) { i += length; continue }
            kept.append(tokens[i])
            i += 1
        }
        return kept.joined(separator: " ")
    }
}
