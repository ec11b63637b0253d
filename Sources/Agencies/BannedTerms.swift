import Foundation
import Metadata

/// Finds terms from editable lists (presets/banned/*.txt) in the text an agency reads: title,
/// description, keywords and, for generated images, the prompt. Whole words or phrases only,
/// ignoring case and accents ("Nike" matches "nike shoes", not "Nikesha").
public struct TermList: Sendable, Equatable {
    public enum Place: String, Sendable, CaseIterable { case title, description, keywords, prompt }
    public var terms: [String]
    public var places: Set<Place>

    /// Reads a list file: terms one per line, `#` comments, an optional `# applies to:` line.
    public init(text: String) {
        var places: Set<Place> = [.title, .description, .keywords]
        var terms: [String] = []
        for line in text.components(separatedBy: .newlines).map({ $0.trimmingCharacters(in: .whitespaces) }) where !line.isEmpty {
            if line.hasPrefix("#") {
                if let range = line.range(of: "applies to:") {
                    places = Set(line[range.upperBound...].split(separator: ",").compactMap { Place(rawValue: $0.trimmingCharacters(in: .whitespaces)) })
                }
                continue
            }
            terms.append(line)
        }
        self.terms = terms
        self.places = places
    }
}

enum BannedTerms {
    static func find(in metadata: StockMetadata, lists: [(name: String, list: TermList)]) -> [String] {
        var places: [(place: TermList.Place, label: String, text: String)] = []
        if let title = metadata.title { places.append((.title, "the title", title)) }
        if let description = metadata.description { places.append((.description, "the description", description)) }
        for keyword in metadata.keywords { places.append((.keywords, "the keyword \"\(keyword)\"", keyword)) }
        if let prompt = metadata.generation?.prompt ?? metadata.aiPrompt { places.append((.prompt, "the prompt", prompt)) }
        let normalizedPlaces = places.map { ($0.place, $0.label, normalized($0.text)) }
        var findings: [String] = []
        for (name, list) in lists {
            for term in list.terms {
                let needle = normalized(term)
                guard needle != " " else { continue }
                let hits = normalizedPlaces.filter { list.places.contains($0.0) && $0.2.contains(needle) }.map(\.1)
                if !hits.isEmpty {
                    findings.append("\"\(term)\" (list \(name)) appears in \(hits.joined(separator: ", "))")
                }
            }
        }
        return findings
    }

    /// Lower case, accents removed, every run of non-alphanumerics one space, padded with spaces.
    static func normalized(_ text: String) -> String {
        let folded = text.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil).lowercased()
        var out = " "
        for character in folded {
            if character.isLetter || character.isNumber { out.append(character) } else if out.last != " " { out.append(" ") }
        }
        if out.last != " " { out.append(" ") }
        return out
    }
}
