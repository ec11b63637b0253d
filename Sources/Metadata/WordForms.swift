import Foundation

/// Word forms: lower case, singular, so "Bicycles" and "bicycle" are one keyword (for the keyworder
/// and for agencies' duplicate-keyword rule).
public struct WordForms: Sendable {
    static let irregular = ["children": "child", "women": "woman", "men": "man", "people": "people", "leaves": "leaf", "mice": "mouse",
                            "geese": "goose", "feet": "foot", "teeth": "tooth", "knives": "knife", "wolves": "wolf", "shelves": "shelf"]
    static let unchanged: Set<String> = ["glasses", "species", "news", "series", "physics", "mathematics", "business", "grass", "glass",
                                         "canvas", "bus", "gas", "lens", "cactus", "virus", "status", "analysis", "christmas", "jeans",
                                         "scissors", "sunglasses", "headphones", "clothes", "stairs", "trousers", "always", "perhaps",
                                         "data", "media", "cosmos", "chaos", "ethos", "pathos", "kudos"]
    /// Plurals the suffix rules get wrong ("tomatoes", "cookies"): presets/keywords/plurals.txt.
    let exceptions: [String: String]

    /// The suffix rules and a few irregular plurals only.
    public static let rulesOnly = WordForms(exceptions: [:])

    public init(exceptions: [String: String]) { self.exceptions = exceptions }

    public func singular(_ word: String) -> String {
        let w = word.lowercased()
        if let form = Self.irregular[w] { return form }
        if Self.unchanged.contains(w) { return w }
        if let form = exceptions[w] { return form }
        if w.count <= 3 || w.hasSuffix("ss") || w.hasSuffix("us") || w.hasSuffix("is") { return w }
        if w.hasSuffix("ies") { return String(w.dropLast(3)) + "y" }
        if w.hasSuffix("ches") || w.hasSuffix("shes") || w.hasSuffix("xes") || w.hasSuffix("sses") || w.hasSuffix("zes") { return String(w.dropLast(2)) }
        if w.hasSuffix("s") && !w.hasSuffix("'s") { return String(w.dropLast()) }
        return w
    }

    /// A keyword phrase in its compared form: words singular, single spaces.
    public func normalized(_ phrase: String) -> String {
        phrase.lowercased().split(whereSeparator: { $0 == " " }).map { singular(String($0)) }.joined(separator: " ")
    }
}
