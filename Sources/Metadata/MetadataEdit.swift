import Foundation

/// Changes to apply to a file's metadata (`stockwerk tag`): each set field replaces the file's
/// value, an empty text clears it, unset fields keep what the file has.
public struct MetadataEdit: Sendable, Equatable {
    public var texts: [String: String] = [:]
    /// Replaces the keyword list.
    public var keywords: [String]?
    /// Added after the existing (or replaced) keywords, duplicates ignored.
    public var addedKeywords: [String] = []
    public var creators: [String]?
    public var dateCreated: String?
    public var digitalSourceType: DigitalSourceType?
    public var dataMining: DataMining?

    public init() {}

    /// Field labels `texts` takes: those of TextField.all ("title", "description", "credit", …).
    public static var textLabels: [String] { TextField.all.map(\.label) }

    public func applied(to original: StockMetadata) -> StockMetadata {
        var result = original
        for field in TextField.all {
            guard let value = texts[field.label] else { continue }
            result[keyPath: field.keyPath] = value.isEmpty ? nil : value
        }
        if let keywords { result.keywords = keywords }
        result.keywords = Keywords.deduplicated(result.keywords + addedKeywords)
        if let creators { result.creators = creators.filter { !$0.isEmpty } }
        if let dateCreated { result.dateCreated = dateCreated.isEmpty ? nil : dateCreated }
        if let digitalSourceType { result.digitalSourceType = digitalSourceType }
        if let dataMining { result.dataMining = dataMining }
        return result
    }

    /// A date the standards can carry, or nil: `YYYY-MM-DD` with an optional `Thh:mm[:ss][zone]`.
    public static func isValidDate(_ text: String) -> Bool { DateCreated(text) != nil }
}
