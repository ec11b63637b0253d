import Diffusion
import Neural
import VulkanBackend

/// The engine's models for a run, each loaded on first use and kept while jobs ask for the same
/// one: a model is gigabytes, so a different one replaces it rather than joining it.
final class EngineModels {
    typealias Loaded = (path: String, options: StableDiffusionModel.LoadOptions, model: StableDiffusionModel)
    /// `engine: {weights: …}`: how Float32 products keep 16-bit weights.
    private let weights: WeightStorage
    private var base: Loaded?
    /// SDXL's refiner stays loaded beside the base, so jobs do not reload one for the other.
    private var refiner: Loaded?
    private var latentUpscaler: LatentUpscalerModel?
    private var superResolution: SuperResolutionModel?

    init(weights: WeightStorage) {
        self.weights = weights
    }

    func model(at path: String, options: StableDiffusionModel.LoadOptions, precision: OpPrecisions, device: VulkanDevices.Device?) throws -> StableDiffusionModel {
        try load(path, options: options, precision: precision, device: device, into: &base)
    }

    func refiner(_ plan: RefinerPlan, precision: OpPrecisions, device: VulkanDevices.Device?) throws -> StableDiffusionModel {
        try load(plan.modelPath, options: plan.options, precision: precision, device: device, into: &refiner)
    }

    func latentUpscaler(at path: String, precision: OpPrecisions, device: VulkanDevices.Device?) throws -> LatentUpscalerModel {
        if let latentUpscaler, latentUpscaler.path == path, latentUpscaler.textEncoder.backend.precision == precision { return latentUpscaler }
        latentUpscaler = nil
        let halfWeights = EngineBackend.keepsHalfWeights(weights, modelPath: path, device: device)
        let model = try LatentUpscalerModel(path: path, backend: EngineBackend.backend(precision, halfWeights: halfWeights, on: device))
        latentUpscaler = model
        return model
    }

    func superResolution(_ upscale: UpscalePlan) throws -> SuperResolutionModel {
        if let superResolution, superResolution.path == upscale.path { return superResolution }
        superResolution = nil
        let model = try SuperResolutionModel(path: upscale.path, backend: EngineBackend.backend(upscale.precision, halfWeights: false, on: upscale.device))
        superResolution = model
        return model
    }

    /// The model in `slot` when it is the one asked for, else that one loaded into it.
    private func load(_ path: String, options: StableDiffusionModel.LoadOptions, precision: OpPrecisions, device: VulkanDevices.Device?,
                      into slot: inout Loaded?) throws -> StableDiffusionModel {
        // LoRAs, a VAE and embeddings are part of what is loaded: other options are another model.
        // (A workflow has one device, so a loaded model is always on it.)
        if let slot, slot.path == path, slot.options == options, slot.model.backend.precision == precision { return slot.model }
        slot = nil  // free the previous one first
        let halfWeights = EngineBackend.keepsHalfWeights(weights, modelPath: path, extraPaths: options.vae.map { [$0] } ?? [], device: device)
        let model = try StableDiffusionModel(path: path, options: options, backend: EngineBackend.backend(precision, halfWeights: halfWeights, on: device))
        slot = (path, options, model)
        return model
    }
}
