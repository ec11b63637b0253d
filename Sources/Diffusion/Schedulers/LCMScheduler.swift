import Foundation
import Neural

/// diffusers' LCMScheduler (latent consistency models, e.g. LCM-distilled SD 1.5): a few steps on
/// the distillation schedule, each a consistency-model prediction re-noised to the next timestep.
public struct LCMScheduler: Scheduler {
    public let config: SchedulerConfig
    let alphasCumprod: [Float]
    let steps: [Int]
    public var timesteps: [Float] { steps.map(Float.init) }
    public var initNoiseSigma: Float { 1 }

    public init(config: SchedulerConfig, steps count: Int) {
        self.config = config
        alphasCumprod = NoiseSchedule(config).alphasCumprod
        let k = config.trainTimesteps / config.originalInferenceSteps
        let origin = (1...config.originalInferenceSteps).reversed().map { $0 * k - 1 }
        // floor(linspace(0, len, count, endpoint: false)) picks evenly spaced entries.
        steps = (0..<count).map { origin[Int((Double($0) * Double(origin.count) / Double(count)).rounded(.down))] }
    }

    public func addNoise(_ original: Tensor, noise: Tensor, step index: Int) throws -> Tensor {
        try Diffusion.addNoise(original, noise: noise, alphaCumprod: alphasCumprod[steps[index]])
    }

    public func scaleModelInput(_ sample: Tensor, step index: Int) throws -> Tensor { sample }

    public func step(_ modelOutput: Tensor, step index: Int, sample: Tensor, generator: inout TorchGenerator) throws -> Tensor {
        let t = steps[index]
        let previous = index + 1 < steps.count ? steps[index + 1] : t
        let alpha = alphasCumprod[t], alphaPrevious = alphasCumprod[previous]
        let beta = 1 - alpha
        // Boundary-condition scalings with σ_data = 0.5.
        let scaled = Float(t) * config.timestepScaling
        let cSkip = 0.25 / (scaled * scaled + 0.25), cOut = scaled / (scaled * scaled + 0.25).squareRoot()
        let original: Tensor
        switch config.prediction {
        case .epsilon:
            original = try combine(sample, 1 / alpha.squareRoot(), modelOutput, -beta.squareRoot() / alpha.squareRoot())
        case .sample: original = modelOutput
        case .vPrediction: original = try combine(sample, alpha.squareRoot(), modelOutput, -beta.squareRoot())
        }
        let denoised = try combine(original, cOut, sample, cSkip)
        guard index != steps.count - 1 else { return denoised }
        let noise = sample.backend.tensor(generator.randn(shape: sample.shape))
        return try combine(denoised, alphaPrevious.squareRoot(), noise, (1 - alphaPrevious).squareRoot())
    }
}
