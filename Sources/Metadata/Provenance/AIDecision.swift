import Foundation

/// Someone's statement that an image is, or is not, AI-generated: a sidecar, the workflow, a flag.
public struct AIDeclaration: Sendable, Equatable {
    public var isAI: Bool
    /// Who said so, as a sentence subject: "its sidecar fox.yaml", "the workflow (import.ai_generated)", "--ai".
    public var by: String

    public init(isAI: Bool, by: String) { self.isAI = isAI; self.by = by }
}

/// Whether an image is AI-generated, and why: the one decision every command shares.
public struct AIStatus: Codable, Sendable, Equatable {
    public var isAI: Bool
    /// Why it counts as AI (for agencies' refusals and reports), or nil.
    public var reason: String?
    /// The definitive evidence in the file.
    public var evidence: [ProvenanceEvidence]
    /// A declaration that lost against the evidence, said plainly ("… says not AI, but …").
    public var overruled: String?

    public init(isAI: Bool = false, reason: String? = nil, evidence: [ProvenanceEvidence] = [], overruled: String? = nil) {
        self.isAI = isAI; self.reason = reason; self.evidence = evidence; self.overruled = overruled
    }
}

public enum AIDecision {
    /// Evidence in the file beats any declaration: a declared "not AI" against evidence is
    /// overruled (and said so); a declared "AI" stands without evidence.
    public static func decide(_ provenance: Provenance, declared: AIDeclaration?) -> AIStatus {
        let evidence = provenance.aiEvidence
        let evidenceText = evidence.first.map { first in
            "it carries AI evidence: \(first.description)" + (evidence.count > 1 ? " (and \(evidence.count - 1) more)" : "")
        }
        switch (declared, evidenceText) {
        case (let declared?, let evidenceText?) where !declared.isAI:
            return AIStatus(isAI: true, reason: evidenceText, evidence: evidence,
                            overruled: "\(declared.by) says it is not AI-generated, but \(evidenceText); it is treated as AI-generated")
        case (_, let evidenceText?):
            return AIStatus(isAI: true, reason: evidenceText, evidence: evidence, overruled: nil)
        case (let declared?, nil) where declared.isAI:
            return AIStatus(isAI: true, reason: "\(declared.by) marks it as AI-generated", evidence: [], overruled: nil)
        default:
            return AIStatus(isAI: false, reason: nil, evidence: [], overruled: nil)
        }
    }
}

extension StockMetadata {
    /// An AI image's disclosure filled in from its evidence where the file lacks it: Digital
    /// Source Type, AI System Used, AI Prompt Information. Unchanged when there is no evidence.
    public func labelled(from provenance: Provenance) -> StockMetadata {
        guard provenance.isAI else { return self }
        var result = self
        if result.digitalSourceType?.isGenerativeAI != true { result.digitalSourceType = provenance.aiSourceType }
        result.aiSystem = result.aiSystem ?? provenance.aiSystem
        result.aiPrompt = result.aiPrompt ?? provenance.prompt
        return result
    }
}
