import AtomicFiles
import Foundation
import Metadata

/// A finished image with its verdict for one agency, ready to be packaged.
public struct PackageItem: Sendable {
    public var imagePath: String
    public var entry: PackageEntry
    public var verdict: Verdict

    public init(imagePath: String, entry: PackageEntry, verdict: Verdict) {
        self.imagePath = imagePath; self.entry = entry; self.verdict = verdict
    }
}

/// The machine-readable report written next to each package's CSV.
public struct PackageReport: Codable, Sendable, Equatable {
    public struct Item: Codable, Sendable, Equatable {
        public var file: String
        public var accepted: Bool
        public var reasons: [CheckFinding]
        public var warnings: [CheckFinding]
    }

    public var agency: String
    public var agencyName: String
    /// The first (usually the only) CSV file; empty when no image was accepted (no CSV is written).
    public var csv: String
    /// Every CSV file: more than one when the agency's row or size limit is passed.
    public var csvFiles: [String]
    public var accepted: Int
    public var rejected: Int
    public var items: [Item]
}

/// Builds OUTPUT/packages/<agency>/: the accepted files, the agency CSV(s), report.json and
/// contact-sheet.html (every image with its verdict, refused ones included).
/// The folder is assembled under a temporary name and swapped in, so a crash never leaves a
/// package that mixes two runs.
public enum PackageBuilder {
    @discardableResult
    public static func build(agency preset: AgencyPreset, items: [PackageItem], packagesFolder: String) throws -> PackageReport {
        let fileManager = FileManager.default
        let final = packagesFolder + "/" + preset.id
        // A fresh, unguessable staging folder (mkdtemp creates it or fails; nothing planted is reused).
        try? fileManager.createDirectory(atPath: packagesFolder, withIntermediateDirectories: true)
        var template = Array((packagesFolder + "/.\(preset.id).tmp-\(getpid())-XXXXXX").utf8CString)
        guard let created = mkdtemp(&template) else {
            throw AgencyError.cannotWrite(path: final, reason: "cannot create a staging folder: \(String(cString: strerror(errno)))")
        }
        let staging = String(cString: created)
        chmod(staging, 0o755)
        do {
            let accepted = items.filter(\.verdict.accepted)
            for item in accepted {
                let target = staging + "/" + item.entry.fileName
                // A hard link costs no space; fall back to a copy across file systems.
                if link(item.imagePath, target) != 0 { try fileManager.copyItem(atPath: item.imagePath, toPath: target) }
            }
            guard let format = CSVFormat(rawValue: preset.csv) else {
                throw AgencyError.invalidPreset(path: preset.id, reason: "unknown csv format \(preset.csv)")
            }
            // No accepted image, no CSV: a header-only file uploads as an empty submission.
            let csvData = accepted.isEmpty ? [] : try format.renderFiles(accepted.map(\.entry))
            let csvNames = csvData.count == 1 ? [preset.id + ".csv"] : csvData.indices.map { "\(preset.id)-\($0 + 1).csv" }
            for (name, data) in zip(csvNames, csvData) { try AtomicFile.write(data, to: staging + "/" + name) }
            let report = PackageReport(
                agency: preset.id, agencyName: preset.name, csv: csvNames.first ?? "", csvFiles: csvNames,
                accepted: accepted.count, rejected: items.count - accepted.count,
                items: items.map { PackageReport.Item(file: $0.entry.fileName, accepted: $0.verdict.accepted,
                                                      reasons: $0.verdict.reasons, warnings: $0.verdict.warnings) })
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try AtomicFile.write(try encoder.encode(report), to: staging + "/report.json")
            let cards = items.map { ContactSheet.Card(fileName: $0.entry.fileName, imagePath: $0.imagePath, title: $0.entry.metadata.title,
                                                      keywords: $0.entry.metadata.keywords, verdicts: [$0.verdict], description: $0.entry.metadata.description,
                                                      categories: $0.entry.category.map { [(agency: preset.name, category: $0)] } ?? []) }
            let sheet = ContactSheet.html(title: "\(preset.name) package", cards: cards, agencyNames: [preset.id: preset.name])
            try AtomicFile.write(Data(sheet.utf8), to: staging + "/contact-sheet.html")
            try AtomicFile.syncFile(staging)
            try swapIn(staging: staging, final: final)
            return report
        } catch let error as AgencyError {
            try? fileManager.removeItem(atPath: staging)
            throw error
        } catch {
            try? fileManager.removeItem(atPath: staging)
            throw AgencyError.cannotWrite(path: final, reason: "\(error)")
        }
    }

    static func swapIn(staging: String, final: String) throws {
        let retired = final + ".old-\(getpid())"
        let fileManager = FileManager.default
        if fileManager.fileExists(atPath: final) {
            guard rename(final, retired) == 0 else { throw AgencyError.cannotWrite(path: final, reason: String(cString: strerror(errno))) }
        }
        guard rename(staging, final) == 0 else { throw AgencyError.cannotWrite(path: final, reason: String(cString: strerror(errno))) }
        try? fileManager.removeItem(atPath: retired)
    }

    /// Removes half-built or retired package folders that a crashed run left behind.
    public static func removeLeftovers(in packagesFolder: String) {
        let fileManager = FileManager.default
        for name in (try? fileManager.contentsOfDirectory(atPath: packagesFolder)) ?? []
        where name.contains(".tmp-") || name.contains(".old-") {
            try? fileManager.removeItem(atPath: packagesFolder + "/" + name)
        }
    }
}
