import Foundation
import Neural

/// diffusers' EulerDiscreteScheduler (ancestral: false) and EulerAncestralDiscreteScheduler (true).
public struct EulerScheduler: Scheduler {
    public let config: SchedulerConfig
    public let ancestral: Bool
    /// σ per step, then a final 0.
    public let sigmas: [Float]
    public let timesteps: [Float]

    public init(config: SchedulerConfig, steps count: Int, ancestral: Bool = false) {
        self.config = config
        self.ancestral = ancestral
        let table = NoiseSchedule(config).sigmas
        if config.spacing == .linspace {
            // diffusers' Euler keeps linspace timesteps fractional (float32) and interpolates σ
            // linearly between the table's entries (np.interp, in double).
            let last = Double(config.trainTimesteps - 1)
            timesteps = (0..<count).reversed().map { Float(count > 1 ? last * Double($0) / Double(count - 1) : 0) }
            sigmas = timesteps.map { step -> Float in
                let t = Double(step), below = min(Int(t), table.count - 1), above = min(below + 1, table.count - 1)
                return Float(Double(table[below]) + (Double(table[above]) - Double(table[below])) * (t - Double(below)))
            } + [0]
        } else {
            let steps = TimestepSpacing.timesteps(config, steps: count)
            timesteps = steps.map(Float.init)
            sigmas = steps.map { table[$0] } + [0]
        }
    }

    public var initNoiseSigma: Float {
        let maximum = sigmas.max() ?? 1
        return config.spacing == .leading ? (maximum * maximum + 1).squareRoot() : maximum
    }

    /// Euler-type noising: x + σ·ε.
    public func addNoise(_ original: Tensor, noise: Tensor, step index: Int) throws -> Tensor {
        try combine(original, 1, noise, sigmas[index])
    }

    public func scaleModelInput(_ sample: Tensor, step index: Int) throws -> Tensor {
        let sigma = sigmas[index]
        return try sample.backend.affine(sample, scale: 1 / (sigma * sigma + 1).squareRoot(), offset: 0)
    }

    public func step(_ modelOutput: Tensor, step index: Int, sample: Tensor, generator: inout TorchGenerator) throws -> Tensor {
        let sigma = sigmas[index], next = sigmas[index + 1]
        let original: Tensor
        switch config.prediction {
        case .epsilon: original = try combine(sample, 1, modelOutput, -sigma)
        case .vPrediction:
            let a = -sigma / (sigma * sigma + 1).squareRoot(), b = sigma * sigma + 1
            original = try combine(modelOutput, a, sample, 1 / b)
        case .sample: original = modelOutput
        }
        var target = next
        var noiseScale: Float = 0
        if ancestral {
            noiseScale = (next * next * (sigma * sigma - next * next) / (sigma * sigma)).squareRoot()
            target = (next * next - noiseScale * noiseScale).squareRoot()
        }
        let dt = target - sigma
        let derivative = try combine(sample, 1 / sigma, original, -1 / sigma)
        let out = try combine(sample, 1, derivative, dt)
        guard ancestral else { return out }
        return try combine(out, 1, sample.backend.tensor(generator.randn(shape: out.shape)), noiseScale)
    }
}
