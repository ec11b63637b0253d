import Foundation
import Metadata

/// What a person changed in the review page: each field set replaces the run's value; a field
/// left nil keeps it. Categories are by agency id.
public struct ReviewEdits: Codable, Sendable, Equatable {
    public var title: String?
    public var description: String?
    public var keywords: [String]?
    public var categories: [String: String]?

    public init(title: String? = nil, description: String? = nil, keywords: [String]? = nil, categories: [String: String]? = nil) {
        self.title = title; self.description = description; self.keywords = keywords; self.categories = categories
    }

    public var isEmpty: Bool { title == nil && description == nil && keywords == nil && categories == nil }

    /// `metadata` with these edits: an empty title or description clears it; keywords are
    /// trimmed and de-duplicated, as every other source of keywords is.
    public func applied(to metadata: StockMetadata) -> StockMetadata {
        var result = metadata
        if let title { result.title = title.trimmed.isEmpty ? nil : title.trimmed }
        if let description { result.description = description.trimmed.isEmpty ? nil : description.trimmed }
        if let keywords { result.keywords = Keywords.deduplicated(keywords.map(\.trimmed).filter { !$0.isEmpty }) }
        return result
    }

    /// The job's categories with these edits (an empty one removes the agency's).
    public func applied(to categories: [String: String]) -> [String: String] {
        var result = categories
        for (agency, category) in self.categories ?? [:] { result[agency] = category.trimmed.isEmpty ? nil : category.trimmed }
        return result
    }

    public var json: String { Hashing.json(self) }

    public static func decode(_ json: String) -> ReviewEdits {
        (try? JSONDecoder().decode(ReviewEdits.self, from: Data(json.utf8))) ?? ReviewEdits()
    }
}

extension String {
    var trimmed: String { trimmingCharacters(in: .whitespacesAndNewlines) }
}
