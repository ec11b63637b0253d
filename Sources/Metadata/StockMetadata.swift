import Foundation

/// IPTC Digital Source Type terms Stockwerk writes (cv.iptc.org/newscodes/digitalsourcetype/).
public enum DigitalSourceType: String, Codable, Sendable, CaseIterable {
    /// Made by a generative model (pure AI image).
    case trainedAlgorithmicMedia
    /// A photo or artwork edited or extended with generative AI.
    case compositeWithTrainedAlgorithmicMedia
    /// Made by an algorithm without training data (procedural); agencies' AI rules cover it too.
    case algorithmicMedia
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
        self == .trainedAlgorithmicMedia || self == .compositeWithTrainedAlgorithmicMedia || self == .algorithmicMedia
    }
}

/// The descriptive metadata Stockwerk writes, one value per concept, to EXIF, IPTC IIM and XMP.
public struct StockMetadata: Codable, Sendable, Equatable {
    public var title: String?
    public var description: String?
    public var keywords: [String]
    public var creators: [String]
    public var copyright: String?
    /// Who is credited when the image is published (photoshop:Credit, IIM 2:110).
    public var credit: String?
    /// Who holds the original (photoshop:Source, IIM 2:115).
    public var source: String?
    /// Instructions to the publisher, e.g. usage restrictions (photoshop:Instructions, IIM 2:40).
    public var instructions: String?
    public var city: String?
    public var country: String?
    /// When the picture was made: `YYYY-MM-DD` or `YYYY-MM-DDThh:mm:ss` (photoshop:DateCreated,
    /// IIM 2:55/2:60, EXIF DateTimeOriginal).
    public var dateCreated: String?
    public var digitalSourceType: DigitalSourceType?
    /// IPTC 2025.1 AI fields (Iptc4xmpExt:AISystemUsed, AISystemVersionUsed, AIPromptInformation,
    /// AIPromptWriterName).
    public var aiSystem: String?
    public var aiSystemVersion: String?
    public var aiPrompt: String?
    public var aiPromptWriter: String?
    /// PLUS data-mining permission (plus:DataMining).
    public var dataMining: DataMining?
    /// Names of the model and property releases for this image, as the agency stores them
    /// (PLUS plus:ModelReleaseID / plus:PropertyReleaseID; Adobe Stock's CSV Releases column).
    public var modelReleases: [String] = []
    public var propertyReleases: [String] = []
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

    public var isEmpty: Bool { self == StockMetadata() }

    /// Fills every field that is empty here from `other` (lists: only when there are none).
    public func filled(from other: StockMetadata) -> StockMetadata {
        var merged = self
        for field in TextField.all where merged[keyPath: field.keyPath] == nil { merged[keyPath: field.keyPath] = other[keyPath: field.keyPath] }
        if keywords.isEmpty { merged.keywords = other.keywords }
        if creators.isEmpty { merged.creators = other.creators }
        if modelReleases.isEmpty { merged.modelReleases = other.modelReleases }
        if propertyReleases.isEmpty { merged.propertyReleases = other.propertyReleases }
        merged.dateCreated = dateCreated ?? other.dateCreated
        merged.digitalSourceType = digitalSourceType ?? other.digitalSourceType
        merged.dataMining = dataMining ?? other.dataMining
        merged.generation = generation ?? other.generation
        return merged
    }
}

/// PLUS Data Mining values (IPTC 2023.1): whether the image may be used to train AI.
public enum DataMining: String, Codable, Sendable, CaseIterable {
    case unspecified = "DMI-UNSPECIFIED"
    case allowed = "DMI-ALLOWED"
    case prohibitedAIMLTraining = "DMI-PROHIBITED-AIMLTRAINING"
    case prohibitedGenerativeAIMLTraining = "DMI-PROHIBITED-GENAIMLTRAINING"
    case prohibitedExceptSearchEngineIndexing = "DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING"
    case prohibited = "DMI-PROHIBITED"

    public static let vocabularyPrefix = "http://ns.useplus.org/ldf/vocab/"
    public var uri: String { Self.vocabularyPrefix + rawValue }

    public init?(uri: String) {
        self.init(rawValue: uri.hasPrefix(Self.vocabularyPrefix) ? String(uri.dropFirst(Self.vocabularyPrefix.count)) : uri)
    }
}

/// A single-text field of StockMetadata and where it lives: its XMP property and, where IPTC IIM
/// has one, its dataset (the IPTC Photo Metadata mapping). Title, description and copyright are
/// language alternatives in XMP, as Dublin Core defines them.
public struct TextField: @unchecked Sendable {
    public let label: String
    public let keyPath: WritableKeyPath<StockMetadata, String?>
    public let namespace: String
    public let property: String
    public let languageAlternative: Bool
    public let iim: IPTCIIM.Field?

    static let dc = "http://purl.org/dc/elements/1.1/", photoshop = "http://ns.adobe.com/photoshop/1.0/"
    static let iptcExt = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/", xmpBasic = "http://ns.adobe.com/xap/1.0/"

    public static let all: [TextField] = [
        TextField(label: "title", keyPath: \.title, namespace: dc, property: "title", languageAlternative: true, iim: .objectName),
        TextField(label: "description", keyPath: \.description, namespace: dc, property: "description", languageAlternative: true, iim: .caption),
        TextField(label: "copyright", keyPath: \.copyright, namespace: dc, property: "rights", languageAlternative: true, iim: .copyright),
        TextField(label: "credit", keyPath: \.credit, namespace: photoshop, property: "Credit", languageAlternative: false, iim: .credit),
        TextField(label: "source", keyPath: \.source, namespace: photoshop, property: "Source", languageAlternative: false, iim: .source),
        TextField(label: "instructions", keyPath: \.instructions, namespace: photoshop, property: "Instructions", languageAlternative: false, iim: .instructions),
        TextField(label: "city", keyPath: \.city, namespace: photoshop, property: "City", languageAlternative: false, iim: .city),
        TextField(label: "country", keyPath: \.country, namespace: photoshop, property: "Country", languageAlternative: false, iim: .country),
        TextField(label: "AI system", keyPath: \.aiSystem, namespace: iptcExt, property: "AISystemUsed", languageAlternative: false, iim: nil),
        TextField(label: "AI system version", keyPath: \.aiSystemVersion, namespace: iptcExt, property: "AISystemVersionUsed", languageAlternative: false, iim: nil),
        TextField(label: "AI prompt", keyPath: \.aiPrompt, namespace: iptcExt, property: "AIPromptInformation", languageAlternative: false, iim: nil),
        TextField(label: "AI prompt writer", keyPath: \.aiPromptWriter, namespace: iptcExt, property: "AIPromptWriterName", languageAlternative: false, iim: nil),
        TextField(label: "software", keyPath: \.software, namespace: xmpBasic, property: "CreatorTool", languageAlternative: false, iim: nil),
    ]
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
