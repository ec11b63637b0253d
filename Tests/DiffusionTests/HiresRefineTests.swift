import Diffusion
import CPUBackend
import Foundation
import Neural
import TestSupport
import Testing

/// Hires refine against diffusers (build_fixtures.py hires): txt2img latents enlarged ×2 by
/// torch's interpolate in every latent mode, then StableDiffusionImg2ImgPipeline with them as its
/// image, strength 0.5, 6 steps, DDIM and Euler a, on the tiny SD1- and SD2-style pipelines.
@Suite struct HiresRefineTests {
    static let latentModes: [HiresRefine.Enlargement] = [.nearestExact, .bilinear, .bicubic, .bilinearAntialiased, .bicubicAntialiased]

    @Test(arguments: ["sd1", "sd2"], TestBackend.allCases)
    func matchesDiffusers(style: String, on backend: TestBackend) throws {
        let model = try PipelineTests.model("tiny-" + style, on: backend)
        let expected = try SafeTensorsFile(path: PipelineTests.folder("hires-\(style).safetensors"))
        let prompt = try #require(expected.metadata["prompt"]), negative = try #require(expected.metadata["negative_prompt"])
        let pipeline = Pipeline(model: model)
        let base = GenerationRequest(prompt: prompt, negativePrompt: negative, seed: 500, steps: 5, guidance: 7.5, sampler: .ddim, width: 16, height: 16)
        let first = try pipeline.generate(base)
        let baseLatents = try expected.tensor("base.latents")
        #expect(zip(first.latents.storage, baseLatents.storage).map { abs($0 - $1) }.max()! <= 1e-3)
        // From diffusers' own first latents, so each case checks the enlargement and refinement alone.
        let start = GenerationResult(latents: baseLatents.onCPU, image: first.image)
        for mode in Self.latentModes {
            for sampler in backend == .cpu ? [Sampler.ddim, .eulerAncestral] : [.ddim] {  // (samplers are host code)
                let key = "\(mode.rawValue).\(sampler.rawValue)"
                var refine = HiresRefine(enlargement: mode, factor: 2, strength: 0.5, steps: 6, sampler: sampler)
                var base = base
                base.seed = UInt64(try expected.tensor(key + ".seed").storage[0])
                let request = try refine.request(refining: start, of: base, model: model)
                let upscaled = try expected.tensor(mode.rawValue + ".upscaled")
                let enlarged = try #require(request.initLatents)
                #expect(enlarged.shape == upscaled.shape && request.width == 32 && request.height == 32)
                #expect(zip(enlarged.storage, upscaled.storage).map { abs($0 - $1) }.max()! <= 1e-5, "\(key): enlargement")
                let result = try pipeline.generate(request)
                let latents = try expected.tensor(key + ".latents"), image = try expected.tensor(key + ".image")
                let worst = zip(result.latents.storage, latents.storage).map { abs($0 - $1) }.max() ?? .infinity
                let meanPixel = zip(result.image.storage, image.storage).map { abs($0 - $1) }.reduce(0, +) / Float(image.count)
                #expect(result.latents.shape == latents.shape && worst <= 1e-3, "\(style) \(key): latents differ by up to \(worst)")
                #expect(meanPixel <= 1.0 / 255, "\(style) \(key): mean pixel difference \(meanPixel)")
                refine.enlargement = .pixel
                let pixel = try refine.request(refining: start, of: base, model: model)
                #expect(pixel.initImage?.shape == [1, 3, 32, 32] && pixel.initLatents == nil)
            }
        }
    }

    @Test func sizesRoundToTheModelsMultiple() {
        let refine = HiresRefine(factor: 1.5)
        #expect(refine.size(width: 512, height: 768, multiple: 64) == (768, 1152))
        #expect(HiresRefine(factor: 2).size(width: 600, height: 400, multiple: 64) == (1216, 832))  // 800 → nearest multiple
    }
}
