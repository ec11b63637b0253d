import Foundation
import Neural

/// diffusers' DDIMScheduler with eta = 0 (deterministic).
public struct DDIMScheduler: Scheduler {
    public let config: SchedulerConfig
    let alphasCumprod: [Float]
    let finalAlphaCumprod: Float
    let steps: [Int]
    public var timesteps: [Float] { steps.map(Float.init) }
    public var initNoiseSigma: Float { 1 }

    public init(config: SchedulerConfig, steps count: Int) {
        self.config = config
        alphasCumprod = NoiseSchedule(config).alphasCumprod
        finalAlphaCumprod = config.setAlphaToOne ? 1 : alphasCumprod[0]
        steps = TimestepSpacing.timesteps(config, steps: count)
    }

    public func addNoise(_ original: Tensor, noise: Tensor, step index: Int) throws -> Tensor {
        try Diffusion.addNoise(original, noise: noise, alphaCumprod: alphasCumprod[steps[index]])
    }

    public func scaleModelInput(_ sample: Tensor, step index: Int) throws -> Tensor { sample }

    public func step(_ modelOutput: Tensor, step index: Int, sample: Tensor, generator: inout TorchGenerator) throws -> Tensor {
        let t = steps[index]
        // diffusers steps back by train/inference steps whatever the spacing.
        let previous = t - config.trainTimesteps / steps.count
        let alpha = alphasCumprod[t]
        let alphaPrevious = previous >= 0 ? alphasCumprod[previous] : finalAlphaCumprod
        let beta = 1 - alpha
        let (predictedOriginal, predictedNoise): (Tensor, Tensor)
        switch config.prediction {
        case .epsilon:
            let x0 = try combine(sample, 1 / alpha.squareRoot(), modelOutput, -beta.squareRoot() / alpha.squareRoot())
            (predictedOriginal, predictedNoise) = (x0, modelOutput)
        case .sample:
            let eps = try combine(sample, 1 / beta.squareRoot(), modelOutput, -alpha.squareRoot() / beta.squareRoot())
            (predictedOriginal, predictedNoise) = (modelOutput, eps)
        case .vPrediction:
            (predictedOriginal, predictedNoise) = (try combine(sample, alpha.squareRoot(), modelOutput, -beta.squareRoot()),
                                                   try combine(modelOutput, alpha.squareRoot(), sample, beta.squareRoot()))
        }
        return try combine(predictedOriginal, alphaPrevious.squareRoot(), predictedNoise, (1 - alphaPrevious).squareRoot())
    }
}
