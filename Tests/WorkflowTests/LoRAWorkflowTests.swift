import CPUBackend
import Diffusion
import Foundation
import Imaging
import Metadata
import TestSupport
import Testing
@testable import Workflow

/// LoRAs in workflows, prompts and rerun: `generate.loras` and `<lora:name:weight>` tags, found by
/// name in the LoRA folder, part of each image's identity, recorded in its prompt, made again by rerun.
@Suite struct LoRAWorkflowTests {
    static let loras = TestSupport.repositoryRoot + "/Tests/Fixtures/loras"
    /// One small image of the tiny SD1 model, two DDIM steps.
    static let foxInSnow = """
        model: \(GenerateWorkflowTests.tinyModel)
        prompts: ["a red fox in snow"]
        seeds: [7]
        size: 16x16
        steps: 2
        sampler: ddim
        """

    @Test func tagsAreTakenOutOfTheTextAndRead() {
        let parsed = ExtraNetworks.parse("a fox <lora:style-a:0.8>, snow <lora:detail> <hypernet:x:1> <lora:two:0.5:0.7> a<b")
        #expect(parsed.text == "a fox , snow    a<b")
        #expect(parsed.loras == [.init(name: "style-a", weight: 0.8), .init(name: "detail", weight: 1)])
        #expect(parsed.unsupported == ["<hypernet:x:1>", "<lora:two:0.5:0.7>"])
    }

    @Test func workflowLoRAsMakeTheirOwnImagesAndAreRecorded() throws {
        let workflow = GenerateWorkflowTests()
        let generate = LoRAWorkflowTests.foxInSnow + "\nguidance: 7.5"
        let (_, plainPath) = try workflow.makeWorkflow(generate)
        let (folder, path) = try workflow.makeWorkflow(generate + "\nloras: [{name: sd1-kohya, weight: 0.8}]\nloras_folder: \(Self.loras)")
        let plain = try workflow.plan(plainPath), withLoRA = try workflow.plan(path)
        let job = try #require(withLoRA.jobs.first), generation = try #require(job.generation)
        #expect(generation.parameters.prompt == "a red fox in snow <lora:sd1-kohya:0.8>")
        #expect(generation.options.loras == [LoRAReference(path: Self.loras + "/sd1-kohya.safetensors", weight: 0.8)])
        #expect(generation.inputsHash != plain.jobs[0].generation?.inputsHash)

        let summary = try Runner(plan: withLoRA).run()
        #expect(summary.images.count == 1 && summary.images[0].failure == nil, "\(summary.images.map(\.failure))")
        let model = try StableDiffusionModel(path: GenerateWorkflowTests.tinyModel, options: .init(loras: generation.options.loras), backend: CPUBackend.shared)
        let direct = try ImagePixels.rgb(from: try Pipeline(model: model).generate(GenerationChain.request(generation.parameters, sampler: .ddim)).image)
        #expect(try RGBImage.read(job.source).pixels == direct)

        // rerun finds the LoRA by the name in the recorded prompt, in the models folder's loras/.
        let models = try TestSupport.temporaryFolder("rerun-models")
        try FileManager.default.createDirectory(atPath: models + "/loras", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.loras + "/sd1-kohya.safetensors", toPath: models + "/loras/sd1-kohya.safetensors")
        let output = folder + "/out/images/\(job.name).jpg"
        let recorded = try Rerun.parameters(of: output)
        #expect(recorded.prompt.contains("<lora:sd1-kohya:0.8>"))
        let resolved = try Rerun.model(for: recorded, override: nil, presetsFolder: TestSupport.presetsFolder, modelsFolder: models)
        let again = try Rerun.generate(recorded, model: resolved, modelsFolder: models)
        #expect(again.image.pixels == direct)
        #expect(throws: ModelLookupError.self) { try Rerun.generate(recorded, model: resolved, modelsFolder: try TestSupport.temporaryFolder("no-loras")) }
    }

    @Test func aMissingLoRAIsNamedWhereThePromptIs() throws {
        let workflow = GenerateWorkflowTests()
        let (_, path) = try workflow.makeWorkflow("""
            model: \(GenerateWorkflowTests.tinyModel)
            prompts: ["a fox <lora:nowhere:0.5>"]
            seeds: [1]
            size: 16x16
            loras_folder: \(Self.loras)
            """)
        let issues = workflow.issues(path)
        #expect(issues.contains { $0.message.contains("nowhere") && $0.line == 4 }, "\(issues)")
    }
}

/// `generate.vae`: another VAE is part of each image's identity and recorded as A1111 records it.
@Suite struct VAEWorkflowTests {
    @Test func anotherVAEIsRecordedAndChangesTheIdentity() throws {
        let workflow = GenerateWorkflowTests()
        let generate = LoRAWorkflowTests.foxInSnow
        let (_, plainPath) = try workflow.makeWorkflow(generate)
        let vae = TestSupport.repositoryRoot + "/Tests/Fixtures/vae-choice/other-vae.safetensors"
        let (_, path) = try workflow.makeWorkflow(generate + "\nvae: \(vae)")
        let plain = try workflow.plan(plainPath), other = try workflow.plan(path)
        let generation = try #require(other.jobs.first?.generation)
        #expect(generation.options.vae == vae && generation.parameters.vae == "other-vae.safetensors" && generation.parameters.vaeHash?.count == 10)
        #expect(generation.inputsHash != plain.jobs[0].generation?.inputsHash)
        #expect(generation.parameters.a1111Text.contains("VAE hash: \(generation.parameters.vaeHash!), VAE: other-vae.safetensors"))
        #expect(GenerationParameters.fromA1111(generation.parameters.a1111Text)?.vae == "other-vae.safetensors")
        let (_, missing) = try workflow.makeWorkflow(generate + "\nvae: nowhere.safetensors")
        #expect(workflow.issues(missing).contains { $0.message.contains("nowhere.safetensors") && $0.line == 9 }, "\(workflow.issues(missing))")
    }
}

/// `stockwerk rerun` of another tool's image names everything it cannot reproduce before any work.
@Suite struct RerunAssessmentTests {
    static let a1111 = "a fox <lora:missing-style:0.7> <hypernet:old:1>\nNegative prompt: blurry\n"
        + "Steps: 20, Sampler: Heun, CFG scale: 7, Seed: 1, Size: 512x512, Model hash: x, Model: m, VAE: gone.safetensors, "
        + "Clip skip: 2, ADetailer model: face_yolov8n.pt, Version: v1.10.1"

    @Test func blockersAndDifferencesAreNamed() throws {
        let parameters = try #require(GenerationParameters.fromA1111(Self.a1111))
        let models = try TestSupport.temporaryFolder("assess-models")
        let found = Rerun.assess(parameters, modelsFolder: models)
        #expect(found.blocking.count == 4, "\(found.blocking)")
        for name in ["`Heun`", "`missing-style`", "<hypernet:old:1>", "`gone.safetensors`"] {
            #expect(found.blocking.contains { $0.contains(name) }, "\(name) in \(found.blocking)")
        }
        #expect(found.differences.count == 2, "\(found.differences)")
        #expect(parameters.clipSkip == 2)  // Clip skip is applied, not a difference
        for name in ["ADetailer model: face_yolov8n.pt", "GPU"] {
            #expect(found.differences.contains { $0.contains(name) }, "\(name) in \(found.differences)")
        }
        // Stockwerk's own images: nothing to report.
        var ours = parameters
        (ours.prompt, ours.sampler, ours.vae, ours.otherSettings) = ("a fox", "euler-a", nil, nil)
        #expect(Rerun.assess(ours, modelsFolder: models) == Rerun.Assessment())
        #expect(GenerationParameters.fromA1111(ours.a1111Text)?.otherSettings == nil)
    }

    @Test func theCommandRefusesBeforeAnyWork() throws {
        let folder = try TestSupport.temporaryFolder("rerun-a1111")
        let image = RGBImage(width: 8, height: 8, pixels: [UInt8](repeating: 128, count: 8 * 8 * 3))
        try image.write(to: folder + "/a1111.png", pngText: ["parameters": Self.a1111])
        let result = try TestSupport.run(TestSupport.stockwerkBinary, ["rerun", folder + "/a1111.png"])
        #expect(result.status == 2, "\(result.stderr)")
        for name in ["Heun", "missing-style", "hypernet:old", "gone.safetensors", "Clip skip: 2", "ADetailer"] {
            #expect(result.stderr.contains(name), "\(name): \(result.stderr)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["a1111.png"])
    }
}

/// Textual inversions a workflow's prompts name are found in the embeddings folder and count in the image's identity.
@Suite struct EmbeddingWorkflowTests {
    @Test func namedEmbeddingsAreFoundAndHashed() throws {
        let workflow = GenerateWorkflowTests()
        let embeddings = TestSupport.repositoryRoot + "/Tests/Fixtures/embeddings"
        let empty = try TestSupport.temporaryFolder("no-embeddings")
        func generate(_ folder: String) -> String {
            """
            model: \(GenerateWorkflowTests.tinyModel)
            prompts: ["a fox in snow, tiny-style"]
            negative: bad-hands
            seeds: [3]
            size: 16x16
            embeddings_folder: \(folder)
            """
        }
        let with = try workflow.plan(try workflow.makeWorkflow(generate(embeddings)).path)
        let without = try workflow.plan(try workflow.makeWorkflow(generate(empty)).path)
        let generation = try #require(with.jobs.first?.generation)
        #expect(generation.options.embeddings == [embeddings + "/bad-hands.safetensors", embeddings + "/tiny-style.safetensors"])
        #expect(without.jobs.first?.generation?.options.embeddings == [])
        #expect(generation.inputsHash != without.jobs.first?.generation?.inputsHash)
    }
}
