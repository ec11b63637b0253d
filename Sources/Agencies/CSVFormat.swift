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

/// The CSV layouts that agency portals read: header, separator, quoting, BOM and limits.
/// Sources and confidence per layout are in presets/agencies/*.yaml (`csv_source`) and
/// ../shared reference notes; the third-party layouts are marked unverified there.
public enum CSVFormat: String, CaseIterable, Sendable {
    case adobeStock = "adobe-stock", shutterstock, gettyImages = "getty-images", alamy, dreamstime
    case rf123 = "123rf", depositphotos, freepik, pond5, vecteezy

    public enum Quoting: Sendable { case asNeeded, all, columns(Set<Int>) }

    public var header: [String] {
        switch self {
        case .adobeStock: return ["Filename", "Title", "Keywords", "Category", "Releases"]
        case .shutterstock: return ["Filename", "Description", "Keywords", "Categories", "Illustration", "Mature Content", "Editorial"]
        case .gettyImages: return ["file name", "created date", "description", "country", "brief code", "title", "keywords"]
        case .alamy: return ["Filename", "Caption", "Tags", "License type", "Username", "Super Tags", "Location", "Date taken", "Number of People",
                             "Model release", "Property release", "Primary category", "Secondary category", "Image Type", "Exclusive to Alamy", "Additional Info"]
        case .dreamstime: return ["Filename", "Title", "Description", "Keywords", "Category"]
        case .rf123: return ["oldfilename", "123rf_filename", "description", "keywords", "country"]
        case .depositphotos: return ["Filename", "description", "Keywords", "Nudity", "Editorial"]
        case .freepik: return ["Filename", "Title", "Keywords", "Prompt", "Model"]
        case .pond5: return ["originalfilename", "title", "description", "keywords", "location", "specifysource", "copyright", "price", "imagetype"]
        case .vecteezy: return ["Filename", "Title", "Description", "Keywords", "License"]
        }
    }

    public var delimiter: Character { self == .freepik ? ";" : "," }

    public var quoting: Quoting {
        switch self {
        case .freepik: return .all
        case .vecteezy: return .columns([3])
        default: return .asNeeded
        }
    }

    /// Rows per file and bytes per file the portal takes (Adobe: 5,000 rows, 1 MB); more is split.
    public var limits: (rows: Int, bytes: Int)? { self == .adobeStock ? (5_000, 1_000_000) : nil }

    func row(for entry: PackageEntry) -> [String] {
        let m = entry.metadata
        let keywords = m.keywords.joined(separator: ",")
        let title = m.title ?? "", description = m.description ?? m.title ?? ""
        let location = [m.city, m.country].compactMap { $0 }.joined(separator: ", ")
        func yesNo(_ flag: Bool) -> String { flag ? "Yes" : "No" }
        switch self {
        case .adobeStock:
            // Adobe's CSV page: no commas in the title (its importer reads them as separators).
            let cleaned = title.replacingOccurrences(of: ",", with: " ").split(separator: " ").joined(separator: " ")
            // Releases: the names of releases already in the portal, comma-separated (exact format unverified).
            return [entry.fileName, cleaned, keywords, entry.category ?? "", (m.modelReleases + m.propertyReleases).joined(separator: ",")]
        case .shutterstock:
            return [entry.fileName, description, keywords, entry.category ?? "", yesNo(entry.isIllustration), yesNo(entry.isMature), yesNo(entry.isEditorial)]
        case .gettyImages:
            return [entry.fileName, m.dateCreated.map { String($0.prefix(10)) } ?? "", description, m.country ?? "", "", title, keywords]
        case .alamy:
            return [entry.fileName, description, keywords, entry.isEditorial ? "Editorial" : "RF", "", "", location,
                    m.dateCreated.map { String($0.prefix(10)) } ?? "", "", "", "", entry.category ?? "", "",
                    entry.isIllustration ? "Illustration" : "Photograph", "", ""]
        case .dreamstime:
            return [entry.fileName, title, description, keywords, entry.category ?? ""]
        case .rf123:
            return [entry.fileName, "", description, keywords, m.country ?? ""]
        case .depositphotos:
            return [entry.fileName, description, keywords, entry.isMature ? "yes" : "no", entry.isEditorial ? "yes" : "no"]
        case .freepik:
            return [entry.fileName, title, keywords, m.generation?.prompt ?? m.aiPrompt ?? "", m.generation?.model ?? m.aiSystem ?? ""]
        case .pond5:
            return [entry.fileName, title, description, keywords, location, "", m.copyright ?? "", "", entry.isIllustration ? "illustration" : "photo"]
        case .vecteezy:
            return [entry.fileName, title, description, keywords, entry.isEditorial ? "editorial" : "pro"]
        }
    }

    /// One CSV: UTF-8 without BOM, RFC 4180 quoting by the layout's rule, LF line ends.
    public func render(_ entries: [PackageEntry]) throws -> Data {
        let stream = OutputStream(toMemory: ())
        stream.open()
        let writer = try CSVWriter(stream: stream, delimiter: String(delimiter), newline: .lf)
        let quoted: (Int) -> Bool
        switch quoting {
        case .asNeeded: quoted = { _ in false }
        case .all: quoted = { _ in true }
        case .columns(let columns): quoted = { columns.contains($0) }
        }
        let allQuoted = isAllQuoted
        try writer.write(row: header, quotedAtIndex: { _ in allQuoted })
        for entry in entries { try writer.write(row: row(for: entry).map(Self.neutralised), quotedAtIndex: quoted) }
        writer.stream.close()
        var data = stream.property(forKey: .dataWrittenToMemoryStreamKey) as? Data ?? Data()
        data.append(0x0A)
        return data
    }

    /// A cell a spreadsheet cannot run: control characters go (tab, CR and LF become spaces), and
    /// a cell that would start with `=`, `+`, `-` or `@` (a formula to Excel, LibreOffice and
    /// Google Sheets) gets a leading `'`, as OWASP's CSV-injection guidance recommends.
    static func neutralised(_ cell: String) -> String {
        var text = ""
        text.unicodeScalars.reserveCapacity(cell.unicodeScalars.count)
        for scalar in cell.unicodeScalars {
            if scalar == "\t" || scalar == "\r" || scalar == "\n" {
                text.unicodeScalars.append(" ")
            } else if scalar.properties.generalCategory != .control {
                text.unicodeScalars.append(scalar)
            }
        }
        let first = text.unicodeScalars.first { $0 != " " }
        if let first, "=+-@＝＋－＠".unicodeScalars.contains(first) { return "'" + text }
        return text
    }

    private var isAllQuoted: Bool { if case .all = quoting { return true } else { return false } }

    /// The CSV files for `entries`: one, or several when the layout's row or byte limit is passed
    /// (each file keeps the header and stays within both limits).
    public func renderFiles(_ entries: [PackageEntry]) throws -> [Data] {
        guard let limits else { return [try render(entries)] }
        var files: [Data] = []
        var start = 0
        while start < entries.count || files.isEmpty {
            var count = min(limits.rows, entries.count - start)
            var data = try render(Array(entries[start..<(start + count)]))
            while data.count > limits.bytes, count > 1 {
                count = max(1, count * limits.bytes / data.count - 1)
                data = try render(Array(entries[start..<(start + count)]))
            }
            files.append(data)
            start += count
            if entries.isEmpty { break }
        }
        return files
    }
}
