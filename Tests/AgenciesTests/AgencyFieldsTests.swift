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
