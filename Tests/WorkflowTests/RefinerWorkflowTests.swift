import Diffusion
import Foundation
import Imaging
import Metadata
import Neural
import TestSupport
import Testing
@testable import Workflow

/// `generate.refiner`: the SDXL base hands over to the refiner inside the generate stage, as
/// diffusers' ensemble of expert denoisers does; recorded as A1111 records it, part of the
/// image's identity, checked before any work, and reproduced by rerun.
@Suite struct RefinerWorkflowTests {
    static let pipelines = TestSupport.repositoryRoot + "/Tests/Fixtures/pipelines/"
    static let expected = pipelines + "tiny-sdxl/expected.safetensors"

    /// The hand-over fixture's prompts and seed (build_sdxl_fixtures.py) as a workflow.
    func write(refiner: String, model: String = pipelines + "tiny-sdxl", in folder: String) throws -> String {
        let file = try SafeTensorsFile(path: Self.expected)
        func quoted(_ text: String) throws -> String { String(decoding: try JSONEncoder().encode(text), as: UTF8.self) }
        let yaml = """
            generate:
              model: \(model)
              prompts: [\(try quoted(try #require(file.metadata["prompt"])))]
              negative: \(try quoted(try #require(file.metadata["negative_prompt"])))
              seeds: [\(Int(try file.tensor("handover.seed").storage[0]))]
              size: 16x16
              steps: 10
              sampler: euler
              guidance: 7.5
              \(refiner)
            finish: {long_edge: 64, max_enlargement: 4}
            metadata: {creator: Test Suite, keywords: [test]}
            agencies: [adobe-stock]
            output: out
            """
        try yaml.write(toFile: folder + "/w.yaml", atomically: false, encoding: .utf8)
        return folder + "/w.yaml"
    }

    func plan(_ path: String) throws -> WorkflowPlan { try Planner.plan(try WorkflowParser.parse(file: path), presetsFolder: TestSupport.presetsFolder) }

    /// The generate stage's image is diffusers' base → refiner hand-over (within 1/255), the
    /// parameters name the refiner in A1111's words, and rerun makes the same pixels.
    @Test func handsOverToTheRefinerAsDiffusersDoes() throws {
        let folder = try TestSupport.temporaryFolder("refiner-workflow")
        let plan = try plan(try write(refiner: "refiner: {model: \(Self.pipelines)tiny-sdxl-refiner, switch_at: 0.8}", in: folder))
        let job = try #require(plan.jobs.first)
        let generation = try #require(job.generation)
        #expect(generation.refiner?.switchAt == 0.8 && generation.refiner?.modelPath == Self.pipelines + "tiny-sdxl-refiner")
        let summary = try Runner(plan: plan).run()
        #expect(summary.images.allSatisfy { $0.failure == nil }, "\(summary.images.map { $0.failure ?? "" })")

        let made = try RGBImage.read(generation.firstPassPath)
        let reference = try SafeTensorsFile(path: Self.expected).tensor("handover.image")  // [1, 3, 16, 16] in [0, 1]
        var worst: Float = 0
        for y in 0..<16 { for x in 0..<16 { for c in 0..<3 {
            worst = max(worst, abs(Float(made.pixels[(y * 16 + x) * 3 + c]) / 255 - reference.storage[c * 256 + y * 16 + x]))
        } } }
        #expect(worst <= 1.5 / 255, "worst pixel difference \(worst * 255)/255")

        let text = generation.parameters.a1111Text
        #expect(text.contains("Refiner: tiny-sdxl-refiner [\(try ModelLocator.modelHash(Self.pipelines + "tiny-sdxl-refiner"))], Refiner switch at: 0.8"), "\(text)")
        let read = try #require(GenerationParameters.fromA1111(text))
        #expect(read.refiner?.model == "tiny-sdxl-refiner" && read.refiner?.switchAt == 0.8 && read.otherSettings == nil)

        // rerun: the same hand-over from the parameters alone.
        let base = try Rerun.model(for: generation.parameters, override: nil, presetsFolder: TestSupport.presetsFolder, modelsFolder: folder)
        #expect(Rerun.assess(generation.parameters, presetsFolder: TestSupport.presetsFolder, modelsFolder: folder).blocking.isEmpty)
        let again = try Rerun.generate(generation.parameters, model: base, modelsFolder: folder, presetsFolder: TestSupport.presetsFolder).image
        #expect(again.pixels == made.pixels)
    }

    /// The refiner and where it takes over are part of what makes the pixels; an image without
    /// one keeps the identity it had before refiners existed.
    @Test func theRefinerIsPartOfTheIdentity() throws {
        let folder = try TestSupport.temporaryFolder("refiner-identity")
        func inputsHash(_ refiner: String) throws -> String { try #require(try plan(try write(refiner: refiner, in: folder)).jobs.first?.generation).inputsHash }
        let none = try inputsHash(""), at80 = try inputsHash("refiner: \(Self.pipelines)tiny-sdxl-refiner")
        let at70 = try inputsHash("refiner: {model: \(Self.pipelines)tiny-sdxl-refiner, switch_at: 0.7}")
        #expect(Set([none, at80, at70]).count == 3)
        #expect(try inputsHash("refiner: {model: \(Self.pipelines)tiny-sdxl-refiner, switch_at: 0.8}") == at80)  // 0.8 is the default
    }

    /// Mistakes are named at their line before any work: a refiner after a model that is not an
    /// SDXL base, a model that is not a refiner, a switch outside (0, 1), a refiner not on disk.
    @Test func mistakesAreNamedAtTheirLine() throws {
        let folder = try TestSupport.temporaryFolder("refiner-mistakes")
        let cases: [(refiner: String, model: String, says: String)] = [
            ("refiner: \(Self.pipelines)tiny-sdxl-refiner", Self.pipelines + "tiny-sd1", "not an SDXL base"),
            ("refiner: \(Self.pipelines)tiny-sdxl", Self.pipelines + "tiny-sdxl", "not an SDXL refiner"),
            ("refiner: {model: \(Self.pipelines)tiny-sdxl-refiner, switch_at: 1.5}", Self.pipelines + "tiny-sdxl", "switch_at"),
            ("refiner: {switch_at: 0.5}", Self.pipelines + "tiny-sdxl", "needs a `model`"),
            ("refiner: sdxl-refiner", Self.pipelines + "tiny-sdxl", "sdxl-refiner"),
        ]
        for (refiner, model, says) in cases {
            do {
                _ = try plan(try write(refiner: refiner, model: model, in: folder))
                Issue.record("accepted: \(refiner) after \(model)")
            } catch let error as WorkflowValidationError {
                #expect(error.issues.contains { $0.message.contains(says) && $0.line == 10 }, "\(refiner): \(error.issues)")
            }
        }
    }

    /// A1111's text names the refiner by file name: rerun finds NAME.safetensors in the models
    /// folder, and names it as blocking when it is not there.
    @Test func rerunFindsTheRefinerByNameOrNamesItMissing() throws {
        let models = try TestSupport.temporaryFolder("refiner-models")
        var parameters = GenerationParameters(prompt: "x", negativePrompt: "", seed: 1, steps: 4, sampler: "euler", guidance: 5, width: 16, height: 16,
                                              model: "tiny-sdxl", modelHash: "")
        parameters.refiner = .init(model: "sd_xl_refiner_1.0", modelHash: "7440042bbd", switchAt: 0.8)
        #expect(Rerun.assess(parameters, presetsFolder: TestSupport.presetsFolder, modelsFolder: models).blocking.contains { $0.contains("sd_xl_refiner_1.0") })
        try FileManager.default.copyItem(atPath: Self.pipelines + "tiny-sdxl-refiner.safetensors", toPath: models + "/sd_xl_refiner_1.0.safetensors")
        #expect(Rerun.assess(parameters, presetsFolder: TestSupport.presetsFolder, modelsFolder: models).blocking.isEmpty)
        #expect(try Rerun.refiner(parameters.refiner!, presetsFolder: TestSupport.presetsFolder, modelsFolder: models).path == models + "/sd_xl_refiner_1.0.safetensors")
    }
}
