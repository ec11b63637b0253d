import Foundation

/// A scheduler's settings, as diffusers stores them in scheduler/scheduler_config.json.
public struct SchedulerConfig: Decodable, Sendable, Equatable {
    public enum Prediction: String, Decodable, Sendable { case epsilon, vPrediction = "v_prediction", sample }
    public enum Spacing: String, Decodable, Sendable { case leading, trailing, linspace }
    public enum BetaSchedule: String, Decodable, Sendable { case scaledLinear = "scaled_linear", linear }

    public var trainTimesteps = 1000
    public var betaStart: Float = 0.00085
    public var betaEnd: Float = 0.012
    public var betaSchedule = BetaSchedule.scaledLinear
    public var prediction = Prediction.epsilon
    public var spacing = Spacing.leading
    public var stepsOffset = 1
    public var setAlphaToOne = false
    /// LCM: the distillation schedule's step count and the boundary-condition time scale.
    public var originalInferenceSteps = 50
    public var timestepScaling: Float = 10

    enum CodingKeys: String, CodingKey {
        case trainTimesteps = "num_train_timesteps", betaStart = "beta_start", betaEnd = "beta_end"
        case betaSchedule = "beta_schedule", prediction = "prediction_type", spacing = "timestep_spacing"
        case stepsOffset = "steps_offset", setAlphaToOne = "set_alpha_to_one"
        case originalInferenceSteps = "original_inference_steps", timestepScaling = "timestep_scaling"
    }

    public init(prediction: Prediction = .epsilon, spacing: Spacing = .leading) {
        self.prediction = prediction
        self.spacing = spacing
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        trainTimesteps = try c.decodeIfPresent(Int.self, forKey: .trainTimesteps) ?? trainTimesteps
        betaStart = try c.decodeIfPresent(Float.self, forKey: .betaStart) ?? betaStart
        betaEnd = try c.decodeIfPresent(Float.self, forKey: .betaEnd) ?? betaEnd
        betaSchedule = try c.decodeIfPresent(BetaSchedule.self, forKey: .betaSchedule) ?? betaSchedule
        prediction = try c.decodeIfPresent(Prediction.self, forKey: .prediction) ?? prediction
        spacing = try c.decodeIfPresent(Spacing.self, forKey: .spacing) ?? spacing
        stepsOffset = try c.decodeIfPresent(Int.self, forKey: .stepsOffset) ?? stepsOffset
        setAlphaToOne = try c.decodeIfPresent(Bool.self, forKey: .setAlphaToOne) ?? setAlphaToOne
        // LCM's key; other schedulers do not read it, so its default must not refuse a short schedule.
        originalInferenceSteps = try c.decodeIfPresent(Int.self, forKey: .originalInferenceSteps) ?? min(originalInferenceSteps, max(trainTimesteps, 1))
        timestepScaling = try c.decodeIfPresent(Float.self, forKey: .timestepScaling) ?? timestepScaling
        try ConfigCheck.check(problem)
    }
}

/// The training noise schedule: betas and cumulative alphas, computed as torch does (float32
/// linspace evaluated from both ends, cumulative product accumulated in double).
struct NoiseSchedule: Sendable {
    let alphasCumprod: [Float]

    init(_ config: SchedulerConfig) {
        let n = config.trainTimesteps
        let (start, end): (Float, Float) = config.betaSchedule == .scaledLinear
            ? (Float(Double(config.betaStart).squareRoot()), Float(Double(config.betaEnd).squareRoot()))
            : (config.betaStart, config.betaEnd)
        let step = (end - start) / Float(n - 1)
        var product = 1.0
        var cumulative = [Float](repeating: 0, count: n)
        for i in 0..<n {
            let value = i < n / 2 ? start + step * Float(i) : end - step * Float(n - i - 1)
            let beta = config.betaSchedule == .scaledLinear ? value * value : value
            product *= Double(1 - beta)
            cumulative[i] = Float(product)
        }
        alphasCumprod = cumulative
    }

    /// σ(t) = √((1 − ᾱ)/ᾱ) for every training timestep, in float32.
    var sigmas: [Float] { alphasCumprod.map { ((1 - $0) / $0).squareRoot() } }
}

/// Inference timesteps by diffusers' three spacings (descending).
enum TimestepSpacing {
    static func timesteps(_ config: SchedulerConfig, steps: Int) -> [Int] {
        let n = config.trainTimesteps
        switch config.spacing {
        case .leading:
            let ratio = n / steps
            return (0..<steps).reversed().map { $0 * ratio + config.stepsOffset }
        case .trailing:
            let ratio = Double(n) / Double(steps)
            return stride(from: Double(n), to: 0, by: -ratio).map { Int($0.rounded(.toNearestOrEven)) - 1 }
        case .linspace:
            return (0..<steps).reversed().map { Int((Double(n - 1) * Double($0) / Double(steps - 1)).rounded(.toNearestOrEven)) }
        }
    }
}
