import Foundation

/// Ranked keywords, a title and a description from what is known about an image: its prompt,
/// its existing title, description and keywords, and its file name.
public struct KeywordSource: Sendable {
    public var prompt: String?
    public var title: String?
    public var description: String?
    public var keywords: [String]
    public var fileName: String?
    /// What the pixels say; its words follow the text's keywords.
    public var analysis: ImageAnalysis?
    public init(prompt: String? = nil, title: String? = nil, description: String? = nil, keywords: [String] = [], fileName: String? = nil,
                analysis: ImageAnalysis? = nil) {
        self.prompt = prompt; self.title = title; self.description = description; self.keywords = keywords; self.fileName = fileName
        self.analysis = analysis
    }
}

public struct KeywordResult: Sendable, Codable, Equatable {
    public var keywords: [String]
    public var title: String
    public var description: String

    /// The text's keywords cut to leave room for the pixels' words, which follow them (they never
    /// hold a banned term).
    public func addingPixelWords(_ pixelWords: [String], limit: Int) -> KeywordResult {
        var keywords = Array(self.keywords.prefix(max(0, limit - pixelWords.count)))
        for word in pixelWords where !keywords.contains(word) && keywords.count < limit { keywords.append(word) }
        return KeywordResult(keywords: keywords, title: title, description: description)
    }
}

/// Candidate phrases from the text (weights syntax and quality boilerplate removed, stop words
/// dropped, plurals folded), widened with related stock concepts, ranked by how close each is to
/// the whole description in sentence-embedding space (plus a bonus for being stated rather than
/// inferred), and de-duplicated by form and by meaning.
public struct Keyworder: Sendable {
    public let vocabulary: KeywordVocabulary
    public let encoder: SentenceEncoder
    /// Terms that must not appear in keywords or titles (presets/banned/).
    public let excludedTerms: ExcludedTerms
    /// Two keywords closer than this (cosine) say the same thing; the lower-ranked one goes.
    public static let duplicateSimilarity: Float = 0.9
    /// How much a stated phrase outranks an inferred concept of the same closeness.
    public static let statedBonus: Float = 0.2
    /// Two words that are not a fixed term ("red bicycle") are two keywords: the pair goes to the tail.
    public static let freePhrasePenalty: Float = 0.6
    /// A word used only inside a fixed term ("turbine" of "wind turbine") follows the term.
    public static let compoundPartPenalty: Float = 0.3

    public init(vocabulary: KeywordVocabulary, encoder: SentenceEncoder, excludedTerms: [String] = []) {
        self.vocabulary = vocabulary
        self.encoder = encoder
        self.excludedTerms = ExcludedTerms(excludedTerms)
    }

    /// Keywords from the text, then the pixels' words (orientation, colours, copy space…) in the
    /// room kept for them at the end of the list.
    public func describe(_ source: KeywordSource, limit: Int = 49) throws -> KeywordResult {
        try describeText(source, limit: limit).addingPixelWords(source.analysis?.keywords ?? [], limit: limit)
    }

    /// Keywords (up to `limit`), title and description from the text alone; `source.analysis` is not read.
    public func describeText(_ source: KeywordSource, limit: Int = 49) throws -> KeywordResult {
        let promptChunks = source.prompt.map(chunks) ?? []
        let descriptionChunks = (source.description.map(chunks) ?? []) + (source.title.map(chunks) ?? [])
        // Excluded names go before anything is made of the text ("greg" must not outlive "greg rutkowski").
        let textChunks = (promptChunks + descriptionChunks).map(excludedTerms.removed).filter { !$0.isEmpty }
        var allChunks = textChunks
        // Without any text, the file's name says what to rank keywords against ("hubble_deep_field.jpg"),
        // but it never becomes the title or the description ("IMG 0042", "Comfy"): none is better.
        let fileNameOnly = textChunks.isEmpty && source.keywords.isEmpty
        if fileNameOnly, let name = source.fileName {
            let words = fileNameWords(name).joined(separator: " ")
            if !words.isEmpty { allChunks = [words] }
        }
        var candidates: [KeywordCandidate] = []
        var seen = Set<String>()
        func add(_ candidate: KeywordCandidate) {
            let key = vocabulary.wordForms.normalized(candidate.text)
            guard !key.isEmpty, !excludedTerms.occur(in: candidate.text), !excludedTerms.occur(in: key), seen.insert(key).inserted else { return }
            var normalized = candidate
            normalized.text = key
            candidates.append(normalized)
        }
        // The file's own keywords were chosen by a person: stated, whatever their length.
        for keyword in source.keywords { add(KeywordCandidate(text: keyword.trimmingCharacters(in: .whitespaces), kind: .statedWord, lead: false)) }
        textCandidates(allChunks).forEach(add)
        // A file name's words are keywords only when nothing else describes the image ("chelsea" of
        // "chelsea-cat.jpg" next to a description is a name, not a subject).
        if fileNameOnly, let name = source.fileName {
            for word in fileNameWords(name) where isContent(word) && word.count >= 3 { add(KeywordCandidate(text: word, kind: .inferred, lead: false)) }
        }
        for candidate in candidates where candidate.kind == .statedWord || candidate.kind == .compound {
            for concept in vocabulary.concepts[candidate.text] ?? [] { add(KeywordCandidate(text: concept, kind: .inferred, lead: false)) }
        }
        let document = allChunks.joined(separator: ", ")
        guard !candidates.isEmpty, !document.isEmpty || !source.keywords.isEmpty else {
            return KeywordResult(keywords: [], title: "", description: "")
        }
        let embeddings = try encoder.encode([document.isEmpty ? source.keywords.joined(separator: ", ") : document] + candidates.map(\.text))
        let documentVector = embeddings[0]
        var scored: [(text: String, score: Float, vector: [Float])] = []
        for (candidate, vector) in zip(candidates, embeddings.dropFirst()) {
            let score = dot(vector, documentVector) + bonus(candidate)
            scored.append((candidate.text, score, vector))
        }
        scored.sort { $0.score > $1.score }
        // Greedy in score order, so the first n chosen for any limit are the same n.
        var chosen: [(text: String, vector: [Float])] = []
        for item in scored where chosen.count < limit {
            if chosen.contains(where: { dot($0.vector, item.vector) > Self.duplicateSimilarity }) { continue }
            chosen.append((item.text, item.vector))
        }
        // A stated keyword with a banned term was never a candidate.
        return KeywordResult(keywords: chosen.map(\.text), title: title(source, chunks: textChunks), description: caption(textChunks))
    }

    /// What a candidate's origin adds to its closeness to the whole text.
    func bonus(_ candidate: KeywordCandidate) -> Float {
        var bonus: Float = candidate.lead ? 0.05 : 0
        switch candidate.kind {
        case .statedWord, .compound: bonus += Self.statedBonus
        case .freePhrase: bonus += Self.statedBonus - Self.freePhrasePenalty
        case .inferred: break
        }
        return bonus - (candidate.onlyInCompound ? Self.compoundPartPenalty : 0)
    }

    /// The plain baseline the evaluation compares with: the prompt's words minus stop words, in order.
    public func baseline(_ prompt: String) -> [String] {
        var seen = Set<String>()
        return prompt.lowercased().split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map(String.init)
            .filter { !vocabulary.stopwords.contains($0) && seen.insert($0).inserted }
    }

    /// Lower-cased phrases between commas, semicolons and full stops, with weights syntax
    /// ("(word:1.2)", "[word]", "<lora:…>") and boilerplate removed.
    func chunks(_ text: String) -> [String] {
        var cleaned = text.lowercased()
        cleaned = cleaned.replacingOccurrences(of: #"<[^>]*>"#, with: " ", options: .regularExpression)
        cleaned = cleaned.replacingOccurrences(of: #":\s*[0-9.]+\s*\)"#, with: ")", options: .regularExpression)
        cleaned = cleaned.replacingOccurrences(of: #"[()\[\]{}]"#, with: " ", options: .regularExpression)
        var chunks: [String] = []
        for part in cleaned.components(separatedBy: CharacterSet(charactersIn: ",;.|\n")) {
            var words = " " + part.split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == "-" || $0 == "'") }).joined(separator: " ") + " "
            for phrase in vocabulary.boilerplate { words = words.replacingOccurrences(of: " \(phrase) ", with: " ") }
            // Camera and resolution settings ("85mm", "8k", "1080p") describe the capture, not the picture.
            words = words.replacingOccurrences(of: #"(?<= )[0-9]+(mm|k|p|fps)(?= )"#, with: "", options: .regularExpression)
            let chunk = words.split(separator: " ").joined(separator: " ")
            if !chunk.isEmpty { chunks.append(chunk) }
        }
        return chunks
    }

    /// Not a function word, and made of letters (camera settings like "85mm" or "f/2.8" are not keywords).
    func isContent(_ word: String) -> Bool {
        !vocabulary.stopwords.contains(word) && word.contains(where: \.isLetter) && !word.contains(where: \.isNumber)
    }

    /// An -ing word that is not a known noun: "shaking hands" is an action, not a keyword phrase.
    func isVerbForm(_ word: String) -> Bool { word.hasSuffix("ing") && word.count > 4 && !vocabulary.ingNouns.contains(word) }

    func fileNameWords(_ name: String) -> [String] {
        let stem = (name as NSString).deletingPathExtension.lowercased()
        return stem.split(whereSeparator: { !$0.isLetter }).map(String.init)
    }

    /// The existing title, else the first phrase of the text: sentence case, no commas, ≤ 70 characters.
    func title(_ source: KeywordSource, chunks: [String]) -> String {
        let base = excludedTerms.removed(from: source.title ?? chunks.first ?? "")
        return Self.sentenceCase(Self.cut(base.replacingOccurrences(of: ",", with: ""), limit: 70))
    }

    /// The phrases as one sentence, ≤ 200 characters.
    func caption(_ chunks: [String]) -> String {
        guard !chunks.isEmpty else { return "" }
        let text = Self.cut(excludedTerms.removed(from: chunks.joined(separator: ", ")), limit: 199)
        return Self.sentenceCase(text) + "."
    }

    static func cut(_ text: String, limit: Int) -> String {
        guard text.count > limit else { return text }
        let prefix = text.prefix(limit)
        return String(prefix.lastIndex(of: " ").map { prefix[..<$0] } ?? prefix).trimmingCharacters(in: CharacterSet(charactersIn: " ,"))
    }

    static func sentenceCase(_ text: String) -> String { text.prefix(1).uppercased() + text.dropFirst() }

    func dot(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
}
