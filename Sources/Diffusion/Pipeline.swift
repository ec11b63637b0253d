import Foundation
import Neural

/// What to generate: diffusers' StableDiffusionPipeline (txt2img) and, with an init image,
/// StableDiffusionImg2ImgPipeline arguments.
public struct GenerationRequest: Sendable {
    public var prompt: String
    public var negativePrompt: String
    public var seed: UInt64
    public var steps: Int
    public var guidance: Float
    public var sampler: Sampler
    public var width: Int
    public var height: Int
    /// img2img: [1, 3, height, width] in [-1, 1].
    public var initImage: Tensor?
    /// img2img from latents instead of an image ([1, 4, height/8, width/8], UNet space, as the
    /// denoising loop ends with them): what diffusers does with a 4-channel image. Hires refine
    /// passes enlarged latents here.
    public var initLatents: Tensor?
    /// img2img: how much of the schedule to run (1 = from pure noise).
    public var strength: Double
    /// How the VAE splits large images (decode, and encode of an init image).
    public var tiling: VAETiling = .standard
    /// A1111's Clip skip (1: the last layer); SD 1.x models only, as in A1111.
    public var clipSkip = 1
    /// SDXL's size, crop and aesthetic conditioning (ignored by SD 1.x/2.x).
    public var micro = MicroConditioning()
    /// The base/refiner hand-over (diffusers' `denoising_end` / `denoising_start`, fractions of the
    /// training schedule): the base stops before the timesteps below the cut; the refiner takes its
    /// latents (`initLatents`, no noise added) and runs only those timesteps. `strength` is not used
    /// with `denoisingStart`.
    public var denoisingEnd: Double?
    public var denoisingStart: Double?

    public init(prompt: String, negativePrompt: String = "", seed: UInt64, steps: Int, guidance: Float, sampler: Sampler,
                width: Int, height: Int, initImage: Tensor? = nil, initLatents: Tensor? = nil, strength: Double = 0.75) {
        self.prompt = prompt
        self.negativePrompt = negativePrompt
        self.seed = seed
        self.steps = steps
        self.guidance = guidance
        self.sampler = sampler
        self.width = width
        self.height = height
        self.initImage = initImage
        self.initLatents = initLatents
        self.strength = strength
    }

    /// Starts from an image or latents rather than pure noise.
    public var isImageToImage: Bool { initImage != nil || initLatents != nil }

    /// Classifier-free guidance runs only above 1, as in diffusers; 0 or 1 is one UNet pass per step.
    public var isGuided: Bool { guidance > 1 }
}

/// SDXL's micro-conditioning (diffusers' original_size, crops_coords_top_left, aesthetic_score,
/// negative_aesthetic_score); the target size is always the image's.
public struct MicroConditioning: Sendable, Equatable {
    /// nil: the image's own size, as diffusers defaults it.
    public var originalHeight: Int?
    public var originalWidth: Int?
    public var cropTop = 0
    public var cropLeft = 0
    /// The refiner's: the score the image should have, and the one the negative half gets.
    public var aestheticScore: Float = 6
    public var negativeAestheticScore: Float = 2.5

    public init() {}

    /// The UNet's time ids for an image of `height`×`width`: 6 (base) or 5 (refiner), for the
    /// prompt and for the negative half.
    func timeIDs(count: Int, height: Int, width: Int) -> (positive: [Float], negative: [Float]) {
        let start = [Float(originalHeight ?? height), Float(originalWidth ?? width), Float(cropTop), Float(cropLeft)]
        if count == 5 { return (start + [aestheticScore], start + [negativeAestheticScore]) }
        let ids = start + [Float(height), Float(width)]
        return (ids, ids)
    }
}

public struct GenerationResult: Sendable {
    /// The final denoised latents, before division by the VAE scaling factor: [1, 4, h, w].
    public var latents: Tensor
    /// The decoded image, [1, 3, height, width] in [0, 1].
    public var image: Tensor

    public init(latents: Tensor, image: Tensor) {
        self.latents = latents
        self.image = image
    }
}

/// Runs a request through a model: text encoding, the denoising loop, VAE decoding.
public struct Pipeline: Sendable {
    public let model: StableDiffusionModel

    public init(model: StableDiffusionModel) { self.model = model }

    /// `progress(done, total)` is called after each denoising step.
    public func generate(_ request: GenerationRequest, progress: (Int, Int) -> Void = { _, _ in }) throws -> GenerationResult {
        let latents = try denoise(request, progress: progress)
        model.backend.releaseUnusedMemory()  // the decode peaks higher than a step: start it from a clean slate
        let image = try DenoisingLoop.unitImage(try model.decoder.decode(latents: latents, tiling: request.tiling))
        return GenerationResult(latents: latents, image: image)
    }

    /// The final latents of `request`, not decoded: what a base model hands over to the refiner.
    public func denoise(_ request: GenerationRequest, progress: (Int, Int) -> Void = { _, _ in }) throws -> Tensor {
        try validate(request)
        let (contexts, added) = try encodePrompts(request)
        let scheduler = request.sampler.makeScheduler(config: model.schedulerConfig, steps: request.steps)
        var generator = TorchGenerator(seed: request.seed)
        let backend = model.backend
        let shape = [1, model.unet.config.inChannels, request.height / model.vaeScaleFactor, request.width / model.vaeScaleFactor]
        var latents: Tensor
        var first = 0
        let end = request.denoisingEnd.map { scheduler.timesteps.count - timesteps(scheduler, below: $0) } ?? scheduler.timesteps.count
        if let start = request.denoisingStart, let handed = request.initLatents {
            first = scheduler.timesteps.count - timesteps(scheduler, below: start)
            latents = handed
        } else if request.isImageToImage {
            // diffusers' get_timesteps: the last int(steps × strength) steps run.
            let run = min(Int(Double(request.steps) * request.strength), request.steps)
            first = request.steps - run
            let encoded = try request.initLatents ?? model.encoder.sampleLatents(request.initImage!, tiling: request.tiling, generator: &generator)
            let noise = backend.tensor(generator.randn(shape: shape))
            latents = try scheduler.addNoise(encoded, noise: noise, step: first)
        } else {
            latents = try backend.affine(backend.tensor(generator.randn(shape: shape)), scale: scheduler.initNoiseSigma, offset: 0)
        }
        let loop = DenoisingLoop(scheduler: scheduler, guidance: request.isGuided ? request.guidance : nil)
        latents = try loop.run(from: latents, first: first, end: end, generator: &generator, progress: progress) { scaled, _, index in
            try model.unet(scaled, timestep: scheduler.timesteps[index], contexts: contexts, added: added)
        }
        return latents
    }

    func validate(_ request: GenerationRequest) throws {
        let multiple = model.sizeMultiple
        guard request.width > 0, request.height > 0, request.width % multiple == 0, request.height % multiple == 0 else {
            throw DiffusionError.request("size \(request.width)x\(request.height) is not possible: width and height must be positive multiples of \(multiple) for this model")
        }
        guard (1...1000).contains(request.steps) else { throw DiffusionError.request("steps must be between 1 and 1000, not \(request.steps)") }
        guard request.guidance >= 0, request.guidance.isFinite else { throw DiffusionError.request("guidance must be 0 or more, not \(request.guidance)") }
        if let image = request.initImage {
            guard image.shape == [1, model.encoder.config.inChannels, request.height, request.width] else {
                throw DiffusionError.request("the init image is \(image.shape), expected [1, 3, \(request.height), \(request.width)]")
            }
        }
        if let latents = request.initLatents {
            let expected = [1, model.unet.config.inChannels, request.height / model.vaeScaleFactor, request.width / model.vaeScaleFactor]
            guard latents.shape == expected, request.initImage == nil else {
                throw DiffusionError.request("the init latents are \(latents.shape), expected \(expected) and no init image")
            }
        }
        for (name, fraction) in [("denoising end", request.denoisingEnd), ("denoising start", request.denoisingStart)] {
            guard let fraction else { continue }
            guard fraction > 0, fraction < 1 else { throw DiffusionError.request("\(name) must be between 0 and 1 (a fraction of the schedule), not \(fraction)") }
        }
        if request.denoisingStart != nil {
            guard request.initLatents != nil else { throw DiffusionError.request("a denoising start needs the latents the base model handed over") }
        } else if request.isImageToImage {
            guard request.strength > 0, request.strength <= 1 else { throw DiffusionError.request("strength must be in (0, 1], not \(request.strength)") }
            guard Int(Double(request.steps) * request.strength) >= 1 else {
                throw DiffusionError.request("strength \(request.strength) with \(request.steps) steps runs no step; raise the strength or the steps")
            }
        }
    }

    /// How many of the schedule's timesteps lie below the cut at `fraction` of training
    /// (diffusers' discrete_timestep_cutoff = round(T − fraction·T)).
    func timesteps(_ scheduler: Scheduler, below fraction: Double) -> Int {
        let total = Double(model.schedulerConfig.trainTimesteps)
        let cutoff = Float((total - fraction * total).rounded())
        return scheduler.timesteps.filter { $0 < cutoff }.count
    }

    /// The UNet's contexts: [77·chunks, dim] for the prompt, or two (negative, prompt) when
    /// guided; on SDXL also the added conditioning, in the same order.
    func encodePrompts(_ request: GenerationRequest) throws -> (contexts: [Tensor], added: AddedConditioning?) {
        // LoRA tags were applied when the model was loaded; the encoders read the text without them.
        let prompt = try model.text.encode(ExtraNetworks.parse(request.prompt).text, clipSkip: request.clipSkip)
        let halves = request.isGuided ? [try model.text.negative(ExtraNetworks.parse(request.negativePrompt).text, like: prompt, clipSkip: request.clipSkip), prompt] : [prompt]
        // One context per half: a long prompt and a short negative one have different lengths.
        let context = try halves.map { try $0.context.item(0) }
        guard let count = model.addedTimeIDs else { return (context, nil) }
        let ids = request.micro.timeIDs(count: count, height: request.height, width: request.width)
        let pooled = halves.compactMap(\.pooled)
        guard pooled.count == halves.count else { throw NeuralError.shapeMismatch("SDXL conditioning without pooled text embeds") }
        return (context, AddedConditioning(textEmbeds: pooled.count == 1 ? pooled[0] : try model.backend.concat(pooled, axis: 0),
                                           timeIds: request.isGuided ? [ids.negative, ids.positive] : [ids.positive]))
    }
}
