import Foundation
import Neural

/// The one denoising loop every pipeline runs (txt2img, img2img, hires refine, the x2 latent
/// upscaler): from `latents` at step `first` to the end of the schedule. With classifier-free
/// guidance the latents go through the model as a batch of two (unconditional first, as diffusers
/// batches them) and the two predictions are combined as uncond + scale·(cond − uncond).
struct DenoisingLoop {
    let scheduler: Scheduler
    /// nil: no guidance (one model pass per step).
    let guidance: Float?

    /// `denoise(scaled, unscaled, index)` gives the model's prediction for the batch `unscaled`
    /// (what the scheduler steps from) and `scaled` (after `scaleModelInput`). `end`: the step to
    /// stop before (nil: the end of the schedule; SDXL's base hands over to the refiner earlier).
    func run(from latents: Tensor, first: Int = 0, end: Int? = nil, generator: inout TorchGenerator, progress: (Int, Int) -> Void,
             denoise: (_ scaled: Tensor, _ unscaled: Tensor, _ index: Int) throws -> Tensor) throws -> Tensor {
        let backend = latents.backend
        var latents = latents
        let end = min(end ?? scheduler.timesteps.count, scheduler.timesteps.count)
        let total = max(end - first, 0)
        for index in first..<max(end, first) {
            let input = guidance == nil ? latents : try backend.concat([latents, latents], axis: 0)
            let prediction = try denoise(try scheduler.scaleModelInput(input, step: index), input, index)
            let guided = try guidance.map { try Self.guide(prediction, scale: $0) } ?? prediction
            latents = try scheduler.step(guided, step: index, sample: latents, generator: &generator)
            progress(index - first + 1, total)
        }
        return latents
    }

    /// uncond + scale·(cond − uncond), from a batch of two predictions (uncond first).
    static func guide(_ prediction: Tensor, scale: Float) throws -> Tensor {
        let backend = prediction.backend
        let uncond = try prediction.item(0, keepingAxis: true), cond = try prediction.item(1, keepingAxis: true)
        return try backend.weightedSum([(uncond, 1), (try backend.weightedSum([(cond, 1), (uncond, -1)]), scale)])
    }

    /// A decoded image in [-1, 1] as [0, 1]: x/2 + 0.5, clamped (diffusers' postprocess).
    static func unitImage(_ decoded: Tensor) throws -> Tensor {
        try decoded.backend.clamp(try decoded.backend.affine(decoded, scale: 0.5, offset: 0.5), min: 0, max: 1)
    }
}
