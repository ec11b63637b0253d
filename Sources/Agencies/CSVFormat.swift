import CSV
import Foundation
import Metadata

/// One accepted file as it goes into an agency's upload CSV.
public struct PackageEntry: Sendable, Equatable {
    public var fileName: String
    public var metadata: StockMetadata
    /// Agency category: a number for Adobe Stock, one or two names for Shutterstock.
    public var category: String?
    public var isIllustration: Bool
    public var isEditorial: Bool
    public var isMature: Bool

    public init(fileName: String, metadata: StockMetadata, category: String? = nil,
                isIllustration: Bool = false, isEditorial: Bool = false, isMature: Bool = false) {
        self.fileName = fileName; self.metadata = metadata; self.category = category
        self.isIllustration = isIllustration; self.isEditorial = isEditorial; self.isMature = isMature
    }
}

/// The CSV layouts that agency portals read, with their exact headers.
public enum CSVFormat: String, CaseIterable, Sendable {
    /// helpx.adobe.com/stock/contributor/help/csv-requirements-content.html
    case adobeStock = "adobe-stock"
    /// submit.shutterstock.com/help/en/articles/10617486
    case shutterstock

    public var header: [String] {
        switch self {
        case .adobeStock: return ["Filename", "Title", "Keywords", "Category", "Releases"]
        case .shutterstock: return ["Filename", "Description", "Keywords", "Categories", "Illustration", "Mature Content", "Editorial"]
        }
    }

    func row(for entry: PackageEntry) -> [String] {
        let keywords = entry.metadata.keywords.joined(separator: ",")
        func yesNo(_ flag: Bool) -> String { flag ? "Yes" : "No" }
        switch self {
        case .adobeStock:
            // Adobe's CSV page: the title has no commas (they would be read as separators by its importer).
            let title = (entry.metadata.title ?? "").replacingOccurrences(of: ",", with: " ")
                .split(separator: " ").joined(separator: " ")
            return [entry.fileName, title, keywords, entry.category ?? "", ""]
        case .shutterstock:
            let description = entry.metadata.description ?? entry.metadata.title ?? ""
            return [entry.fileName, description, keywords, entry.category ?? "",
                    yesNo(entry.isIllustration), yesNo(entry.isMature), yesNo(entry.isEditorial)]
        }
    }

    /// The whole CSV: UTF-8 without BOM, comma-separated, quoted where needed (RFC 4180), LF line ends.
    public func render(_ entries: [PackageEntry]) throws -> Data {
        let stream = OutputStream(toMemory: ())
        stream.open()
        let writer = try CSVWriter(stream: stream, delimiter: ",", newline: .lf)
        try writer.write(row: header)
        for entry in entries { try writer.write(row: row(for: entry)) }
        writer.stream.close()
        var data = stream.property(forKey: .dataWrittenToMemoryStreamKey) as? Data ?? Data()
        data.append(0x0A)
        return data
    }
}
