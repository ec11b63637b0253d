@testable import Agencies
import Foundation
import Imaging
import Metadata
import TestSupport
import Testing

/// Fields agencies read: duplicate keywords in singular and plural, and packages with nothing to upload.
@Suite struct AgencyFieldsTests {
    let catalog = AgencyCatalog(presetsFolder: TestSupport.presetsFolder)

    func subject(keywords: [String]) -> CheckSubject {
        let info = ImageInfo(width: 6144, height: 4096, format: .jpeg, bands: 3, fileSize: 8_000_000, iccDescription: "sRGB", colorSpace: "srgb")
        return CheckSubject(path: "x.jpg", info: info, metadata: StockMetadata(title: "Night sky", description: "Stars.", keywords: keywords), aiReason: nil)
    }

    @Test func singularAndPluralOfOneKeywordAreDuplicates() throws {
        let adobe = AgencyChecker(preset: try catalog.load("adobe-stock"))
        let base = ["sky", "night", "stars", "astronomy", "space", "dark", "universe"]
        let repeated = adobe.check(subject(keywords: base + ["galaxy", "galaxies", "box", "boxes", "leaf", "leaves", "autumn leaves"]))
        let finding = try #require((repeated.reasons + repeated.warnings).first { $0.rule == "no_duplicate_keywords" })
        #expect(finding.message.hasSuffix(": galaxies, boxes, leaves"), "\(finding.message)")  // not "autumn leaves": another keyword
        // Different words that merely end in s are not duplicates of anything ("glasses" are spectacles).
        let clean = adobe.check(subject(keywords: base + ["glass", "glasses", "bus", "galaxy", "chess", "news", "new"]))
        #expect(!(clean.reasons + clean.warnings).contains { $0.rule == "no_duplicate_keywords" })
    }

    /// Shutterstock's Categories column is required: given, picked from the keywords, or a rejection with its source.
    @Test func anEmptyRequiredCategoryIsARejection() throws {
        let shutterstock = AgencyChecker(preset: try catalog.load("shutterstock"))
        let abstract = ["pattern", "texture", "design", "backdrop", "shape", "graphic", "modern"]
        var none = subject(keywords: ["qwerty", "asdf", "zxcv", "uiop", "hjkl", "vbnm", "wert"])
        let refused = shutterstock.check(none)
        let finding = try #require(refused.reasons.first { $0.rule == "category_required" })
        #expect(finding.source == "https://submit.shutterstock.com/help/en/articles/10617486")
        none.categories = ["shutterstock": "Abstract"]
        #expect(shutterstock.check(none).accepted)
        // Keywords that presets/categories/shutterstock.yaml lists pick one: no rejection.
        let picked = try #require(try catalog.load("shutterstock").category(given: [:], keywords: ["cats", "pet"]))
        #expect(!picked.isEmpty)
        #expect(!shutterstock.check(subject(keywords: ["cats", "pet"] + abstract)).reasons.contains { $0.rule == "category_required" })
        // Adobe Stock does not require one.
        #expect(!AgencyChecker(preset: try catalog.load("adobe-stock")).check(subject(keywords: abstract)).reasons.contains { $0.rule == "category_required" })
    }

    /// Release names go into PLUS ModelReleaseID / PropertyReleaseID (read back by ExifTool and by
    /// Stockwerk) and into Adobe Stock's Releases column.
    @Test func releasesReachXMPAndAdobesReleasesColumn() throws {
        let folder = try TestSupport.temporaryFolder("releases-xmp")
        let path = folder + "/model.jpg"
        try TestImages.write(width: 600, height: 400, to: path)
        var metadata = StockMetadata(title: "Portrait")
        metadata.modelReleases = ["Jane Doe MR 2026"]
        metadata.propertyReleases = ["Studio North PR"]
        try MetadataWriter.write(metadata, source: path, destination: path)
        let tags = try TestSupport.exiftool(path)
        #expect(TestSupport.list(tags["XMP-plus:ModelReleaseID"]) == ["Jane Doe MR 2026"])
        #expect(TestSupport.list(tags["XMP-plus:PropertyReleaseID"]) == ["Studio North PR"])
        let read = try MetadataReader.read(jpeg: path).reconciled
        #expect(read.modelReleases == ["Jane Doe MR 2026"] && read.propertyReleases == ["Studio North PR"])
        let row = CSVFormat.adobeStock.row(for: PackageEntry(fileName: "model.jpg", metadata: read, category: "13"))
        #expect(row == ["model.jpg", "Portrait", "", "13", "Jane Doe MR 2026,Studio North PR"])
    }

    @Test func aPackageWithNoAcceptedImageWritesNoCSV() throws {
        let folder = try TestSupport.temporaryFolder("empty-package")
        let image = folder + "/ai.jpg"
        try TestImages.write(width: 600, height: 400, to: image)
        let preset = try catalog.load("shutterstock")
        let verdict = Verdict(agency: preset.id, file: image, accepted: false,
                              reasons: [CheckFinding(rule: "ai_policy", message: "AI", source: preset.ai.source)], warnings: [])
        let item = PackageItem(imagePath: image, entry: PackageEntry(fileName: "ai.jpg", metadata: StockMetadata(title: "x"), category: nil), verdict: verdict)
        let report = try PackageBuilder.build(agency: preset, items: [item], packagesFolder: folder + "/packages")
        #expect(report.csvFiles.isEmpty && report.csv.isEmpty && report.accepted == 0 && report.rejected == 1)
        let written = try FileManager.default.contentsOfDirectory(atPath: folder + "/packages/shutterstock")
        #expect(!written.contains { $0.hasSuffix(".csv") })
        #expect(written.contains("report.json"))
    }
}
