import Diffusion
import CPUBackend
import Foundation
import Neural
import TestSupport
import Testing

/// The x2 latent upscaler against diffusers (build_fixtures.py x2-upscaler): a tiny random-weight
/// StableDiffusionLatentUpscalePipeline shaped like stabilityai/sd-x2-latent-upscaler.
@Suite struct LatentUpscalerTests {
    static let expected = Result { try SafeTensorsFile(path: PipelineTests.folder("x2-upscaler.safetensors")) }

    static func worst(_ a: Tensor, _ b: Tensor) -> Float {
        a.shape == b.shape ? zip(a.storage, b.storage).map { abs($0 - $1) }.max() ?? 0 : .infinity
    }

    @Test(arguments: TestBackend.allCases)
    func unetMatchesDiffusers(on backend: TestBackend) throws {
        let expected = try Self.expected.get()
        let unet = try UpscalerUNet(folder: PipelineTests.folder("tiny-x2-upscaler") + "/unet", backend: try backend.get())
        let output = try unet(try expected.tensor("unet.sample").onCPU, timestep: try expected.tensor("unet.timestep").storage[0],
                              context: try expected.tensor("unet.context").onCPU, condition: try expected.tensor("unet.condition").onCPU)
        let reference = try expected.tensor("unet.output").onCPU
        let scale = reference.storage.map { abs($0) }.max()!
        let worst = Self.worst(output, reference)
        #expect(output.shape == [2, 5, 16, 24])
        #expect(worst <= 1e-4 * max(1, scale), "UNet output differs by up to \(worst) (largest value \(scale))")
    }

    /// The whole pipeline on the tiny SD1 model's 8×12 latents: guidance 0 (prompt ignored), 0.5
    /// (prompt, no guidance) and 7.5 (negative prompt first), 3–4 steps of Euler at fractional
    /// linspace timesteps.
    @Test(arguments: [("0", TestBackend.cpu), ("0.5", .cpu), ("7.5", .cpu), ("7.5", .vulkan)])
    func pipelineMatchesDiffusers(guidance: String, on backend: TestBackend) throws {
        let expected = try Self.expected.get()
        let model = try LatentUpscalerModel(path: PipelineTests.folder("tiny-x2-upscaler"), backend: try backend.get())
        #expect(model.schedulerConfig.spacing == .linspace && model.schedulerConfig.prediction == .sample)
        let key = "pipeline." + guidance
        let request = LatentUpscaler.Request(prompt: try #require(expected.metadata["prompt"]), negativePrompt: try #require(expected.metadata["negative_prompt"]),
                                             seed: UInt64(try expected.tensor(key + ".seed").storage[0]),
                                             steps: Int(try expected.tensor(key + ".steps").storage[0]), guidance: try #require(Float(guidance)))
        var steps = 0
        let result = try LatentUpscaler(model: model).upscale(try expected.tensor("low_res.latents").onCPU, request) { done, _ in steps = done }
        let latents = try expected.tensor(key + ".latents").onCPU, image = try expected.tensor(key + ".image").onCPU
        let worst = Self.worst(result.latents, latents)
        let meanPixel = zip(result.image.storage, image.storage).map { abs($0 - $1) }.reduce(0, +) / Float(image.count)
        #expect(result.latents.shape == [1, 4, 16, 24] && result.image.shape == [1, 3, 32, 48] && steps == request.steps)
        #expect(worst <= 1e-3, "guidance \(guidance): latents differ by up to \(worst)")
        #expect(meanPixel <= 1.0 / 255, "guidance \(guidance): mean pixel difference \(meanPixel)")
    }

    /// Widths whose blocks do not connect (the second up block would also count as "first" and
    /// drop its skip) are refused when the model is opened, naming the layer, not at run time.
    @Test func refusesAConfigWhoseBlocksDoNotConnect() throws {
        let folder = try TestSupport.temporaryFolder("x2-unet") + "/unet"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: PipelineTests.folder("tiny-x2-upscaler") + "/unet/config.json"))) as! [String: Any]
        config["block_out_channels"] = [32, 64, 64, 64]
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: folder + "/config.json"))
        #expect {
            try UpscalerUNet(folder: folder, backend: CPUBackend.shared)
        } throws: { error in
            "\(error)".contains("up_blocks.1.resnets.0 takes 64 channels but receives 128")
        }
    }

    @Test func refusesOtherFoldersAndBadLatents() throws {
        #expect(throws: DiffusionError.self) { try LatentUpscalerModel(path: PipelineTests.folder("tiny-sd1"), backend: CPUBackend.shared) }
        let model = try LatentUpscalerModel(path: PipelineTests.folder("tiny-x2-upscaler"), backend: CPUBackend.shared)
        let odd = Tensor(zeros: [1, 4, 3, 12])
        #expect(throws: DiffusionError.self) { try LatentUpscaler(model: model).upscale(odd, .init(prompt: "x", seed: 1, steps: 2)) }
    }
}

/// The x2 upscaler's configs are input from outside too: every mutation is an error, never a trap.
@Suite struct UpscalerConfigFuzzTests {
    @Test func mutatedConfigsAreErrors() throws {
        let source = TestSupport.repositoryRoot + "/Tests/Fixtures/pipelines/tiny-x2-upscaler"
        let folder = try TestSupport.temporaryFolder("x2-fuzz") + "/model"
        try FileManager.default.copyItem(atPath: source, toPath: folder)
        let values: [Any] = [0, -1, 1, 5, 1_000_000_000, [Int](), "x", NSNull()]
        var generator = SeededGenerator(seed: 31)
        for _ in 0..<60 {
            let file = ["unet/config.json", "vae/config.json", "scheduler/scheduler_config.json"].randomElement(using: &generator)!
            let path = folder + "/" + file
            let original = try Data(contentsOf: URL(fileURLWithPath: path))
            var object = try JSONSerialization.jsonObject(with: original) as! [String: Any]
            let key = object.keys.sorted().randomElement(using: &generator)!
            object[key] = values.randomElement(using: &generator)!
            try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
            // Loading either works (the key is not one the engine reads) or throws; a trap ends the suite.
            _ = try? LatentUpscalerModel(path: folder, backend: CPUBackend.shared)
            try original.write(to: URL(fileURLWithPath: path))
        }
        #expect(throws: (any Error).self) {
            var object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/unet/config.json"))) as! [String: Any]
            object["block_out_channels"] = [Int]()
            try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: folder + "/unet/config.json"))
            _ = try LatentUpscalerModel(path: folder, backend: CPUBackend.shared)
        }
    }
}
