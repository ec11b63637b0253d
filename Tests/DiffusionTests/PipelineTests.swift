import Diffusion
import Foundation
import Neural
import TestSupport
import Testing

/// Whole pipelines against diffusers (build_fixtures.py pipelines): tiny SD1-style (ε) and
/// SD2-style (v-prediction, linear projections) models in diffusers layout, every sampler, txt2img
/// with and without guidance and img2img, 5 steps, 16×16 pixels.
@Suite struct PipelineTests {
    static let styles = ["tiny-sd1", "tiny-sd2"]
    static let modes = ["txt2img.0", "txt2img.7.5", "img2img.7.5"]

    static let models: [String: StableDiffusionModel] = {
        var loaded: [String: StableDiffusionModel] = [:]
        for style in styles { loaded[style] = try? StableDiffusionModel(path: folder(style)) }
        return loaded
    }()

    static func folder(_ style: String) -> String { TestSupport.repositoryRoot + "/Tests/Fixtures/pipelines/" + style }

    @Test(arguments: styles, Sampler.allCases)
    func matchesDiffusers(style: String, sampler: Sampler) throws {
        let model = try #require(Self.models[style], "the \(style) fixture loads")
        let expected = try SafeTensorsFile(path: Self.folder(style) + "/expected.safetensors")
        let prompt = try #require(expected.metadata["prompt"]), negative = try #require(expected.metadata["negative_prompt"])
        for mode in Self.modes {
            let key = mode.replacingOccurrences(of: "2img.", with: "2img.\(sampler.rawValue).")
            let img2img = mode.hasPrefix("img2img")
            var initImage: Tensor?
            if img2img {
                // diffusers got (x + 1) / 2 and normalised it back with 2y − 1: do the same float steps.
                var image = try expected.tensor("init_image")
                for i in 0..<image.count { image.storage[i] = ((image.storage[i] + 1) / 2) * 2 - 1 }
                initImage = image
            }
            let request = GenerationRequest(prompt: prompt, negativePrompt: negative, seed: UInt64(try expected.tensor(key + ".seed").storage[0]),
                                            steps: 5, guidance: mode.hasSuffix("7.5") ? 7.5 : 0, sampler: sampler, width: 16, height: 16,
                                            initImage: initImage, strength: Double(try expected.tensor(key + ".strength").storage[0]))
            var reported: [Int] = []
            let result = try Pipeline(model: model).generate(request) { done, total in reported.append(done); #expect(total == (img2img ? 3 : 5)) }
            let latents = try expected.tensor(key + ".latents"), image = try expected.tensor(key + ".image")
            #expect(result.latents.shape == latents.shape && result.image.shape == image.shape)
            let worst = zip(result.latents.storage, latents.storage).map { abs($0 - $1) }.max() ?? .infinity
            let meanPixel = zip(result.image.storage, image.storage).map { abs($0 - $1) }.reduce(0, +) / Float(image.count)
            #expect(worst <= 1e-3, "\(style) \(key): latents differ by up to \(worst)")
            #expect(meanPixel <= 1.0 / 255, "\(style) \(key): mean pixel difference \(meanPixel)")
            #expect(reported == Array(1...(img2img ? 3 : 5)))
        }
    }

    @Test func refusesBadRequestsBeforeWork() throws {
        let model = try #require(Self.models["tiny-sd1"])
        let pipeline = Pipeline(model: model)
        let good = GenerationRequest(prompt: "x", seed: 1, steps: 2, guidance: 7.5, sampler: .ddim, width: 16, height: 16)
        var bad = good
        bad.width = 18
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
