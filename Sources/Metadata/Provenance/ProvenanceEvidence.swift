import Foundation

/// One sign, found in a file, of how the image was made.
public struct ProvenanceEvidence: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        case digitalSourceType = "iptc-digital-source-type"
        case iptcAIFields = "iptc-ai-fields"
        case a1111Parameters = "a1111-parameters"
        case comfyUI = "comfyui"
        case invokeAI = "invokeai"
        case fooocus
        case novelAI = "novelai"
        case drawThings = "drawthings"
        case stockwerk
        case c2pa
    }

    public var kind: Kind
    /// The tool or standard the evidence comes from ("AUTOMATIC1111 / Forge / SD.Next", "ComfyUI", "IPTC 2025.1").
    public var tool: String
    /// Where in the file: "PNG tEXt chunk `parameters`", "EXIF UserComment", "XMP Iptc4xmpExt:AISystemUsed".
    public var location: String
    /// The first words of what was found there, on one line.
    public var excerpt: String
    /// Whether it proves the image is AI-generated (a declared non-AI source type does not).
    public var indicatesAI: Bool
    /// C2PA only: whether the manifest's signature was validated (Stockwerk does not validate it).
    public var verified: Bool?

    /// "PNG tEXt chunk `parameters` (AUTOMATIC1111 / Forge / SD.Next): "a red fox in…""
    public var description: String {
        "\(location) (\(tool)\(verified == false ? ", signature unverified" : "")): \"\(excerpt)\""
    }

    public static func excerpt(_ text: String, limit: Int = 80) -> String {
        let line = text.split(whereSeparator: \.isNewline).joined(separator: " ").trimmingCharacters(in: .whitespaces)
        return line.count > limit ? String(line.prefix(limit)) + "…" : line
    }
}

/// Everything a file says about its origin: the evidence found, and what the generator recorded
/// (prompt, model, parameters) where it recorded it.
public struct Provenance: Codable, Sendable, Equatable {
    public var evidence: [ProvenanceEvidence] = []
    public var prompt: String?
    public var negativePrompt: String?
    /// The checkpoint or model the generator names.
    public var model: String?
    /// The generating tool's name, for IPTC AI System Used when no model is named.
    public var tool: String?
    /// A1111-style parameters, complete enough for `stockwerk rerun`, where the file has them.
    public var generation: GenerationParameters?
    /// The IPTC source type the evidence declares (C2PA or XMP), if any.
    public var declaredSourceType: DigitalSourceType?
    /// Evidence that could not be read (malformed, oversized, invalid text), said plainly.
    public var warnings: [String] = []

    public init() {}

    /// Definitive evidence that the image is AI-generated.
    public var aiEvidence: [ProvenanceEvidence] { evidence.filter(\.indicatesAI) }
    public var isAI: Bool { !aiEvidence.isEmpty }

    /// The source type an AI image should be labelled with: the declared one, else a pure AI image.
    public var aiSourceType: DigitalSourceType {
        declaredSourceType?.isGenerativeAI == true ? declaredSourceType! : .trainedAlgorithmicMedia
    }

    /// For IPTC AI System Used: the model named in the parameters, else the tool.
    public var aiSystem: String? { model ?? tool }

    mutating func add(_ evidence: ProvenanceEvidence, prompt: String? = nil, negativePrompt: String? = nil, model: String? = nil,
                      generation: GenerationParameters? = nil) {
        self.evidence.append(evidence)
        if self.prompt == nil, let prompt, !prompt.isEmpty { self.prompt = prompt }
        if self.negativePrompt == nil, let negativePrompt, !negativePrompt.isEmpty { self.negativePrompt = negativePrompt }
        if self.model == nil, let model, !model.isEmpty { self.model = model }
        if tool == nil, evidence.indicatesAI, evidence.kind != .digitalSourceType, evidence.kind != .iptcAIFields { tool = evidence.tool }
        if self.generation == nil { self.generation = generation }
    }
}
