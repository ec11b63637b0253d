import Foundation
import Neural

/// The "hires fix": a generation's result enlarged ×factor — in latent space, or decoded, enlarged
/// in pixels and encoded again — then denoised img2img with the same prompt and seed at a partial
/// strength, so the model draws the detail the enlargement could not invent.
public struct HiresRefine: Sendable, Equatable {
    /// How the first result is enlarged before the refining pass.
    public enum Enlargement: String, Sendable, CaseIterable {
        /// torch's interpolate on the latents (A1111's "Latent (nearest-exact)", "Latent (bicubic)"…).
        case nearestExact = "nearest-exact", bilinear, bicubic
        case bilinearAntialiased = "bilinear-antialiased", bicubicAntialiased = "bicubic-antialiased"
        /// Decode, enlarge the pixels (bicubic), encode again: sharper start, one VAE round trip more.
        case pixel
    }

    public var enlargement: Enlargement
    /// Size multiplier of the first result (2 = 512 → 1024); the size is rounded to the model's multiple.
    public var factor: Double
    /// How much of the schedule the refining pass runs (A1111's "denoising strength").
    public var strength: Double
    /// Steps of the full schedule; int(steps × strength) of them run.
    public var steps: Int
    /// The refining pass's sampler; nil: the generation's.
    public var sampler: Sampler?

    public init(enlargement: Enlargement = .bicubicAntialiased, factor: Double = 2, strength: Double = 0.5, steps: Int = 20, sampler: Sampler? = nil) {
        self.enlargement = enlargement
        self.factor = factor
        self.strength = strength
        self.steps = steps
        self.sampler = sampler
    }

    /// The refined size for a first result of width × height: ×factor, rounded to `multiple`.
    public func size(width: Int, height: Int, multiple: Int) -> (width: Int, height: Int) {
        func scaled(_ side: Int) -> Int { max(multiple, Int((Double(side) * factor / Double(multiple)).rounded()) * multiple) }
        return (scaled(width), scaled(height))
    }

    /// The img2img request that refines `first` (the result of `base`).
    public func request(refining first: GenerationResult, of base: GenerationRequest, model: StableDiffusionModel) throws -> GenerationRequest {
        guard factor >= 1, factor <= 4 else { throw DiffusionError.request("hires factor must be between 1 and 4, not \(factor)") }
        let (width, height) = size(width: base.width, height: base.height, multiple: model.sizeMultiple)
        var request = base
        request.width = width
        request.height = height
        request.steps = steps
        request.strength = strength
        request.sampler = sampler ?? base.sampler
        request.initImage = nil
        request.initLatents = nil
        let (latentHeight, latentWidth) = (height / model.vaeScaleFactor, width / model.vaeScaleFactor)
        let backend = model.backend
        switch enlargement {
        case .nearestExact, .bilinear, .bicubic, .bilinearAntialiased, .bicubicAntialiased:
            // Same names as torch's interpolate modes.
            let mode = ResizeMode(rawValue: enlargement.rawValue)!
            request.initLatents = try backend.resize(first.latents, height: latentHeight, width: latentWidth, mode: mode)
        case .pixel:
            // The result's image is in [0, 1]; the encoder wants [-1, 1].
            let image = try backend.resize(first.image, height: height, width: width, mode: .bicubicAntialiased)
            request.initImage = try backend.affine(try backend.clamp(image, min: 0, max: 1), scale: 2, offset: -1)
        }
        return request
    }

    /// `first` with its image as an 8-bit file holds it: what a refine pass starts from when the
    /// first pass was saved (the workflow) or is made again (`rerun`), so both give the same pixels.
    public static func asSaved(_ first: GenerationResult) throws -> GenerationResult {
        let (height, width) = (first.image.shape[2], first.image.shape[3])
        let saved = ImagePixels.unitTensor(fromRGB: try ImagePixels.rgb(from: first.image), width: width, height: height, on: first.image.backend)
        return GenerationResult(latents: first.latents, image: saved)
    }

    /// Refines `first` (the result of `base`) on `pipeline`.
    public func run(refining first: GenerationResult, of base: GenerationRequest, pipeline: Pipeline,
                    progress: (Int, Int) -> Void = { _, _ in }) throws -> GenerationResult {
        try pipeline.generate(try request(refining: first, of: base, model: pipeline.model), progress: progress)
    }
}
