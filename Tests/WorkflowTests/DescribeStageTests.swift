import Foundation
import Metadata
import TestSupport
import Testing
@testable import Workflow

/// The workflow's `describe:` step: keywords ranked from prompt, metadata, name and pixels.
@Suite struct DescribeStageTests {
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
        let plan = try Planner.plan(try WorkflowParser.parse(file: folder + "/w.yaml"), presetsFolder: TestSupport.presetsFolder)
        let imported = try #require(plan.jobs.first { $0.generation == nil })
        // The pixels' words and the stated keyword; the file name is neither a title nor keywords
        // when anything else describes the image (issue 15: "IMG_0042" and "Comfy" were seen as titles).
        #expect(imported.metadata.keywords.contains("horizontal") && !imported.metadata.keywords.contains("launch"), "\(imported.metadata.keywords)")
        #expect(imported.metadata.keywords.contains("stock") && imported.metadata.keywords.count <= 20)
        #expect(imported.metadata.title == nil)
        let generated = try #require(plan.jobs.first { $0.generation != nil })
        #expect(generated.metadata.keywords.contains("coffee") && generated.metadata.keywords.contains("latte art") && !generated.metadata.keywords.contains("masterpiece"),
                "\(generated.metadata.keywords)")

        let summary = try Runner(plan: plan).run()
        #expect(summary.images.allSatisfy { $0.failure == nil })
        let tags = try TestSupport.exiftool(folder + "/out/images/\(imported.name).jpg")
        #expect(TestSupport.list(tags["XMP-dc:Subject"]) == imported.metadata.keywords)

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
        let plan = try Planner.plan(try WorkflowParser.parse(file: folder + "/w.yaml"), presetsFolder: folder + "/presets")
        #expect(plan.jobs.first?.metadata.keywords.count == 7, "\(plan.jobs.first?.metadata.keywords ?? [])")
        let uncapped = try Planner.plan(try WorkflowParser.parse(file: folder + "/w.yaml"), presetsFolder: TestSupport.presetsFolder)
        #expect((uncapped.jobs.first?.metadata.keywords.count ?? 0) > 7)
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
        let plan = try Planner.plan(try WorkflowParser.parse(file: folder + "/w.yaml"), presetsFolder: TestSupport.presetsFolder)
        let job = try #require(plan.jobs.first)
        #expect(job.aiReason?.contains("ComfyUI") == true)
        #expect(job.metadata.aiPrompt == "a red fox in a snowy forest, golden hour")
        #expect(job.metadata.title?.lowercased().contains("fox") == true, "\(job.metadata.title ?? "no title")")
        #expect(job.metadata.keywords.contains("fox") && job.metadata.keywords.contains("forest"), "\(job.metadata.keywords)")
        #expect(!job.metadata.keywords.contains { $0.contains("comfy") })
    }

    /// `describe.exclude` and the target agencies' keyword lists: no keyword the user refused or an
    /// agency's check would flag ("stock photo" from the workflow's own keywords).
    @Test func excludedAndAgencyDiscouragedTermsAreNotKeywords() throws {
        let folder = try TestSupport.temporaryFolder("describe-exclude")
        try FileManager.default.createDirectory(atPath: folder + "/in", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: TestSupport.repositoryRoot + "/Tests/Fixtures/provenance/comfyui.png", toPath: folder + "/in/fox.png")
        func plan(_ describe: String) throws -> Job {
            let yaml = """
                import: {files: "in/*.png"}
                describe: \(describe)
                finish: {long_edge: 64}
                metadata: {keywords: [stock photo, wildlife]}
                agencies: [adobe-stock]
                output: out
                """
            try yaml.write(toFile: folder + "/w.yaml", atomically: false, encoding: .utf8)
            return try #require(try Planner.plan(try WorkflowParser.parse(file: folder + "/w.yaml"), presetsFolder: TestSupport.presetsFolder).jobs.first)
        }
        let plain = try plan("{max_keywords: 30}")
        #expect(plain.metadata.keywords.contains("fox") && plain.metadata.keywords.contains("wildlife"))
        #expect(!plain.metadata.keywords.contains("stock photo"), "\(plain.metadata.keywords)")
        let excluded = try plan("{max_keywords: 30, exclude: [fox, Snow]}")
        // Whole words, any case: "snow" goes, "snowy" is another word.
        #expect(!excluded.metadata.keywords.contains { $0.split(separator: " ").contains { $0 == "fox" || $0 == "snow" } }, "\(excluded.metadata.keywords)")
        #expect(excluded.metadata.keywords.contains("snowy"))
        #expect(excluded.metadata.keywords.contains("forest") && excluded.metadata.keywords.contains("wildlife"))
    }
}
