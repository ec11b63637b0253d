import Foundation

/// IPTC Digital Source Type terms Stockwerk writes (cv.iptc.org/newscodes/digitalsourcetype/).
public enum DigitalSourceType: String, Codable, Sendable, CaseIterable {
    /// Made by a generative model (pure AI image).
    case trainedAlgorithmicMedia
    /// A photo or artwork edited or extended with generative AI.
    case compositeWithTrainedAlgorithmicMedia
    case digitalCapture
    case algorithmicallyEnhanced
    case digitalCreation

    public static let vocabularyPrefix = "http://cv.iptc.org/newscodes/digitalsourcetype/"

    public var uri: String { Self.vocabularyPrefix + rawValue }

    public init?(uri: String) {
        let term = uri.hasPrefix(Self.vocabularyPrefix) ? String(uri.dropFirst(Self.vocabularyPrefix.count)) : uri
        self.init(rawValue: term)
    }

    /// Whether an agency should treat the image as AI-generated content.
    public var isGenerativeAI: Bool {
        self == .trainedAlgorithmicMedia || self == .compositeWithTrainedAlgorithmicMedia
    }
}

/// The descriptive metadata Stockwerk writes, one value per concept, to EXIF, IPTC IIM and XMP.
public struct StockMetadata: Codable, Sendable, Equatable {
    public var title: String?
    public var description: String?
    public var keywords: [String]
    public var creators: [String]
    public var copyright: String?
    public var digitalSourceType: DigitalSourceType?
    /// Written to EXIF Software and XMP CreatorTool.
    public var software: String?
    /// For generated images: how to make them again (XMP stockwerk:Generation, EXIF UserComment).
    public var generation: GenerationParameters?

    public init(title: String? = nil, description: String? = nil, keywords: [String] = [],
                creators: [String] = [], copyright: String? = nil,
                digitalSourceType: DigitalSourceType? = nil, software: String? = nil, generation: GenerationParameters? = nil) {
        self.generation = generation
        self.title = title; self.description = description; self.keywords = keywords
        self.creators = creators; self.copyright = copyright
        self.digitalSourceType = digitalSourceType; self.software = software
    }

    public var isEmpty: Bool {
        title == nil && description == nil && keywords.isEmpty && creators.isEmpty
            && copyright == nil && digitalSourceType == nil
    }

    /// Fills every field that is empty here from `other` (keywords: only when there are none).
    public func filled(from other: StockMetadata) -> StockMetadata {
        var merged = self
        merged.title = title ?? other.title
        merged.description = description ?? other.description
        if keywords.isEmpty { merged.keywords = other.keywords }
        if creators.isEmpty { merged.creators = other.creators }
        merged.copyright = copyright ?? other.copyright
        merged.digitalSourceType = digitalSourceType ?? other.digitalSourceType
        merged.software = software ?? other.software
        merged.generation = generation ?? other.generation
        return merged
    }
}

/// Keyword lists are compared without case; the first spelling wins and order is kept.
public enum Keywords {
    public static func deduplicated(_ keywords: [String]) -> [String] {
        var seen = Set<String>()
        var result: [String] = []
        for keyword in keywords {
            let trimmed = keyword.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty, seen.insert(trimmed.lowercased()).inserted else { continue }
            result.append(trimmed)
        }
        return result
    }

    /// Splits "a, b; c" style text into keywords.
    public static func split(_ text: String) -> [String] {
        deduplicated(text.split(whereSeparator: { $0 == "," || $0 == ";" || $0 == "\n" }).map(String.init))
    }
}

/// A problem met while writing metadata that did not stop the write (e.g. an IIM value cut short).
public struct MetadataWarning: Codable, Sendable, Equatable, CustomStringConvertible {
    public var field: String
    public var message: String
    public var description: String { "\(field): \(message)" }
}
