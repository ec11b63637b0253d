import CPUBackend
import Diffusion
import Foundation
import Neural
import TestSupport
import Testing

/// SDXL against diffusers (build_sdxl_fixtures.py): a tiny random base pipeline (two text towers of
/// different widths, no attention on the first level, transformer depth 1 and 2, text_time added
/// conditioning) and a refiner (second tower only, aesthetic score), 5 steps at 16×16 pixels.
@Suite struct SDXLPipelineTests {
    static func base(on backend: TestBackend = .cpu) throws -> StableDiffusionModel { try PipelineTests.model("tiny-sdxl", on: backend) }
    static func refiner(on backend: TestBackend = .cpu) throws -> StableDiffusionModel { try PipelineTests.model("tiny-sdxl-refiner", on: backend) }
    static let expectedPath = PipelineTests.folder("tiny-sdxl") + "/expected.safetensors"

    func expected() throws -> (file: SafeTensorsFile, prompt: String, negative: String) {
        let file = try SafeTensorsFile(path: Self.expectedPath)
        return (file, try #require(file.metadata["prompt"]), try #require(file.metadata["negative_prompt"]))
    }

    /// The init image as diffusers saw it: (x + 1) / 2, normalised back with 2y − 1.
    func initImage(_ file: SafeTensorsFile) throws -> Tensor {
        var image = try file.tensor("init_image")
        for i in 0..<image.count { image.storage[i] = ((image.storage[i] + 1) / 2) * 2 - 1 }
        return image.onCPU
    }

    @Test func loadsBothTowersAndTheAddedConditioning() throws {
        let model = try Self.base(), refiner = try Self.refiner()
        #expect(model.text.style == .sdxl && model.text.towers.count == 2 && model.text.contextWidth == 72 && model.text.pooledWidth == 24)
        #expect(model.addedTimeIDs == 6 && model.text.zerosForEmptyNegative)
        #expect(refiner.text.towers.count == 1 && refiner.text.contextWidth == 40 && refiner.addedTimeIDs == 5 && !refiner.text.zerosForEmptyNegative)
        #expect(model.unet.config.transformerLayers == [1, 2])
    }

    @Test(arguments: TestBackend.allCases)
    func conditioningMatchesEncodePrompt(on backend: TestBackend) throws {
        let model = try Self.base(on: backend)
        let (file, prompt, negative) = try expected()
        let positive = try model.text.encode(prompt), unconditional = try model.text.negative(negative, like: positive)
        for (name, value) in [("encode.prompt", positive.context), ("encode.negative", unconditional.context),
                              ("encode.pooled", positive.pooled), ("encode.negative_pooled", unconditional.pooled)] {
            let reference = try file.tensor(name), ours = try #require(value).host()
            #expect(ours.shape == reference.shape, "\(name): \(ours.shape) vs \(reference.shape)")
            let worst = zip(ours.storage, reference.storage).map { abs($0 - $1) }.max() ?? .infinity
            #expect(worst <= 1e-4, "\(name) differs by up to \(worst)")
        }
    }

    /// Every sampler on the CPU, one on the GPU (samplers are host code; the networks are what differ).
    @Test(arguments: Sampler.allCases.map { ($0, TestBackend.cpu) } + [(.euler, .vulkan)])
    func matchesDiffusers(sampler: Sampler, on backend: TestBackend) throws {
        let model = try Self.base(on: backend)
        let (file, prompt, negative) = try expected()
        for mode in ["txt2img.0", "txt2img.7.5", "img2img.7.5"] {
            let key = mode.replacingOccurrences(of: "2img.", with: "2img.\(sampler.rawValue).")
            let img2img = mode.hasPrefix("img2img")
            let request = GenerationRequest(prompt: prompt, negativePrompt: negative, seed: UInt64(try file.tensor(key + ".seed").storage[0]),
                                            steps: 5, guidance: mode.hasSuffix("7.5") ? 7.5 : 0, sampler: sampler, width: 16, height: 16,
                                            initImage: img2img ? try initImage(file) : nil, strength: img2img ? 0.6 : 0.75)
            try PipelineTests.expectMatch(try Pipeline(model: model).generate(request), file, key: key, label: "tiny-sdxl on \(backend)")
        }
    }

    @Test func emptyNegativePromptConditionsOnZeros() throws {
        let (file, prompt, _) = try expected()
        let request = GenerationRequest(prompt: prompt, seed: UInt64(try file.tensor("zeros-negative.seed").storage[0]), steps: 5, guidance: 7.5,
                                        sampler: .euler, width: 16, height: 16)
        try PipelineTests.expectMatch(try Pipeline(model: try Self.base()).generate(request), file, key: "zeros-negative", label: "tiny-sdxl")
    }

    @Test(arguments: TestBackend.allCases)
    func sizeAndCropConditioning(on backend: TestBackend) throws {
        let (file, prompt, negative) = try expected()
        var request = GenerationRequest(prompt: prompt, negativePrompt: negative, seed: UInt64(try file.tensor("micro.seed").storage[0]), steps: 5,
                                        guidance: 7.5, sampler: .euler, width: 24, height: 16)
        request.micro.originalHeight = 1024
        request.micro.originalWidth = 768
        request.micro.cropTop = 4
        request.micro.cropLeft = 8
        try PipelineTests.expectMatch(try Pipeline(model: try Self.base(on: backend)).generate(request), file, key: "micro", label: "tiny-sdxl on \(backend)")
    }

    @Test func turboOneStepOnTrailingTimesteps() throws {
        let (file, prompt, _) = try expected()
        let turbo = try StableDiffusionModel(path: PipelineTests.folder("tiny-sdxl"), options: .init(spacing: .trailing), backend: CPUBackend.shared)
        let request = GenerationRequest(prompt: prompt, seed: UInt64(try file.tensor("turbo.seed").storage[0]), steps: 1, guidance: 0,
                                        sampler: .eulerAncestral, width: 16, height: 16)
        try PipelineTests.expectMatch(try Pipeline(model: turbo).generate(request), file, key: "turbo", label: "tiny-sdxl turbo")
    }

    @Test(arguments: TestBackend.allCases)
    func refinerOnAnImage(on backend: TestBackend) throws {
        let (file, prompt, negative) = try expected()
        let request = GenerationRequest(prompt: prompt, negativePrompt: negative, seed: UInt64(try file.tensor("refiner.seed").storage[0]), steps: 5,
                                        guidance: 5, sampler: .euler, width: 16, height: 16, initImage: try initImage(file), strength: 0.3)
        try PipelineTests.expectMatch(try Pipeline(model: try Self.refiner(on: backend)).generate(request), file, key: "refiner", label: "tiny-sdxl refiner on \(backend)")
    }

    /// The base runs the first 80 % of 10 steps (denoising end), the refiner the rest from its
    /// latents (denoising start), as diffusers' ensemble of expert denoisers does it.
    @Test func baseHandsOverToTheRefiner() throws {
        let (file, prompt, negative) = try expected()
        let seed = UInt64(try file.tensor("handover.seed").storage[0])
        var first = GenerationRequest(prompt: prompt, negativePrompt: negative, seed: seed, steps: 10, guidance: 7.5, sampler: .euler, width: 16, height: 16)
        first.denoisingEnd = 0.8
        var baseSteps = 0
        let handed = try Pipeline(model: try Self.base()).generate(first) { done, _ in baseSteps = done }
        let reference = try file.tensor("handover.base_latents"), ours = try handed.latents.host()
        #expect(ours.shape == reference.shape && baseSteps == 8)
        #expect((zip(ours.storage, reference.storage).map { abs($0 - $1) }.max() ?? .infinity) <= 1e-3)
        var second = GenerationRequest(prompt: prompt, negativePrompt: negative, seed: seed + 1, steps: 10, guidance: 7.5, sampler: .euler,
                                       width: 16, height: 16, initLatents: handed.latents)
        second.denoisingStart = 0.8
        var refinerSteps = 0
        let result = try Pipeline(model: try Self.refiner()).generate(second) { done, _ in refinerSteps = done }
        #expect(refinerSteps == 2)
        try PipelineTests.expectMatch(result, file, key: "handover", label: "tiny-sdxl hand-over")
    }

    /// RefinerHandOver (what workflows and rerun use) is that same hand-over: the base's latents
    /// are never decoded, the refiner draws from seed + 1, and progress counts all ten steps.
    @Test(arguments: TestBackend.allCases)
    func refinerHandOverMatchesTheReference(on backend: TestBackend) throws {
        let (file, prompt, negative) = try expected()
        let seed = UInt64(try file.tensor("handover.seed").storage[0])
        let request = GenerationRequest(prompt: prompt, negativePrompt: negative, seed: seed, steps: 10, guidance: 7.5, sampler: .euler, width: 16, height: 16)
        var counted: [Int] = []
        let result = try RefinerHandOver(refiner: try Self.refiner(on: backend), switchAt: 0.8).generate(request, base: try Self.base(on: backend)) { done, total in
            counted.append(done)
            #expect(total == 10)
        }
        #expect(counted == Array(1...10))
        try PipelineTests.expectMatch(result, file, key: "handover", label: "tiny-sdxl RefinerHandOver on \(backend)")
        // The roles are checked: a base is no refiner, and the switch lies inside the steps.
        #expect(throws: DiffusionError.self) { try RefinerHandOver(refiner: try Self.base(), switchAt: 0.8) }
        #expect(throws: DiffusionError.self) { try RefinerHandOver(refiner: try Self.refiner(), switchAt: 1) }
        #expect(throws: DiffusionError.self) { try RefinerHandOver(refiner: try Self.refiner(), switchAt: 0.8).generate(request, base: try Self.refiner()) }
    }

    @Test func handOverFractionsAreChecked() throws {
        let pipeline = Pipeline(model: try Self.base())
        var request = GenerationRequest(prompt: "x", seed: 1, steps: 4, guidance: 0, sampler: .euler, width: 16, height: 16)
        request.denoisingEnd = 1.5
        #expect(throws: DiffusionError.self) { try pipeline.generate(request) }
        request.denoisingEnd = nil
        request.denoisingStart = 0.5  // without handed-over latents
        #expect(throws: DiffusionError.self) { try pipeline.generate(request) }
    }

    /// The same models as original-layout single files (build_sdxl_fixtures.py single-file, which
    /// diffusers' from_single_file loads back to the folders' outputs), read with the folders' configs.
    @Test func singleFilesMatchTheFolders() throws {
        let (file, prompt, negative) = try expected()
        func load(_ name: String) throws -> StableDiffusionModel {
            try StableDiffusionModel(path: PipelineTests.folder(name + ".safetensors"), options: .init(configFolder: PipelineTests.folder(name)), backend: CPUBackend.shared)
        }
        let base = try load("tiny-sdxl"), refiner = try load("tiny-sdxl-refiner")
        #expect(base.text.towers.count == 2 && base.text.zerosForEmptyNegative && refiner.text.towers.count == 1 && refiner.addedTimeIDs == 5)
        let request = GenerationRequest(prompt: prompt, negativePrompt: negative, seed: UInt64(try file.tensor("txt2img.euler.7.5.seed").storage[0]),
                                        steps: 5, guidance: 7.5, sampler: .euler, width: 16, height: 16)
        try PipelineTests.expectMatch(try Pipeline(model: base).generate(request), file, key: "txt2img.euler.7.5", label: "tiny-sdxl.safetensors")
        let refine = GenerationRequest(prompt: prompt, negativePrompt: negative, seed: UInt64(try file.tensor("refiner.seed").storage[0]), steps: 5,
                                       guidance: 5, sampler: .euler, width: 16, height: 16, initImage: try initImage(file), strength: 0.3)
        try PipelineTests.expectMatch(try Pipeline(model: refiner).generate(refine), file, key: "refiner", label: "tiny-sdxl-refiner.safetensors")
    }

    /// Which towers a file holds decides the family (the tiny models' other sizes do not follow the
    /// original configs' conventions, so the full-size shapes are checked in SingleFileCheckpointTests).
    @Test func singleFilesAreRecognisedAsBaseAndRefiner() throws {
        for (name, family) in [("tiny-sdxl", SingleFileCheckpoint.Family.sdxl), ("tiny-sdxl-refiner", .sdxlRefiner)] {
            let shapes = try SafeTensorsFile(path: PipelineTests.folder(name + ".safetensors")).entries.mapValues(\.shape)
            #expect(try SingleFileCheckpoint.family(shapes: shapes, path: name) == family)
        }
    }
}
