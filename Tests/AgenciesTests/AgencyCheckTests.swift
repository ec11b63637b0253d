import Agencies
import CSV
import Foundation
import Imaging
import Metadata
import TestSupport
import Testing

@Suite struct AgencyCheckTests {
    let catalog = AgencyCatalog(presetsFolder: TestSupport.presetsFolder)

    func subject(width: Int = 6144, height: Int = 4096, keywords: Int = 20, title: String = "Sunset over a quiet lake",
                 ai: String? = nil, format: ImageInfo.Format = .jpeg, colorSpace: String = "srgb") -> CheckSubject {
        let info = ImageInfo(width: width, height: height, format: format, bands: 3, fileSize: 8_000_000,
                             iccDescription: "sRGB", colorSpace: colorSpace)
        let metadata = StockMetadata(title: title, description: "A calm lake at sunset.",
                                     keywords: (0..<keywords).map { "keyword\($0)" })
        var subject = CheckSubject(path: "x.jpg", info: info, metadata: metadata, aiReason: ai)
        subject.categories = ["shutterstock": "Nature"]  // Shutterstock requires one (AgencyFieldsTests)
        return subject
    }

    @Test func presetsLoadWithSourcesForEveryRule() throws {
        #expect(catalog.names().contains("adobe-stock") && catalog.names().contains("shutterstock"))
        for name in ["adobe-stock", "shutterstock"] {
            let preset = try catalog.load(name)
            #expect(preset.ai.source.hasPrefix("https://"))
            let mirror = Mirror(reflecting: preset.rules)
            for child in mirror.children {
                if let rule = child.value as? Rule<Double> { #expect(rule.source.url.hasPrefix("https://")) }
                if let rule = child.value as? Rule<Int> { #expect(rule.source.url.hasPrefix("https://")) }
            }
        }
        #expect(throws: AgencyError.self) { try catalog.load("adobe-stok") }
    }

    @Test func shutterstockRejectsAIWithTheReasonAdobeAccepts() throws {
        let ai = subject(ai: "the workflow marks it as AI-generated")
        let shutterstock = AgencyChecker(preset: try catalog.load("shutterstock")).check(ai)
        #expect(!shutterstock.accepted)
        #expect(shutterstock.reasons.map(\.rule) == ["ai_policy"])
        #expect(shutterstock.reasons[0].message.contains("does not accept AI-generated images"))
        #expect(shutterstock.reasons[0].message.contains("marks it as AI-generated"))
        let adobe = AgencyChecker(preset: try catalog.load("adobe-stock")).check(ai)
        #expect(adobe.accepted && adobe.reasons.isEmpty)
    }

    @Test func everyFailingRuleIsReported() throws {
        let bad = subject(width: 1000, height: 800, keywords: 60, title: String(repeating: "long title ", count: 8),
                          format: .png, colorSpace: "adobe-rgb")
        let adobe = AgencyChecker(preset: try catalog.load("adobe-stock")).check(bad)
        #expect(!adobe.accepted)
        #expect(Set(adobe.reasons.map(\.rule)) == ["formats", "color_spaces", "min_megapixels", "max_keywords", "max_title_characters"])
        #expect(adobe.reasons.first { $0.rule == "min_megapixels" }?.message.contains("0.80 MP, below the minimum of 4 MP") == true)
        // Shutterstock only recommends sRGB: a warning, not a rejection.
        let shutterstock = AgencyChecker(preset: try catalog.load("shutterstock")).check(subject(keywords: 3, colorSpace: "adobe-rgb"))
        #expect(shutterstock.reasons.map(\.rule) == ["min_keywords"])
        #expect(shutterstock.warnings.map(\.rule) == ["color_spaces"])
    }

    @Test func embeddedDigitalSourceTypeMarksAnImageAsAI() throws {
        let folder = try TestSupport.temporaryFolder("dst")
        let path = folder + "/ai.jpg"
        try TestImages.write(width: 2600, height: 1600, to: path)
        try MetadataWriter.write(StockMetadata(title: "Robot", keywords: ["a", "b", "c", "d", "e", "f", "g"],
                                               digitalSourceType: .trainedAlgorithmicMedia), source: path, destination: path)
        let subject = try CheckSubject.read(path)
        #expect(subject.aiReason?.contains("trainedAlgorithmicMedia") == true)
        let verdict = AgencyChecker(preset: try catalog.load("shutterstock")).check(subject)
        #expect(verdict.reasons.first?.rule == "ai_policy")
    }

    @Test func csvHeadersAndQuotingAreExact() throws {
        let entries = [
            PackageEntry(fileName: "a.jpg", metadata: StockMetadata(title: "Lake, at dusk", description: "Calm \"blue\" lake, ü",
                                                                     keywords: ["lake", "dusk", "wasser"]), category: "11"),
            PackageEntry(fileName: "b.jpg", metadata: StockMetadata(title: "Forest", description: "Pines", keywords: ["forest"]),
                         category: "Nature,Parks/Outdoor", isEditorial: true),
        ]
        let adobe = try CSVFormat.adobeStock.render(entries)
        let adobeText = String(decoding: adobe, as: UTF8.self)
        #expect(adobeText.hasPrefix("Filename,Title,Keywords,Category,Releases\n"))
        #expect(!adobe.starts(with: [0xEF, 0xBB, 0xBF]))
        let adobeRows = try parse(adobeText)
        #expect(adobeRows[0] == ["Filename", "Title", "Keywords", "Category", "Releases"])
        #expect(adobeRows[1] == ["a.jpg", "Lake at dusk", "lake,dusk,wasser", "11", ""])

        let shutterstock = String(decoding: try CSVFormat.shutterstock.render(entries), as: UTF8.self)
        let rows = try parse(shutterstock)
        #expect(rows[0] == ["Filename", "Description", "Keywords", "Categories", "Illustration", "Mature Content", "Editorial"])
        #expect(rows[1] == ["a.jpg", "Calm \"blue\" lake, ü", "lake,dusk,wasser", "11", "No", "No", "No"])
        #expect(rows[2] == ["b.jpg", "Pines", "forest", "Nature,Parks/Outdoor", "No", "No", "Yes"])
    }

    func parse(_ text: String) throws -> [[String]] {
        let reader = try CSVReader(string: text)
        var rows: [[String]] = []
        while let row = reader.next() { rows.append(row) }
        return rows
    }
}
