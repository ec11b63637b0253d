import Neural

/// SDXL's ensemble of expert denoisers: the base model runs the first `switchAt` of the steps and
/// hands its latents, undecoded, to the refiner, which runs the rest (diffusers' `denoising_end`
/// and `denoising_start`; AUTOMATIC1111's "Refiner switch at").
public struct RefinerHandOver: Sendable {
    public let refiner: StableDiffusionModel
    /// The fraction of the steps the base runs, in (0, 1).
    public let switchAt: Double

    /// Fails when `refiner` is not an SDXL refiner (its UNet takes the aesthetic score) or the
    /// switch is not strictly between 0 and 1.
    public init(refiner: StableDiffusionModel, switchAt: Double) throws {
        guard refiner.addedTimeIDs == 5 else {
            throw DiffusionError.request("\(refiner.path) is not an SDXL refiner (its UNet does not take the aesthetic score)")
        }
        guard switchAt > 0, switchAt < 1 else { throw DiffusionError.request("the refiner switch must be between 0 and 1 (exclusive), not \(switchAt)") }
        self.refiner = refiner
        self.switchAt = switchAt
    }

    /// `request` (txt2img) on `base`, then on the refiner. The refiner's pass draws its noise (only
    /// ancestral samplers draw any after the start) from seed + 1, as the reference fixture's does.
    /// `progress(done, total)` counts both passes' steps.
    public func generate(_ request: GenerationRequest, base: StableDiffusionModel, progress: (Int, Int) -> Void = { _, _ in }) throws -> GenerationResult {
        guard base.addedTimeIDs == 6 else { throw DiffusionError.request("\(base.path) is not an SDXL base model, so it cannot hand over to a refiner") }
        guard !request.isImageToImage, request.denoisingEnd == nil, request.denoisingStart == nil else {
            throw DiffusionError.request("the refiner hand-over starts from noise (txt2img)")
        }
        var first = request
        first.denoisingEnd = switchAt
        var baseSteps = 0
        let handed = try Pipeline(model: base).denoise(first) { done, total in
            baseSteps = done
            progress(done, request.steps)
        }
        var second = request
        second.seed = request.seed &+ 1
        second.initLatents = handed
        second.denoisingStart = switchAt
        return try Pipeline(model: refiner).generate(second) { done, _ in progress(baseSteps + done, request.steps) }
    }
}
