import Foundation
import Neural

/// diffusers' DPMSolverMultistepScheduler as "DPM++ 2M": dpmsolver++, second order, midpoint,
/// lower-order final steps, final σ of zero; optionally with Karras σs.
public struct DPMSolverScheduler: Scheduler {
    public let config: SchedulerConfig
    public let karras: Bool
    /// σ per step, then a final 0.
    public let sigmas: [Float]
    public let timesteps: [Float]
    public var initNoiseSigma: Float { 1 }
    /// The previous step's x₀ prediction (multistep history). The scheduler is a value; `step`
    /// keeps it in a box so the Scheduler protocol stays non-mutating like diffusers' call shape.
    private let history = History()

    final class History: @unchecked Sendable {
        var previous: Tensor?
        var lowerOrderSteps = 0
    }

    public init(config: SchedulerConfig, steps count: Int, karras: Bool = false) {
        self.config = config
        self.karras = karras
        let table = NoiseSchedule(config).sigmas
        if karras {
            // Karras et al. (2022), ρ = 7, between the schedule's smallest and largest σ.
            let low = Double(table.first!), high = Double(table.last!), rho = 7.0
            let ramp = (0..<count).map { count > 1 ? Double($0) / Double(count - 1) : 0 }
            let values = ramp.map { pow(pow(high, 1 / rho) + $0 * (pow(low, 1 / rho) - pow(high, 1 / rho)), rho) }
            let logTable = table.map { logf($0) }
            timesteps = values.map { Float(Self.timestep(forSigma: $0, logSigmas: logTable).rounded(.toNearestOrEven)) }
            sigmas = values.map(Float.init) + [0]
        } else {
            let n = config.trainTimesteps
            let steps: [Int]
            switch config.spacing {
            case .leading:
                let ratio = n / (count + 1)
                steps = (1...count).reversed().map { $0 * ratio + config.stepsOffset }
            case .trailing:
                steps = TimestepSpacing.timesteps(config, steps: count)
            case .linspace:
                steps = (1...count).reversed().map { Int((Double(n - 1) * Double($0) / Double(count)).rounded(.toNearestOrEven)) }
            }
            timesteps = steps.map(Float.init)
            sigmas = steps.map { table[$0] } + [0]
        }
    }

    /// diffusers' _sigma_to_t: linear interpolation of log σ in the training schedule.
    static func timestep(forSigma sigma: Double, logSigmas: [Float]) -> Double {
        let logSigma = log(max(sigma, 1e-10))
        var low = 0
        for (index, value) in logSigmas.enumerated() where logSigma - Double(value) >= 0 { low = index }
        low = min(low, logSigmas.count - 2)
        let (a, b) = (Double(logSigmas[low]), Double(logSigmas[low + 1]))
        let w = min(max((a - logSigma) / (a - b), 0), 1)
        return (1 - w) * Double(low) + w * Double(low + 1)
    }

    /// αₜ·x + σₜ·ε with αₜ, σₜ from this step's σ.
    public func addNoise(_ original: Tensor, noise: Tensor, step index: Int) throws -> Tensor {
        let (alpha, sigma) = Self.alphaSigma(sigmas[index])
        return try combine(original, alpha, noise, sigma)
    }

    public func scaleModelInput(_ sample: Tensor, step index: Int) -> Tensor { sample }

    static func alphaSigma(_ sigma: Float) -> (alpha: Float, sigma: Float) {
        let alpha = 1 / (sigma * sigma + 1).squareRoot()
        return (alpha, sigma * alpha)
    }

    public func step(_ modelOutput: Tensor, step index: Int, sample: Tensor, generator: inout TorchGenerator) throws -> Tensor {
        if index == 0 { history.previous = nil; history.lowerOrderSteps = 0 }
        let (alphaS, sigmaS) = Self.alphaSigma(sigmas[index])
        // x₀ prediction from the model output.
        let x0: Tensor
        switch config.prediction {
        case .epsilon:
            x0 = try combine(sample, 1 / alphaS, modelOutput, -sigmaS / alphaS)
        case .vPrediction: x0 = try combine(sample, alphaS, modelOutput, -sigmaS)
        case .sample: x0 = modelOutput
        }
        let (alphaT, sigmaT) = Self.alphaSigma(sigmas[index + 1])
        let lambdaT = logf(alphaT) - logf(sigmaT), lambdaS = logf(alphaS) - logf(sigmaS)
        let h = lambdaT - lambdaS
        let last = index == timesteps.count - 1
        let firstOrder = history.lowerOrderSteps < 1 || last  // final σ is zero: the last step is first order
        let out: Tensor
        if firstOrder || history.previous == nil {
            let a = sigmaT / sigmaS, b = alphaT * (expf(-h) - 1)
            out = try combine(sample, a, x0, -b)
        } else {
            let previous = history.previous!
            let (alphaS1, sigmaS1) = Self.alphaSigma(sigmas[index - 1])
            let lambdaS1 = logf(alphaS1) - logf(sigmaS1)
            let r0 = (lambdaS - lambdaS1) / h
            let a = sigmaT / sigmaS, b = alphaT * (expf(-h) - 1)
            let d1 = try combine(x0, 1 / r0, previous, -1 / r0)
            out = try sample.backend.weightedSum([(sample, a), (x0, -b), (d1, -0.5 * b)])
        }
        history.previous = x0
        if history.lowerOrderSteps < 2 { history.lowerOrderSteps += 1 }
        return out
    }
}
