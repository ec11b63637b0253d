import AtomicFiles
import Foundation
import Metadata

/// Scores keyword lists against an editor's lists (Tests/Fixtures/keywording/evaluation.json):
/// precision@10 (how many of the first ten are the editor's) and recall@25 (how many of the
/// editor's are in the first twenty-five), compared as lower-case singular phrases.
public enum KeywordEvaluation {
    public struct Case: Codable, Sendable {
        public var text: String
        public var keywords: [String]
    }

    public struct Scores: Sendable, Equatable {
        public var precisionAt10: Double
        public var recallAt25: Double
    }

    public static func load(_ path: String) throws -> [Case] {
        guard let data = RegularFile.contents(atPath: path) else {
            throw KeywordingError.modelFiles(path: path, reason: "missing")
        }
        return try JSONDecoder().decode([Case].self, from: data)
    }

    public static func score(_ ranked: [[String]], against cases: [Case], forms: WordForms) -> Scores {
        var precision = 0.0, recall = 0.0
        for (keywords, item) in zip(ranked, cases) {
            let gold = Set(item.keywords.map(forms.normalized))
            let normalized = keywords.map(forms.normalized)
            precision += Double(normalized.prefix(10).filter(gold.contains).count) / 10
            recall += Double(Set(normalized.prefix(25)).intersection(gold).count) / Double(max(1, gold.count))
        }
        let n = Double(max(1, cases.count))
        return Scores(precisionAt10: precision / n, recallAt25: recall / n)
    }

    /// Ours and the baseline (prompt words minus stop words) on every case.
    public static func run(_ cases: [Case], keyworder: Keyworder) throws -> (ours: Scores, baseline: Scores) {
        let ours = try cases.map { try keyworder.describe(KeywordSource(prompt: $0.text)).keywords }
        let baseline = cases.map { keyworder.baseline($0.text) }
        let forms = keyworder.vocabulary.wordForms
        return (score(ours, against: cases, forms: forms), score(baseline, against: cases, forms: forms))
    }
}
