import Foundation

/// A phrase that may become a keyword, and where it came from (which decides its bonus or penalty).
struct KeywordCandidate: Equatable {
    enum Kind: Equatable {
        /// One word of the text, or a keyword the file already has.
        case statedWord
        /// A fixed multi-word term of the text ("wind turbine"): one keyword, like a word.
        case compound
        /// Two neighbouring words that are not a fixed term ("red bicycle"): kept for the tail.
        case freePhrase
        /// A related concept, or a word of the file name: not stated, so ranked lower.
        case inferred
    }
    var text: String
    var kind: Kind
    /// From the first phrase of the text, which usually names the subject.
    var lead: Bool
    /// A word the text uses only inside a fixed term ("turbine" of "wind turbine"): the term says it.
    var onlyInCompound: Bool = false
}

extension Keyworder {
    /// Candidates from the cleaned text chunks: words, fixed terms of two or three words (three may
    /// hold a function word: "working from home"), other pairs of content words, in text order.
    func textCandidates(_ chunks: [String]) -> [KeywordCandidate] {
        var found: [KeywordCandidate] = []
        var wordUses: [String: (all: Int, inCompound: Int)] = [:]
        for (index, chunk) in chunks.enumerated() {
            let words = chunk.split(separator: " ").map(String.init)
            var coveredUntil = 0  // words before this index belong to a fixed term already found
            for i in words.indices {
                let word = words[i]
                var inCompound = i < coveredUntil
                for length in [3, 2] where i + length <= words.count && i + length > coveredUntil {
                    let span = words[i..<(i + length)]
                    guard isContent(span.first!), isContent(span.last!), vocabulary.isCompound(span.joined(separator: " ")) else { continue }
                    found.append(KeywordCandidate(text: span.joined(separator: " "), kind: .compound, lead: index == 0))
                    coveredUntil = i + length
                    inCompound = true
                    break
                }
                if isContent(word) && !vocabulary.weakWords.contains(word) && !vocabulary.fillerWords.contains(word) && word.count >= 3 {
                    found.append(KeywordCandidate(text: word, kind: .statedWord, lead: index == 0))
                    let key = vocabulary.wordForms.normalized(word)
                    wordUses[key, default: (0, 0)].all += 1
                    if inCompound { wordUses[key, default: (0, 0)].inCompound += 1 }
                }
                if i + 1 < words.count, i + 1 >= coveredUntil, isPhraseWord(word), isPhraseWord(words[i + 1]),
                   i + 2 == words.count || !isPhraseWord(words[i + 2]) {
                    // English noun phrases end in their noun: a pair is the last two words of a run
                    // ("café table" of "rustic wooden café table"), never "rustic wooden".
                    found.append(KeywordCandidate(text: word + " " + words[i + 1], kind: .freePhrase, lead: index == 0))
                }
            }
        }
        for i in found.indices where found[i].kind == .statedWord {
            if let uses = wordUses[vocabulary.wordForms.normalized(found[i].text)], uses.all == uses.inCompound { found[i].onlyInCompound = true }
        }
        return found
    }

    /// A word that can stand in a free two-word phrase: content, not a verb form, not filler.
    func isPhraseWord(_ word: String) -> Bool { isContent(word) && !isVerbForm(word) && !vocabulary.fillerWords.contains(word) }
}
