import CSV
import Foundation
import TestSupport
import Testing

/// `stockwerk package` on a run's output: packages for agencies the run did not target.
@Suite struct PackageCommandTests {
    let binary = TestSupport.stockwerkBinary

    @Test func packagesARunsImagesForOtherAgencies() throws {
        let folder = try TestSupport.temporaryFolder("package")
        let samples = TestSupport.repositoryRoot + "/Workflows/samples"
        try FileManager.default.createDirectory(atPath: folder + "/in", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: samples + "/rocket.jpg", toPath: folder + "/in/rocket.jpg")
        try FileManager.default.copyItem(atPath: samples + "/coffee.png", toPath: folder + "/in/coffee.png")
        try "ai_generated: true\n".write(toFile: folder + "/in/coffee.yaml", atomically: false, encoding: .utf8)
        let workflow = """
            import: {files: "in/*"}
            finish: {long_edge: 2600, max_enlargement: 8}
            metadata: {title: "Launch, at dawn", description: A picture., keywords: [rocket, launch, space, science, sky, smoke], creator: Suite}
            agencies: [adobe-stock]
            output: out
            """
        try workflow.write(toFile: folder + "/w.yaml", atomically: false, encoding: .utf8)
        let run = try TestSupport.run(binary, ["run", folder + "/w.yaml"])
        #expect(run.status == 0, "\(run.stderr)")

        let result = try TestSupport.run(binary, ["package", folder + "/out", "--agency", "getty-images", "--agency", "123rf"])
        #expect(result.status == 1, "\(result.stdout) \(result.stderr)")
        #expect(result.stdout.contains("Getty Images / iStock: 1 accepted, 1 refused"), "\(result.stdout)")
        #expect(result.stdout.contains("coffee.jpg: Getty Images / iStock does not accept AI-generated images"), "\(result.stdout)")
        #expect(result.stdout.contains("123RF: 0 accepted, 2 refused") && result.stdout.contains("below the minimum of 6 MP"), "\(result.stdout)")
        let getty = folder + "/out/packages/getty-images"
        #expect(try FileManager.default.contentsOfDirectory(atPath: getty).sorted() == ["contact-sheet.html", "getty-images.csv", "report.json", "rocket.jpg"])
        let reader = try CSVReader(string: try String(contentsOfFile: getty + "/getty-images.csv", encoding: .utf8), hasHeaderRow: true)
        let row = try #require(reader.next())
        #expect(row[0] == "rocket.jpg" && row[5] == "Launch, at dawn" && row[6] == "rocket,launch,space,science,sky,smoke")
        #expect(reader.next() == nil)

        let missing = try TestSupport.run(binary, ["package", folder + "/nothing", "--agency", "getty-images"])
        #expect(missing.status == 2 && missing.stderr.contains("not the output folder of a `stockwerk run`"), "\(missing.stderr)")
        let unknown = try TestSupport.run(binary, ["package", folder + "/out", "--agency", "gety"])
        #expect(unknown.status == 2 && unknown.stderr.contains("getty-images"), "\(unknown.stderr)")
    }
}
