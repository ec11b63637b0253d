import AtomicFiles
import Foundation
import Neural

/// stabilityai/sd-x2-latent-upscaler (or any StableDiffusionLatentUpscalePipeline folder): its
/// CLIP text encoder and tokenizer, K-block UNet, VAE and Euler scheduler.
public final class LatentUpscalerModel: @unchecked Sendable {
    public let path: String
    public let tokenizer: CLIPTokenizer
    public let textEncoder: CLIPTextEncoder
    public let unet: UpscalerUNet
    public let decoder: VAEDecoder
    public let schedulerConfig: SchedulerConfig

    /// Checks, without loading weights, that `path` is a latent upscaler's diffusers folder.
    public static func checkFolder(_ path: String) throws {
        try ModelFiles.refusePickle(path)
        let index = path + "/model_index.json"
        guard let data = RegularFile.contents(atPath: index) else {
            throw DiffusionError.modelFiles(path: index, reason: "missing: the x2 latent upscaler is a diffusers folder (stabilityai/sd-x2-latent-upscaler)")
        }
        let pipelineClass = ((try? JSONSerialization.jsonObject(with: data)) as? [String: Any])?["_class_name"] as? String ?? "?"
        guard pipelineClass == "StableDiffusionLatentUpscalePipeline" else {
            throw DiffusionError.modelFiles(path: index, reason: "\(pipelineClass) is not StableDiffusionLatentUpscalePipeline (the x2 latent upscaler)")
        }
    }

    public init(path: String, backend: any Backend) throws {
        try Self.checkFolder(path)
        self.path = path
        tokenizer = try CLIPTokenizer.load(folder: path + "/tokenizer")
        textEncoder = try CLIPTextEncoder(folder: path + "/text_encoder", backend: backend)
        unet = try UpscalerUNet(folder: path + "/unet", backend: backend)
        decoder = try VAEDecoder(weights: try VAEWeights(folder: path + "/vae"), backend: backend)
        schedulerConfig = try Self.eulerConfig(path + "/scheduler/scheduler_config.json")
        let latentChannels = decoder.config.latentChannels, width = textEncoder.config.hiddenSize
        guard unet.config.inChannels == 2 * latentChannels, unet.config.outChannels > latentChannels,
              unet.config.crossAttentionDim == width, unet.config.timeConditionDim == LatentUpscaler.noiseLevelFeatures + width else {
            throw DiffusionError.modelFiles(path: path, reason: "the UNet (\(unet.config.inChannels) channels in, \(unet.config.outChannels) out, attends to \(unet.config.crossAttentionDim), conditioned on \(unet.config.timeConditionDim)) does not fit the VAE (\(latentChannels) latent channels) and text encoder (\(width) wide)")
        }
    }

    /// The scheduler file read as diffusers' EulerDiscreteScheduler reads it: a missing spacing is
    /// Euler's own default (linspace), and schedules we do not compute are refused by name.
    static func eulerConfig(_ path: String) throws -> SchedulerConfig {
        var config = try SchedulerConfig.load(path)
        let raw = RegularFile.contents(atPath: path).flatMap { try? JSONSerialization.jsonObject(with: $0) } as? [String: Any] ?? [:]
        if raw["timestep_spacing"] == nil { config.spacing = .linspace }
        if let interpolation = raw["interpolation_type"] as? String, interpolation != "linear" {
            throw DiffusionError.modelFiles(path: path, reason: "interpolation_type \(interpolation) is not supported (linear is)")
        }
        if raw["use_karras_sigmas"] as? Bool == true {
            throw DiffusionError.modelFiles(path: path, reason: "use_karras_sigmas is not supported for the x2 latent upscaler")
        }
        return config
    }
}

/// diffusers' StableDiffusionLatentUpscalePipeline: doubles SD latents with the x2 upscaler model.
/// The low-resolution latents, nearest-enlarged, condition every step (noise level 0); the UNet's
/// output F becomes the denoised latents x/(σ²+1) + σ/√(σ²+1)·F (k-diffusion preconditioning),
/// stepped by Euler; the result is decoded by the upscaler's VAE.
public struct LatentUpscaler: Sendable {
    /// The noise-level part of the timestep conditioning: Fourier features of level 0 (64 cos = 1, 64 sin = 0).
    public static let noiseLevelFeatures = 128

    public struct Request: Sendable, Equatable {
        public var prompt: String
        public var negativePrompt: String
        public var seed: UInt64
        /// The model card and diffusers' tests use 20 steps and guidance 0.
        public var steps: Int
        /// 0: the prompt is ignored (diffusers encodes ""); above 1: classifier-free guidance.
        public var guidance: Float
        public var tiling: VAETiling

        public init(prompt: String, negativePrompt: String = "", seed: UInt64, steps: Int = 20, guidance: Float = 0, tiling: VAETiling = .standard) {
            self.prompt = prompt
            self.negativePrompt = negativePrompt
            self.seed = seed
            self.steps = steps
            self.guidance = guidance
            self.tiling = tiling
        }
    }

    public let model: LatentUpscalerModel

    public init(model: LatentUpscalerModel) { self.model = model }

    /// `latents` [1, 4, h, w] as a Stable Diffusion pipeline leaves them (scaled by the VAE factor);
    /// returns latents [1, 4, 2h, 2w] and the decoded image in [0, 1].
    public func upscale(_ latents: Tensor, _ request: Request, progress: (Int, Int) -> Void = { _, _ in }) throws -> GenerationResult {
        let channels = model.decoder.config.latentChannels, multiple = 1 << (model.unet.config.blockOutChannels.count - 1)
        guard latents.shape.count == 4, latents.shape[0] == 1, latents.shape[1] == channels,
              (2 * latents.shape[2]) % multiple == 0, (2 * latents.shape[3]) % multiple == 0,
              2 * latents.shape[2] >= 2 * multiple, 2 * latents.shape[3] >= 2 * multiple else {
            throw DiffusionError.request("the x2 upscaler takes latents [1, \(channels), h, w] with 2h and 2w multiples of \(multiple) (at least \(2 * multiple)), not \(latents.shape)")
        }
        guard (1...1000).contains(request.steps) else { throw DiffusionError.request("steps must be between 1 and 1000, not \(request.steps)") }
        guard request.guidance >= 0, request.guidance.isFinite else { throw DiffusionError.request("guidance must be 0 or more, not \(request.guidance)") }
        let guided = request.guidance > 1
        let (context, condition) = try conditioning(request, guided: guided)
        let batch = guided ? 2 : 1
        let backend = model.unet.backend
        let latents = try backend.adopting(latents)
        let enlarged = try backend.resize(latents, height: 2 * latents.shape[2], width: 2 * latents.shape[3], mode: .nearest)
        let imageCondition = batch == 1 ? enlarged : try backend.concat([enlarged, enlarged], axis: 0)
        let scheduler = EulerScheduler(config: model.schedulerConfig, steps: request.steps)
        var generator = TorchGenerator(seed: request.seed)
        var sample = try backend.affine(backend.tensor(generator.randn(shape: enlarged.shape)), scale: scheduler.initNoiseSigma, offset: 0)
        let loop = DenoisingLoop(scheduler: scheduler, guidance: guided ? request.guidance : nil)
        sample = try loop.run(from: sample, generator: &generator, progress: progress) { scaled, unscaled, index in
            let sigma = scheduler.sigmas[index]
            let output = try model.unet(try backend.concat([scaled, imageCondition], axis: 1), timestep: logf(sigma) * 0.25,
                                        context: context, condition: condition)
            return try denoised(output, input: unscaled, sigma: sigma)
        }
        backend.releaseUnusedMemory()  // as the pipeline does before its decode
        let image = try DenoisingLoop.unitImage(try model.decoder.decode(latents: sample, tiling: request.tiling))
        return GenerationResult(latents: sample, image: image)
    }

    /// Text states before CLIP's final layer norm ([N, 77, width]) and the timestep conditioning
    /// ([N, 128 + width]: noise-level features, then the pooled text), negative prompt first.
    func conditioning(_ request: Request, guided: Bool) throws -> (Tensor, Tensor) {
        // diffusers replaces the prompt by "" at guidance 0.
        let prompts = guided ? [request.negativePrompt, request.prompt] : [request.guidance == 0 ? "" : request.prompt]
        let encoded = try prompts.map { try model.textEncoder.encode(model.tokenizer.encode($0)) }
        let backend = model.textEncoder.backend
        let half = Self.noiseLevelFeatures / 2
        let noiseLevel = backend.tensor([Float](repeating: 1, count: half) + [Float](repeating: 0, count: half), shape: [1, 2 * half])
        let width = model.textEncoder.config.hiddenSize
        let context = try backend.concat(try encoded.map { try $0.lastBlockOutput.reshaped([1] + $0.lastBlockOutput.shape) }, axis: 0)
        let condition = try backend.concat(try encoded.map { try backend.concat([noiseLevel, try $0.pooled.reshaped([1, width])], axis: 1) }, axis: 0)
        return (context, condition)
    }

    /// x/(σ²+1) + σ/√(σ²+1)·F over the latent channels (the UNet's extra variance channel is dropped).
    func denoised(_ output: Tensor, input: Tensor, sigma: Float) throws -> Tensor {
        let inputScale = 1 / (sigma * sigma + 1), outputScale = sigma / (sigma * sigma + 1).squareRoot()
        let latent = try input.backend.slice(output, axis: 1, range: 0..<input.shape[1])
        return try input.backend.weightedSum([(input, inputScale), (latent, outputScale)])
    }
}
