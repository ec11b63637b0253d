import Catalog
import Foundation
import Imaging
import Metadata
import TestSupport
import Testing
@testable import Workflow

@Suite struct RunnerTests {
    func makeWorkflow(title: String) throws -> (folder: String, path: String) {
        let folder = try TestSupport.temporaryFolder("runner")
        try FileManager.default.createDirectory(atPath: folder + "/in", withIntermediateDirectories: true)
        try TestImages.write(width: 900, height: 600, to: folder + "/in/first.png")
        try TestImages.write(width: 600, height: 900, to: folder + "/in/second shot.jpg", profile: .p3)
        try "ai_generated: true\nkeywords: [robot, future, city, neon, night, street, rain]\n"
            .write(toFile: folder + "/in/first.yaml", atomically: false, encoding: .utf8)
        let yaml = """
            import:
              files: "in/*"
            finish:
              long_edge: 2400
            metadata:
              title: \(title)
              description: Test image made by the suite.
              keywords: [test, pattern, gradient, colour, sample, abstract, background]
              creator: Test Suite
              copyright: CC0
            agencies: [adobe-stock, shutterstock]
            output: out
            """
        let path = folder + "/w.yaml"
        try yaml.write(toFile: path, atomically: false, encoding: .utf8)
        return (folder, path)
    }

    func run(_ path: String) throws -> RunSummary {
        let plan = try Planner.plan(try WorkflowParser.parse(file: path), presetsFolder: TestSupport.presetsFolder)
        return try Runner(plan: plan).run()
    }

    @Test func runsEndToEndAndRerunsOnlyWhatChanged() throws {
        let (folder, path) = try makeWorkflow(title: "Gradient test pattern")
        let first = try run(path)
        #expect(first.images.map(\.name) == ["first", "second-shot"])
        #expect(first.stagesRun == 6 && first.stagesSkipped == 0)
        #expect(first.images.allSatisfy { $0.failure == nil && max($0.width ?? 0, $0.height ?? 0) == 2400 })

        // The AI image (sidecar flag) is refused by Shutterstock with the reason; Adobe takes both
        // (after checking it has enough pixels: 2400x1600 is below 4 MP, so both are refused there).
        let firstImage = first.images[0]
        #expect(firstImage.aiGenerated)
        let shutterstock = try #require(firstImage.verdicts.first { $0.agency == "shutterstock" })
        #expect(shutterstock.reasons.contains { $0.rule == "ai_policy" })
        #expect(firstImage.verdicts.first { $0.agency == "adobe-stock" }?.reasons.map(\.rule) == ["min_megapixels"])
        #expect(first.exitCode == 1)

        // What the file says is what the workflow asked for.
        let embedded = try MetadataReader.read(jpeg: folder + "/out/images/first.jpg").reconciled
        #expect(embedded.digitalSourceType == .trainedAlgorithmicMedia)
        #expect(embedded.keywords.prefix(3) == ["robot", "future", "city"])
        #expect(embedded.title == "Gradient test pattern")
        let second = try MetadataReader.read(jpeg: folder + "/out/images/second-shot.jpg").reconciled
        #expect(second.digitalSourceType == nil)

        // Unchanged rerun: nothing is redone.
        let again = try run(path)
        #expect(again.stagesRun == 0 && again.stagesSkipped == 6)  // checks too: the same file against the same rules

        // Changing only the metadata reuses the finished pixels.
        try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "Gradient test pattern", with: "New title")
            .write(toFile: path, atomically: false, encoding: .utf8)
        let retitled = try run(path)
        #expect(retitled.stagesSkipped == 2 && retitled.stagesRun == 4)  // both finish stages kept; tag and check again
        #expect(try MetadataReader.read(jpeg: folder + "/out/images/first.jpg").reconciled.title == "New title")

        let catalog = try Catalog(path: folder + "/out/catalog.sqlite")
        #expect(try catalog.runs().count == 3)
        #expect(Set(try catalog.artifactPaths()).count == (try catalog.artifactPaths()).count)
        let report = try Data(contentsOf: URL(fileURLWithPath: folder + "/out/packages/shutterstock/report.json"))
        #expect(String(decoding: report, as: UTF8.self).contains("does not accept AI-generated images"))

        // Contact sheets: the run's (every agency) and each package's, offline (thumbnails inline).
        let sheet = try String(contentsOfFile: folder + "/out/contact-sheet.html", encoding: .utf8)
        #expect(sheet.contains("first.jpg") && sheet.contains("second-shot.jpg") && sheet.contains("New title"))
        #expect(sheet.contains("Shutterstock: refused") && sheet.contains("does not accept AI-generated images"))
        #expect(!sheet.contains("src=\"http") && !sheet.contains("src=\"/") && !sheet.contains("<link"))
        let thumbnails = sheet.components(separatedBy: "src=\"data:image/jpeg;base64,").dropFirst().map { String($0.prefix { $0 != "\"" }) }
        // The AI image (sidecar flag) wears the badge with its evidence; both show the description.
        #expect(sheet.components(separatedBy: "class=\"badge ai\"").count == 2 && sheet.contains("AI-generated: "))
        #expect(sheet.components(separatedBy: "Test image made by the suite.").count == 3)
        // Both images are enlarged: each has its thumbnail and its softest region at 100 %.
        #expect(thumbnails.count == 4 && sheet.components(separatedBy: "class=\"crop\"").count == 3)
        for thumbnail in thumbnails {
            let bytes = try #require(Data(base64Encoded: thumbnail))
            #expect(bytes.starts(with: [0xFF, 0xD8]))
        }
        let packageSheet = try String(contentsOfFile: folder + "/out/packages/adobe-stock/contact-sheet.html", encoding: .utf8)
        #expect(packageSheet.contains("Adobe Stock package") && packageSheet.contains("first.jpg"))
    }
}
