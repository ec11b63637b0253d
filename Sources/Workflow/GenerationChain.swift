import Diffusion
import Foundation
import Metadata

/// The generate → refine chain, written once for the workflow's stages and `rerun`: the first
/// pass's request from recorded parameters, and the refine pass over a first result whose image
/// is as saved (8-bit) and whose latents are as made.
enum GenerationChain {
    /// The txt2img request `parameters` describe.
    static func request(_ parameters: GenerationParameters, sampler: Sampler, tiling: VAETiling = .standard) -> GenerationRequest {
        var request = GenerationRequest(prompt: parameters.prompt, negativePrompt: parameters.negativePrompt, seed: parameters.seed,
                                        steps: parameters.steps, guidance: Float(parameters.guidance), sampler: sampler,
                                        width: parameters.width, height: parameters.height)
        request.tiling = tiling
        request.clipSkip = parameters.clipSkip ?? 1
        return request
    }

    /// The first pass: `request` on `base`, handed over to `refiner` (loaded only then) when the
    /// image's parameters name one.
    static func firstPass(_ request: GenerationRequest, switchAt: Double?, base: StableDiffusionModel, refiner: () throws -> StableDiffusionModel,
                          progress: (Int, Int) -> Void = { _, _ in }) throws -> GenerationResult {
        guard let switchAt else { return try Pipeline(model: base).generate(request, progress: progress) }
        return try RefinerHandOver(refiner: try refiner(), switchAt: switchAt).generate(request, base: base, progress: progress)
    }

    /// Runs `pass` over `first`, the result of `base` on `model()` (loaded only for a hires pass);
    /// `upscaler(path)` loads the x2 upscaler. Returns the refined result and a note for the log.
    static func refine(_ first: GenerationResult, of base: GenerationRequest, pass: RefinePlan.Pass, model: () throws -> StableDiffusionModel,
                       upscaler: (String) throws -> LatentUpscalerModel,
                       progress: (Int, Int) -> Void = { _, _ in }) throws -> (result: GenerationResult, note: String) {
        switch pass {
        case .hires(let hires):
            return (try hires.run(refining: first, of: base, pipeline: Pipeline(model: try model()), progress: progress),
                    "\(hires.enlargement.rawValue), strength \(hires.strength)")
        case .x2Upscaler(let path, let steps, let guidance):
            let request = LatentUpscaler.Request(prompt: base.prompt, negativePrompt: base.negativePrompt, seed: base.seed,
                                                 steps: steps, guidance: guidance, tiling: base.tiling)
            return (try LatentUpscaler(model: try upscaler(path)).upscale(first.latents, request, progress: progress),
                    "x2 latent upscaler, \(steps) steps")
        }
    }
}
