import Diffusion
import Foundation
import Imaging
import Metadata
import TestSupport
import Testing
@testable import Workflow

/// The workflow's `generate:` source on the tiny SD1-style fixture: prompt expansion, generation
/// parameters in the files, caching and exact regeneration, and errors before any work.
@Suite struct GenerateWorkflowTests {
    static let tinyModel = TestSupport.repositoryRoot + "/Tests/Fixtures/pipelines/tiny-sd1"

    func makeWorkflow(_ generate: String, wildcards: [String: String] = ["places": "the sea\n# a comment\n\nthe river\n"]) throws -> (folder: String, path: String) {
        let folder = try TestSupport.temporaryFolder("generate")
        try FileManager.default.createDirectory(atPath: folder + "/wildcards", withIntermediateDirectories: true)
        for (name, lines) in wildcards { try lines.write(toFile: folder + "/wildcards/\(name).txt", atomically: false, encoding: .utf8) }
        let yaml = """
            version: 1
            generate:
            \(generate.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
            finish:
              long_edge: 64
              max_enlargement: 4
            metadata:
              creator: Test Suite
              keywords: [bicycle]
            agencies: [adobe-stock, shutterstock]
            output: out
            """
        let path = folder + "/w.yaml"
        try yaml.write(toFile: path, atomically: false, encoding: .utf8)
        return (folder, path)
    }

    func plan(_ path: String) throws -> WorkflowPlan {
        try Planner.plan(try WorkflowParser.parse(file: path), presetsFolder: TestSupport.presetsFolder)
    }

    func issues(_ path: String) -> [WorkflowIssue] {
        do { _ = try plan(path); return [] } catch let error as WorkflowValidationError { return error.issues } catch { return [] }
    }

    static let basic = """
        model: \(tinyModel)
        prompts: ["a {red|blue} bicycle by __places__"]
        negative: blurry
        seeds: [5, 6]
        size: 16x16
        steps: 3
        sampler: euler-a
        guidance: 7.5
        """

    @Test func generatesEveryPromptAndSeedWithParametersInTheFiles() throws {
        let (folder, path) = try makeWorkflow(Self.basic)
        let plan = try plan(path)
        let prompts = plan.jobs.map { $0.generation!.parameters.prompt }
        #expect(prompts == ["a red bicycle by the sea", "a red bicycle by the sea", "a red bicycle by the river", "a red bicycle by the river",
                            "a blue bicycle by the sea", "a blue bicycle by the sea", "a blue bicycle by the river", "a blue bicycle by the river"])
        #expect(plan.jobs.map { $0.generation!.parameters.seed } == [5, 6, 5, 6, 5, 6, 5, 6])
        #expect(Set(plan.jobs.map(\.name)).count == 8 && plan.jobs[0].name == "a-red-bicycle-by-the-s5" && plan.jobs[2].name == "a-red-bicycle-by-the-s5-2")

        let summary = try Runner(plan: plan).run()
        #expect(summary.images.count == 8 && summary.images.allSatisfy { $0.failure == nil && $0.aiGenerated })
        #expect(summary.stagesRun == 8 * 4)
        // The AI image is refused by Shutterstock for its AI policy.
        #expect(summary.images.allSatisfy { $0.verdicts.first { $0.agency == "shutterstock" }?.reasons.contains { $0.rule == "ai_policy" } == true })

        // The generated source equals what the pipeline makes for the same request.
        let model = try StableDiffusionModel(path: Self.tinyModel, backend: EngineBackend.current)
        let direct = try Pipeline(model: model).generate(GenerationRequest(prompt: "a red bicycle by the sea", negativePrompt: "blurry", seed: 6,
                                                                         steps: 3, guidance: 7.5, sampler: .eulerAncestral, width: 16, height: 16))
        let generated = try RGBImage.read(plan.jobs[1].source, size: (16, 16))
        #expect(try generated.pixels == ImagePixels.rgb(from: direct.image))

        // The finished JPEG carries the parameters: ExifTool reads our JSON and A1111's text.
        let image = folder + "/out/images/\(plan.jobs[1].name).jpg"
        let tags = try TestSupport.exiftool(image)
        let parameters = try #require((tags["XMP-stockwerk:Generation"] as? String).flatMap(GenerationParameters.fromJSON))
        #expect(parameters.prompt == "a red bicycle by the sea" && parameters.seed == 6 && parameters.sampler == "euler-a" && parameters.model == "tiny-sd1")
        #expect(parameters.modelHash.count == 10)
        let comment = try #require(tags["ExifIFD:UserComment"] as? String)
        #expect(comment.hasPrefix("a red bicycle by the sea\nNegative prompt: blurry\nSteps: 3, Sampler: Euler a, CFG scale: 7.5, Seed: 6, Size: 16x16"))
        #expect(tags["XMP-iptcExt:DigitalSourceType"] as? String == DigitalSourceType.trainedAlgorithmicMedia.uri)
        #expect(tags["XMP-dc:Title"] as? String == "A red bicycle by the sea")
        #expect(tags["XMP-iptcExt:AIPromptInformation"] as? String == "a red bicycle by the sea")
        #expect(tags["XMP-iptcExt:AIPromptWriterName"] as? String == "Test Suite")
        #expect((tags["XMP-iptcExt:AISystemUsed"] as? String)?.hasSuffix("model tiny-sd1") == true)

        // A rerun does nothing; a lost image is made again, identical to the first time.
        let second = try Runner(plan: try self.plan(path)).run()
        #expect(second.stagesRun == 0 && second.stagesSkipped == 32)
        let firstHash = try Hashing.file(plan.jobs[1].source)
        try FileManager.default.removeItem(atPath: plan.jobs[1].source)
        try FileManager.default.removeItem(atPath: image)
        let third = try Runner(plan: try self.plan(path)).run()
        #expect(third.stagesRun == 2)  // generate and tag for the lost image; finish and check find the same bytes
        #expect(try Hashing.file(plan.jobs[1].source) == firstHash)
    }

    @Test func modelsNotOnDiskAreNamedWithTheirFiles() throws {
        let (folder, path) = try makeWorkflow("model: sd15\nmodels_folder: empty-models\nprompts: [a cat]")
        let found = issues(path)
        let issue = try #require(found.first)
        #expect(found.count == 1 && issue.line == 3 && issue.column == 10, "\(found)")
        #expect(issue.message.contains("not on disk") && issue.message.contains(folder + "/empty-models/v1-5-pruned-emaonly.safetensors"))
        #expect(issue.hint.contains("huggingface.co"))

        let (_, unknown) = try makeWorkflow("model: sd-15\nprompts: [a cat]")
        #expect(issues(unknown).first?.hint.contains("did you mean `sd15`?") == true)
    }

    @Test func badPromptsAndSettingsFailBeforeAnyWork() throws {
        let (folder, missingWildcard) = try makeWorkflow("model: \(Self.tinyModel)\nprompts: [\"a __colours__ cat\"]")
        let wildcard = try #require(issues(missingWildcard).first)
        #expect(wildcard.message.contains("__colours__") && wildcard.message.contains(folder + "/wildcards/colours.txt") && wildcard.line == 4)

        let (_, tooMany) = try makeWorkflow("model: \(Self.tinyModel)\nprompts: [\"{a|b|c} {d|e|f} __places__\"]\nmax_prompts: 10")
        #expect(issues(tooMany).first?.message.contains("expands to 18 prompts, more than max_prompts (10)") == true)

        let (_, badSampler) = try makeWorkflow("model: \(Self.tinyModel)\nprompts: [a cat]\nsampler: euler_a\nsize: 500x500")
        let found = issues(badSampler)
        #expect(found.contains { $0.message.contains("unknown sampler") && $0.hint.contains("euler-a") })
        #expect(found.contains { $0.message.contains("multiples of 8") })

        let (pickleFolder, pickle) = try makeWorkflow("model: model.ckpt\nprompts: [a cat]")
        FileManager.default.createFile(atPath: pickleFolder + "/model.ckpt", contents: Data([0x80, 0x02]))
        #expect(issues(pickle).first?.message.contains("pickle") == true)
    }

    /// Every model preset names its files, where to get them, its licence and usable settings.
    @Test func modelPresetsAreComplete() throws {
        let presets = try ModelLocator.presets(in: TestSupport.presetsFolder)
        #expect(Set(presets.map(\.id)).isSuperset(of: ["sd15", "sd21", "sd21-base", "sd-turbo"]))
        for preset in presets {
            #expect(!preset.files.isEmpty && preset.files.contains { $0.hasSuffix(".safetensors") }, "\(preset.id)")
            #expect(preset.get.contains("https://") && !preset.license.isEmpty, "\(preset.id)")
            #expect(WorkflowParser.samplers.contains(preset.recommended.sampler) && ModelLocator.parseSize(preset.recommended.size) != nil, "\(preset.id)")
            #expect(["sd1", "sd2", "sdxl", "sdxl-refiner"].contains(preset.family), "\(preset.id)")
            #expect(preset.prediction.map { ["epsilon", "v_prediction"].contains($0) } ?? true, "\(preset.id)")
        }
        // A preset found on disk: single files get the preset's scheduler settings, folders keep their own.
        let models = try TestSupport.temporaryFolder("models")
        FileManager.default.createFile(atPath: models + "/sd_turbo.safetensors", contents: Data())
        let turbo = try ModelLocator.resolve("sd-turbo", baseFolder: "/", presetsFolder: TestSupport.presetsFolder, modelsFolder: models)
        #expect(turbo.path == models + "/sd_turbo.safetensors" && turbo.options.spacing == .trailing && turbo.options.prediction == .epsilon)
        try FileManager.default.createDirectory(atPath: models + "/sd-turbo", withIntermediateDirectories: true)
        let folder = try ModelLocator.resolve("sd-turbo", baseFolder: "/", presetsFolder: TestSupport.presetsFolder, modelsFolder: models)
        #expect(folder.path == models + "/sd-turbo" && folder.options.spacing == nil && folder.options.prediction == nil)
    }

    /// The model hash is cached by path, size and modification time: a changed file is hashed again.
    @Test func modelHashFollowsTheFile() throws {
        let folder = try TestSupport.temporaryFolder("model-hash")
        let file = folder + "/model.safetensors"
        try Data(repeating: 1, count: 1000).write(to: URL(fileURLWithPath: file))
        let first = try ModelLocator.modelHash(file), direct = String(try Hashing.file(file).prefix(10)), again = try ModelLocator.modelHash(file)
        #expect(first == direct && again == first)
        try Data(repeating: 2, count: 1001).write(to: URL(fileURLWithPath: file))
        let second = try ModelLocator.modelHash(file), directSecond = String(try Hashing.file(file).prefix(10))
        #expect(second != first && second == directSecond)
        #expect(ModelLocator.parseSize("512x768")! == (512, 768) && ModelLocator.parseSize("512x") == nil && ModelLocator.parseSize("0x5") == nil)
    }

    @Test func promptExpansionRules() throws {
        let folder = try TestSupport.temporaryFolder("wildcards")
        try "red\n{pale|deep} blue\n".write(toFile: folder + "/colour.txt", atomically: false, encoding: .utf8)
        try "__loop__\n".write(toFile: folder + "/loop.txt", atomically: false, encoding: .utf8)
        let expander = PromptExpander(wildcardsFolder: folder)
        #expect(try expander.expand("a __colour__ {car|{small|big} boat}") == [
            "a red car", "a red small boat", "a red big boat", "a pale blue car", "a pale blue small boat", "a pale blue big boat",
            "a deep blue car", "a deep blue small boat", "a deep blue big boat"])
        #expect(try expander.count("{a|b} {c|d|e} {f|g}") == 12)
        #expect(try expander.expand("keep {this} and __not a wildcard__") == ["keep {this} and __not a wildcard__"])
        #expect(throws: PromptExpander.Failure.self) { try expander.expand("__loop__") }
    }
}
