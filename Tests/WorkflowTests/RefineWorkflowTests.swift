import Diffusion
import Foundation
import Imaging
import Metadata
import TestSupport
import Testing
@testable import Workflow

/// The workflow's `refine:` stage (hires pass) on the tiny SD1-style fixture: generate → refine →
/// finish, each stage cached on its own, the pass recorded in the file and reproduced by rerun.
@Suite struct RefineWorkflowTests {
    static let tinySDXL = TestSupport.repositoryRoot + "/Tests/Fixtures/pipelines/tiny-sdxl"

    func write(_ refine: String, longEdge: Int = 128, model: String = GenerateWorkflowTests.tinyModel, in folder: String) throws -> String {
        let yaml = """
            generate:
              model: \(model)
              prompts: ["a red fox in snow"]
              seeds: [11]
              size: 16x16
              steps: 3
              sampler: ddim
            \(refine)
            finish: {long_edge: \(longEdge), max_enlargement: 4}
            metadata: {creator: Test Suite, keywords: [fox]}
            agencies: [adobe-stock]
            output: out
            """
        try yaml.write(toFile: folder + "/w.yaml", atomically: false, encoding: .utf8)
        return folder + "/w.yaml"
    }

    func plan(_ path: String) throws -> WorkflowPlan { try Planner.plan(try WorkflowParser.parse(file: path), presetsFolder: TestSupport.presetsFolder) }

    /// Plans and runs the workflow with `refine`; every mode here makes 16 px, refines to 32 px and
    /// finishes to 128 (4×, allowed; 16 → 128 alone would be 8×). Returns the refined source.
    func runRefined(_ refine: String, in folder: String) throws -> (WorkflowPlan, Job, RGBImage) {
        let plan = try plan(try write(refine, in: folder))
        let job = try #require(plan.jobs.first)
        #expect(job.sourceInfo.width == 32 && job.planned.width == 128)
        let summary = try Runner(plan: plan).run()
        #expect(summary.images.allSatisfy { $0.failure == nil }, "\(summary.images.map { $0.failure ?? "" })")
        let refined = try RGBImage.read(job.source)
        #expect(refined.width == 32 && refined.height == 32)
        return (plan, job, refined)
    }

    @Test(arguments: ["latent", "pixel"])
    func refinesCachesAndReruns(mode: String) throws {
        let folder = try TestSupport.temporaryFolder("refine")
        let refine = "refine: {mode: \(mode), factor: 2, strength: 0.5, steps: 4, sampler: euler-a}"
        let (plan, job, refined) = try runRefined(refine, in: folder)

        // The refined source is the hires pass of the first pass, as the Diffusion API makes it.
        let model = try StableDiffusionModel(path: GenerateWorkflowTests.tinyModel, backend: EngineBackend.current)
        let pipeline = Pipeline(model: model)
        let base = GenerationRequest(prompt: "a red fox in snow", seed: 11, steps: 3, guidance: 7.5, sampler: .ddim, width: 16, height: 16)
        let first = try pipeline.generate(base)
        let hires = HiresRefine(enlargement: mode == "pixel" ? .pixel : .bicubicAntialiased, factor: 2, strength: 0.5, steps: 4, sampler: .eulerAncestral)
        let direct = try hires.run(refining: HiresRefine.asSaved(first), of: base, pipeline: pipeline)
        #expect(try refined.pixels == ImagePixels.rgb(from: direct.image))

        // The pass is in the file, in our JSON and in A1111's text; `rerun` makes the same pixels.
        let output = folder + "/out/images/\(job.name).jpg"
        let tags = try TestSupport.exiftool(output)
        #expect((tags["ExifIFD:UserComment"] as? String)?.contains("Hires upscale: 2, Hires steps: 4") == true, "\(tags["ExifIFD:UserComment"] ?? "")")
        let parameters = try Rerun.parameters(of: output)
        #expect(parameters.hires == GenerationParameters.Hires(upscaler: mode == "pixel" ? "pixel" : "bicubic-antialiased", factor: 2, steps: 4,
                                                               strength: 0.5, sampler: "euler-a"))
        let again = try Rerun.generate(parameters, model: try Rerun.model(for: parameters, override: GenerateWorkflowTests.tinyModel,
                                                                          presetsFolder: TestSupport.presetsFolder, modelsFolder: folder))
        #expect(again.image.pixels == refined.pixels)

        // Run again: nothing to do. Change only the finish size: no diffusion runs again.
        let second = try Runner(plan: plan).run()
        #expect(second.stagesRun == 0 && second.stagesSkipped == 5, "\(second.stagesRun) run, \(second.stagesSkipped) skipped")
        let resized = try Runner(plan: try self.plan(try write(refine, longEdge: 96, in: folder))).run()
        #expect(resized.stagesRun == 3 && resized.stagesSkipped == 2 && resized.images.first?.width == 96,
                "generate and refine skipped: \(resized.stagesRun) run, \(resized.stagesSkipped) skipped")
    }

    @Test func refusesBadSettingsWithTheirLocation() throws {
        let folder = try TestSupport.temporaryFolder("refine-bad")
        for (refine, expected) in [("refine: {mode: x2-upscaler, strength: 0.5}", "refine.strength does not apply"),
                                   ("refine: {mode: x2-upscaler, factor: 3}", "only doubles"), ("refine: {mode: pixel, guidance: 3}", "refine.guidance does not apply"),
                                   ("refine: {mode: x3}", "refine.mode"), ("refine: {factor: 9}", "refine.factor"),
                                   ("refine: {tile_size: 32, tile_overlap: 16}", "half the tile size"), ("refine: {upscale: lanczos}", "refine.upscale"),
                                   ("refine: {sampler: heun}", "refine.sampler")] {
            let path = try write(refine, in: folder)
            #expect(throws: WorkflowValidationError.self) { try WorkflowParser.parse(file: path) }
            do { _ = try WorkflowParser.parse(file: path) } catch let error as WorkflowValidationError {
                #expect(error.issues.contains { $0.message.contains(expected) && $0.line == 8 }, "\(refine): \(error.issues)")
            }
        }
        let imported = folder + "/imported.yaml"
        try "import: {files: \"*.jpg\"}\nrefine: {mode: latent}\n".write(toFile: imported, atomically: false, encoding: .utf8)
        do { _ = try WorkflowParser.parse(file: imported); Issue.record("refine without generate was accepted") } catch let error as WorkflowValidationError {
            #expect(error.issues.contains { $0.message.contains("generates none") && $0.line == 2 })
        }
    }

    static let upscalerFolder = TestSupport.repositoryRoot + "/Tests/Fixtures/pipelines/tiny-x2-upscaler"

    /// `mode: x2-upscaler`: the first pass's latents doubled by the x2 latent upscaler model (the
    /// tiny fixture checked against diffusers in LatentUpscalerTests), recorded and rerun.
    @Test func x2UpscalerRefinesCachesAndReruns() throws {
        let folder = try TestSupport.temporaryFolder("refine-x2")
        let refine = "refine: {mode: x2-upscaler, model: \(Self.upscalerFolder), steps: 3, guidance: 7.5}"
        let (plan, job, refined) = try runRefined(refine, in: folder)

        // The refined source is the upscaler run on the first pass's latents, as the Diffusion API makes it.
        let base = GenerationRequest(prompt: "a red fox in snow", seed: 11, steps: 3, guidance: 7.5, sampler: .ddim, width: 16, height: 16)
        let first = try Pipeline(model: try StableDiffusionModel(path: GenerateWorkflowTests.tinyModel, backend: EngineBackend.current)).generate(base)
        let upscaler = try LatentUpscalerModel(path: Self.upscalerFolder, backend: EngineBackend.current)
        let direct = try LatentUpscaler(model: upscaler).upscale(first.latents, .init(prompt: "a red fox in snow", seed: 11, steps: 3, guidance: 7.5))
        #expect(try refined.pixels == ImagePixels.rgb(from: direct.image))

        // Recorded with the upscaler's name and hash (A1111: Hires checkpoint, Hires CFG Scale); rerun makes the same pixels.
        let output = folder + "/out/images/\(job.name).jpg"
        let comment = try TestSupport.exiftool(output)["ExifIFD:UserComment"] as? String ?? ""
        let hash = try ModelLocator.modelHash(Self.upscalerFolder)
        #expect(comment.contains("Hires upscaler: SD x2 latent upscaler") && comment.contains("Hires checkpoint: tiny-x2-upscaler [\(hash)]")
                && comment.contains("Hires CFG Scale: 7.5") && comment.contains("Denoising strength: 1"), "\(comment)")
        let parameters = try Rerun.parameters(of: output)
        let hires = GenerationParameters.Hires(upscaler: "x2-upscaler", factor: 2, steps: 3, strength: 1, model: "tiny-x2-upscaler", modelHash: hash,
                                               modelPath: Self.upscalerFolder, guidance: 7.5)
        #expect(parameters.hires == hires)
        var fromText = hires
        fromText.modelPath = nil
        #expect(GenerationParameters.fromA1111(parameters.a1111Text)?.hires == fromText)
        let again = try Rerun.generate(parameters, model: try Rerun.model(for: parameters, override: GenerateWorkflowTests.tinyModel,
                                                                          presetsFolder: TestSupport.presetsFolder, modelsFolder: folder))
        #expect(again.image.pixels == refined.pixels && again.warning == nil)

        // Run again: nothing to do.
        let second = try Runner(plan: plan).run()
        #expect(second.stagesRun == 0 && second.stagesSkipped == 5, "\(second.stagesRun) run, \(second.stagesSkipped) skipped")
    }

    @Test func x2UpscalerThatIsNotThereIsNamedWithItsLocation() throws {
        let folder = try TestSupport.temporaryFolder("refine-x2-missing")
        for (refine, expected) in [("refine: {mode: x2-upscaler, model: nowhere}", "is not on disk"),
                                   ("refine: {mode: x2-upscaler, model: \(GenerateWorkflowTests.tinyModel)}", "not StableDiffusionLatentUpscalePipeline")] {
            do { _ = try plan(try write(refine, in: folder)); Issue.record("\(refine) was accepted") } catch let error as WorkflowValidationError {
                #expect(error.issues.contains { $0.message.contains(expected) && $0.line == 8 }, "\(refine): \(error.issues)")
            }
        }
    }

    /// SDXL through the whole workflow: generate, a hires pass with the same model, finish.
    @Test func sdxlGeneratesAndRefinesWithTheSameModel() throws {
        let folder = try TestSupport.temporaryFolder("refine-sdxl")
        let plan = try plan(try write("refine: {mode: latent, factor: 2, strength: 0.6, steps: 3}", model: Self.tinySDXL, in: folder))
        let job = try #require(plan.jobs.first)
        #expect(job.sourceInfo.width == 32 && job.planned.width == 128)
        let summary = try Runner(plan: plan).run()
        #expect(summary.images.count == 1 && summary.images.allSatisfy { $0.failure == nil }, "\(summary.images.map { $0.failure ?? "" })")
        #expect(try RGBImage.read(job.source).width == 32)
    }

    /// The x2 latent upscaler was trained on SD 1.x/2.x latents: refused for SDXL where it is asked for.
    @Test func x2UpscalerIsRefusedForSDXL() throws {
        let folder = try TestSupport.temporaryFolder("refine-x2-sdxl")
        do {
            _ = try plan(try write("refine: {mode: x2-upscaler}", model: Self.tinySDXL, in: folder))
            Issue.record("the x2 upscaler was accepted for SDXL")
        } catch let error as WorkflowValidationError {
            #expect(error.issues.contains { $0.message.contains("SDXL") && $0.line == 8 }, "\(error.issues)")
        }
    }
}
