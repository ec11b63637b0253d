import Foundation
import Metadata
import TestSupport
import Testing
@testable import Workflow

/// The workflow's `describe:` step: keywords ranked from prompt, metadata, name and pixels.
@Suite struct DescribeStageTests {
    /// Runs the workflow and reads back what each image carries, by its name.
    func runAndRead(_ workflow: String, presets: String = TestSupport.presetsFolder) throws -> (plan: WorkflowPlan, summary: RunSummary, written: [String: StockMetadata]) {
        let plan = try Planner.plan(try WorkflowParser.parse(file: workflow), presetsFolder: presets)
        let summary = try Runner(plan: plan).run()
        var written: [String: StockMetadata] = [:]
        for image in summary.images {
            guard let output = image.output else { Issue.record("\(image.name) failed: \(image.failure ?? "")"); continue }
            written[image.name] = try MetadataReader.read(jpeg: output).reconciled
        }
        return (plan, summary, written)
    }

    @Test func importedAndGeneratedImagesGetRankedKeywords() throws {
        let folder = try TestSupport.temporaryFolder("describe")
        try FileManager.default.createDirectory(atPath: folder + "/in", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: TestSupport.repositoryRoot + "/Workflows/samples/rocket.jpg", toPath: folder + "/in/rocket-launch.jpg")
        let yaml = """
            import: {files: "in/*.jpg"}
            generate:
              model: \(GenerateWorkflowTests.tinyModel)
              prompts: ["(masterpiece:1.2), 8k, a cup of coffee with latte art on a wooden table, top view"]
              seeds: [3]
              size: 16x16
              steps: 2
            describe: {max_keywords: 20}
            finish: {long_edge: 64, max_enlargement: 8}
            metadata: {creator: Suite, keywords: [stock]}
            output: out
            """
        try yaml.write(toFile: folder + "/w.yaml", atomically: false, encoding: .utf8)
        let (plan, summary, written) = try runAndRead(folder + "/w.yaml")
        // Described after finish: planning leaves the keywords as the workflow gave them.
        #expect(plan.jobs.allSatisfy { $0.metadata.keywords == ["stock"] })
        let importedName = try #require(plan.jobs.first { $0.generation == nil }).name
        let imported = try #require(written[importedName])
        // The pixels' words and the stated keyword; the file name is neither a title nor keywords
        // when anything else describes the image (issue 15: "IMG_0042" and "Comfy" were seen as titles).
        #expect(imported.keywords.contains("horizontal") && !imported.keywords.contains("launch"), "\(imported.keywords)")
        #expect(imported.keywords.contains("stock") && imported.keywords.count <= 20)
        #expect(imported.title == nil)
        // A generated image is described from its prompt and its finished pixels (square: no orientation word of a photo).
        let generatedName = try #require(plan.jobs.first { $0.generation != nil }).name
        let generated = try #require(written[generatedName])
        #expect(generated.keywords.contains("coffee") && generated.keywords.contains("latte art") && !generated.keywords.contains("masterpiece"),
                "\(generated.keywords)")
        #expect(generated.keywords.contains("square"), "\(generated.keywords)")
        #expect(summary.images.allSatisfy { $0.failure == nil })
        let tags = try TestSupport.exiftool(folder + "/out/images/\(importedName).jpg")
        #expect(TestSupport.list(tags["XMP-dc:Subject"]) == imported.keywords)

        // Described once: a rerun takes the description from the catalog.
        let again = try Runner(plan: plan).run()
        #expect(again.stagesRun == 0 && again.stagesSkipped == summary.stagesRun)

        let broken = try TestSupport.temporaryFolder("describe-bad") + "/w.yaml"
        try "import: {files: \"x/*.jpg\"}\ndescribe: {max_keywords: 0}\n".write(toFile: broken, atomically: false, encoding: .utf8)
        #expect(throws: WorkflowValidationError.self) { try WorkflowParser.parse(file: broken) }
    }

    /// Without `max_keywords`, the ranked list is cut to the smallest limit of the target agencies.
    @Test func keywordCountFollowsTheTargetAgencies() throws {
        let folder = try TestSupport.temporaryFolder("describe-cap")
        try FileManager.default.copyItem(atPath: TestSupport.presetsFolder, toPath: folder + "/presets")
        let adobe = folder + "/presets/agencies/adobe-stock.yaml"
        try (try String(contentsOfFile: adobe, encoding: .utf8)).replacingOccurrences(of: "value: 49", with: "value: 7")
            .write(toFile: adobe, atomically: false, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: folder + "/in", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: TestSupport.repositoryRoot + "/Workflows/samples/rocket.jpg", toPath: folder + "/in/rocket-launch.jpg")
        let yaml = """
            import: {files: "in/*.jpg"}
            describe: true
            metadata: {description: "rocket launch at dawn with a huge plume of smoke over the launch pad, dramatic sky, space flight"}
            finish: {long_edge: 640}
            agencies: [adobe-stock, shutterstock]
            output: out
            """
        try yaml.write(toFile: folder + "/w.yaml", atomically: false, encoding: .utf8)
        let capped = try runAndRead(folder + "/w.yaml", presets: folder + "/presets").written["rocket-launch"]
        #expect(capped?.keywords.count == 7, "\(capped?.keywords ?? [])")
        try FileManager.default.removeItem(atPath: folder + "/out")
        let uncapped = try runAndRead(folder + "/w.yaml").written["rocket-launch"]
        #expect((uncapped?.keywords.count ?? 0) > 7)
    }

    /// An imported AI image is described from the prompt its generator embedded (ComfyUI's graph
    /// here), and that prompt is its IPTC AI Prompt Information.
    @Test func importedImagesAreDescribedFromTheirEmbeddedPrompt() throws {
        let folder = try TestSupport.temporaryFolder("describe-embedded")
        try FileManager.default.createDirectory(atPath: folder + "/in", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: TestSupport.repositoryRoot + "/Tests/Fixtures/provenance/comfyui.png", toPath: folder + "/in/ComfyUI_00042_.png")
        let yaml = """
            import: {files: "in/*.png"}
            describe: {max_keywords: 20}
            finish: {long_edge: 64}
            output: out
            """
        try yaml.write(toFile: folder + "/w.yaml", atomically: false, encoding: .utf8)
        let (plan, _, written) = try runAndRead(folder + "/w.yaml")
        #expect(plan.jobs.first?.aiReason?.contains("ComfyUI") == true)
        let job = try #require(written["comfyui-00042"])
        #expect(job.aiPrompt == "a red fox in a snowy forest, golden hour")
        #expect(job.title?.lowercased().contains("fox") == true, "\(job.title ?? "no title")")
        #expect(job.keywords.contains("fox") && job.keywords.contains("forest"), "\(job.keywords)")
        #expect(!job.keywords.contains { $0.contains("comfy") })
    }

    /// `describe.exclude` and the target agencies' keyword lists: no keyword the user refused or an
    /// agency's check would flag ("stock photo" from the workflow's own keywords).
    @Test func excludedAndAgencyDiscouragedTermsAreNotKeywords() throws {
        let folder = try TestSupport.temporaryFolder("describe-exclude")
        try FileManager.default.createDirectory(atPath: folder + "/in", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: TestSupport.repositoryRoot + "/Tests/Fixtures/provenance/comfyui.png", toPath: folder + "/in/fox.png")
        func described(_ describe: String) throws -> StockMetadata {
            let yaml = """
                import: {files: "in/*.png"}
                describe: \(describe)
                finish: {long_edge: 64}
                metadata: {keywords: [stock photo, wildlife]}
                agencies: [adobe-stock]
                output: out
                """
            try yaml.write(toFile: folder + "/w.yaml", atomically: false, encoding: .utf8)
            return try #require(try runAndRead(folder + "/w.yaml").written["fox"])
        }
        let plain = try described("{max_keywords: 30}")
        #expect(plain.keywords.contains("fox") && plain.keywords.contains("wildlife"))
        #expect(!plain.keywords.contains("stock photo"), "\(plain.keywords)")
        let excluded = try described("{max_keywords: 30, exclude: [fox, Snow]}")
        // Whole words, any case: "snow" goes, "snowy" is another word.
        #expect(!excluded.keywords.contains { $0.split(separator: " ").contains { $0 == "fox" || $0 == "snow" } }, "\(excluded.keywords)")
        #expect(excluded.keywords.contains("snowy"))
        #expect(excluded.keywords.contains("forest") && excluded.keywords.contains("wildlife"))
    }
}
