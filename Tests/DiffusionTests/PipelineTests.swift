import Diffusion
import CPUBackend
import Foundation
import Neural
import TestSupport
import Testing

/// Whole pipelines against diffusers (build_fixtures.py pipelines, single-file): tiny SD1-style (ε)
/// and SD2-style (v-prediction, linear projections) models, each as a diffusers folder and as a
/// single original-layout checkpoint (which diffusers' from_single_file ran for the expected
/// values); every sampler, txt2img with and without guidance and img2img, 5 steps, 16×16 pixels.
@Suite struct PipelineTests {
    static let styles = ["tiny-sd1", "tiny-sd2", "tiny-sd1.safetensors", "tiny-sd2.safetensors"]
    static let modes = ["txt2img.0", "txt2img.7.5", "img2img.7.5"]

    /// Loaded models by style and backend, shared by the suites (tests run in parallel).
    static let loaded = ModelCache<StableDiffusionModel>()

    /// The `style` fixture on `backend`, loaded once.
    static func model(_ style: String, on backend: TestBackend = .cpu) throws -> StableDiffusionModel {
        try loaded.model("\(style)@\(backend)") { try load(style, on: backend) }
    }

    static func folder(_ style: String) -> String { TestSupport.repositoryRoot + "/Tests/Fixtures/pipelines/" + style }

    /// A folder, or a single file read with its folder's configs (diffusers' `config=`).
    static func load(_ style: String, on backend: TestBackend = .cpu) throws -> StableDiffusionModel {
        guard style.hasSuffix(".safetensors") else { return try StableDiffusionModel(path: folder(style), backend: try backend.get()) }
        let configs = folder(String(style.dropLast(".safetensors".count)))
        return try StableDiffusionModel(path: folder(style), options: .init(configFolder: configs), backend: try backend.get())
    }

    static func expectedValues(_ style: String) -> String {
        guard style.hasSuffix(".safetensors") else { return folder(style) + "/expected.safetensors" }
        return folder("expected-single-" + style.dropFirst("tiny-".count))
    }

    /// Every style and sampler on the CPU. On the GPU the networks are what differ (samplers and
    /// single-file loading are host code, the same on both), and lavapipe runs them about ten
    /// times slower than the CPU backend, so each model layout runs with two samplers there.
    static let cases: [(String, Sampler, TestBackend)] = styles.flatMap { style in Sampler.allCases.map { (style, $0, TestBackend.cpu) } }
        + [("tiny-sd1", .euler, .vulkan), ("tiny-sd2", .dpmpp2MKarras, .vulkan), ("tiny-sd1.safetensors", .ddim, .vulkan)]

    @Test(arguments: cases)
    func matchesDiffusers(style: String, sampler: Sampler, on backend: TestBackend) throws {
        let model = try Self.model(style, on: backend)
        let expected = try SafeTensorsFile(path: Self.expectedValues(style))
        let prompt = try #require(expected.metadata["prompt"]), negative = try #require(expected.metadata["negative_prompt"])
        for mode in Self.modes {
            let key = mode.replacingOccurrences(of: "2img.", with: "2img.\(sampler.rawValue).")
            let img2img = mode.hasPrefix("img2img")
            var initImage: Tensor?
            if img2img {
                // diffusers got (x + 1) / 2 and normalised it back with 2y − 1: do the same float steps.
                var image = try expected.tensor("init_image")
                for i in 0..<image.count { image.storage[i] = ((image.storage[i] + 1) / 2) * 2 - 1 }
                initImage = image.onCPU
            }
            let request = GenerationRequest(prompt: prompt, negativePrompt: negative, seed: UInt64(try expected.tensor(key + ".seed").storage[0]),
                                            steps: 5, guidance: mode.hasSuffix("7.5") ? 7.5 : 0, sampler: sampler, width: 16, height: 16,
                                            initImage: initImage, strength: Double(try expected.tensor(key + ".strength").storage[0]))
            var reported: [Int] = []
            let result = try Pipeline(model: model).generate(request) { done, total in reported.append(done); #expect(total == (img2img ? 3 : 5)) }
            try Self.expectMatch(result, expected, key: key, label: "\(style) on \(backend)")
            #expect(reported == Array(1...(img2img ? 3 : 5)))
        }
    }

    /// The result against diffusers' `KEY.latents` and `KEY.image`: latents within 1e-3, the mean pixel within 1/255.
    static func expectMatch(_ result: GenerationResult, _ expected: SafeTensorsFile, key: String, label: String) throws {
        let latents = try expected.tensor(key + ".latents"), image = try expected.tensor(key + ".image")
        #expect(result.latents.shape == latents.shape && result.image.shape == image.shape, "\(label) \(key): \(result.latents.shape)")
        let worst = zip(result.latents.storage, latents.storage).map { abs($0 - $1) }.max() ?? .infinity
        let meanPixel = zip(result.image.storage, image.storage).map { abs($0 - $1) }.reduce(0, +) / Float(image.count)
        #expect(worst <= 1e-3, "\(label) \(key): latents differ by up to \(worst)")
        #expect(meanPixel <= 1.0 / 255, "\(label) \(key): mean pixel difference \(meanPixel)")
    }

    @Test func refusesBadRequestsBeforeWork() throws {
        let model = try Self.model("tiny-sd1")
        let pipeline = Pipeline(model: model)
        let good = GenerationRequest(prompt: "x", seed: 1, steps: 2, guidance: 7.5, sampler: .ddim, width: 16, height: 16)
        var bad = good
        bad.width = 17  // not a multiple of the tiny VAE's factor 2 (8 on SD)
        #expect(throws: DiffusionError.self) { try pipeline.generate(bad) }
        bad = good
        bad.steps = 0
        #expect(throws: DiffusionError.self) { try pipeline.generate(bad) }
        bad = good
        bad.initImage = Tensor(zeros: [1, 3, 16, 16])
        bad.strength = 0.1
        #expect(throws: DiffusionError.self) { try pipeline.generate(bad) }
    }
}

/// Broken model folders fail at load, naming the file and what is wrong.
@Suite struct ModelLoadingTests {
    func copyOfFixture() throws -> String {
        let folder = try TestSupport.temporaryFolder("model") + "/tiny"
        try FileManager.default.copyItem(atPath: PipelineTests.folder("tiny-sd1"), toPath: folder)
        return folder
    }

    func loadError(_ path: String) -> String {
        do { _ = try StableDiffusionModel(path: path, backend: CPUBackend.shared); return "" } catch { return "\(error)" }
    }

    @Test func truncatedWeightsNameTheFile() throws {
        let folder = try copyOfFixture()
        let weights = folder + "/unet/diffusion_pytorch_model.safetensors"
        let handle = try #require(FileHandle(forUpdatingAtPath: weights))
        try handle.truncate(atOffset: 100_000)
        try handle.close()
        #expect(loadError(folder).contains("diffusion_pytorch_model.safetensors"))
    }

    @Test func weightsThatDoNotMatchTheConfigNameTheTensor() throws {
        let folder = try copyOfFixture()
        let config = folder + "/unet/config.json"
        let text = try String(contentsOfFile: config, encoding: .utf8).replacingOccurrences(of: "\"layers_per_block\": 1", with: "\"layers_per_block\": 2")
        try text.write(toFile: config, atomically: false, encoding: .utf8)
        let message = loadError(folder)
        #expect(message.contains("resnets.1") && message.contains("missing"), "\(message)")
    }

    @Test func pickleOnlyComponentsAreRefused() throws {
        let folder = try copyOfFixture()
        try FileManager.default.moveItem(atPath: folder + "/vae/diffusion_pytorch_model.safetensors", toPath: folder + "/vae/diffusion_pytorch_model.bin")
        #expect(loadError(folder).contains("pickle"))
        #expect(throws: DiffusionError.pickleRefused(path: "/x/model.ckpt")) { try StableDiffusionModel(path: "/x/model.ckpt", backend: CPUBackend.shared) }
    }

    @Test func otherPipelinesAreRefused() throws {
        let folder = try copyOfFixture()
        let index = folder + "/model_index.json"
        let text = try String(contentsOfFile: index, encoding: .utf8).replacingOccurrences(of: "\"StableDiffusionPipeline\"", with: "\"StableDiffusion3Pipeline\"")
        try text.write(toFile: index, atomically: false, encoding: .utf8)
        #expect(loadError(folder).contains("StableDiffusion3Pipeline"))
    }
}

/// Sizes the UNet's downsampling does not divide (latents 9×11 and 13×7 on the tiny models, as
/// 640×480 gives 80×60 on SD 1.5): diffusers upsamples to each skip's size (build_fixtures.py odd-sizes).
@Suite struct OddSizeTests {
    @Test(arguments: ["tiny-sd1", "tiny-sd2"], TestBackend.allCases)
    func matchesDiffusers(style: String, on backend: TestBackend) throws {
        let model = try PipelineTests.model(style, on: backend)
        for mode in ["txt2img", "img2img"] {
        let expected = try SafeTensorsFile(path: PipelineTests.folder("odd-sizes-" + style.dropFirst("tiny-".count) + ".safetensors"))
        let prompt = try #require(expected.metadata["prompt"]), negative = try #require(expected.metadata["negative_prompt"])
        for (width, height) in [(18, 22), (26, 14)] {
            for sampler in backend == .cpu ? [Sampler.ddim, .eulerAncestral] : [.ddim] {  // (samplers are host code)
                let key = "\(mode).\(sampler.rawValue).\(width)x\(height)"
                var initImage: Tensor?
                if mode == "img2img" {
                    var image = try expected.tensor("init_image.\(width)x\(height)")
                    for i in 0..<image.count { image.storage[i] = ((image.storage[i] + 1) / 2) * 2 - 1 }
                    initImage = image.onCPU
                }
                let request = GenerationRequest(prompt: prompt, negativePrompt: negative, seed: UInt64(try expected.tensor(key + ".seed").storage[0]),
                                                steps: 5, guidance: 7.5, sampler: sampler, width: width, height: height,
                                                initImage: initImage, strength: initImage == nil ? 1 : 0.6)
                let result = try Pipeline(model: model).generate(request)
                try PipelineTests.expectMatch(result, expected, key: key, label: "\(style) on \(backend)")
            }
        }
        }
    }
}
