/// What users choose (`--precision`, workflow `engine: {precision: …}`).
public enum Precision: String, Sendable, CaseIterable, Codable {
    /// The faster of fp32 and bf16 for each kind of op on this CPU, measured once (docs/engine.md).
    case auto
    /// Float32 throughout: the correctness baseline, checked against diffusers.
    case fp32
    /// bf16 weights and inputs for matrix products and convolutions, Float32 accumulation and
    /// everything else (norms, softmax, schedulers) in Float32, as torch's bf16 autocast does.
    case bf16
}

/// How the weights of Float32 products are kept in memory (`--weights`, workflow `engine: {weights: …}`).
/// Never changes an image: only values that are exactly 16-bit numbers are kept in 16 bits.
public enum WeightStorage: String, Sendable, CaseIterable, Codable {
    /// 16-bit where the model's weights would otherwise take a large part of this machine's memory.
    case auto
    /// Float32: the fastest products, twice the memory of a 16-bit checkpoint.
    case fp32
    /// Each weight whose values are all exactly fp16 (or bf16) numbers, as a 16-bit checkpoint's
    /// are, stays in those 16 bits and is widened to the same Float32 values before each product:
    /// half the memory, the same results bit for bit, a little slower.
    case sixteenBit = "16-bit"
}

/// The element type each kind of op computes in: its weights are stored in it and its inputs
/// rounded to it. What `auto` resolves to, and what a run records.
public struct OpPrecisions: Sendable, Equatable, Hashable, Codable {
    /// Linear layers (projections, feed-forward).
    public var linear: DType
    public var convolution: DType

    public init(linear: DType, convolution: DType) {
        self.linear = linear
        self.convolution = convolution
    }

    public static let fp32 = OpPrecisions(linear: .f32, convolution: .f32)
    public static let bf16 = OpPrecisions(linear: .bf16, convolution: .bf16)

    /// "fp32", "bf16", or the mix ("bf16 linear + fp32 convolution"): what images record (no
    /// comma, so it fits AUTOMATIC1111's comma-separated settings line).
    public var name: String {
        switch self {
        case .fp32: return "fp32"
        case .bf16: return "bf16"
        default: return "\(linear.displayName) linear + \(convolution.displayName) convolution"
        }
    }

    /// The precisions a recorded `name` stands for; nil for anything else.
    public init?(name: String) {
        func type(_ text: Substring) -> DType? { DType.allCases.first { $0.displayName == text } }
        switch name {
        case "fp32": self = .fp32
        case "bf16": self = .bf16
        default:
            let words = name.split(separator: " ")
            guard words.count == 5, words[1] == "linear", words[2] == "+", words[4] == "convolution",
                  let linear = type(words[0]), let convolution = type(words[3]) else { return nil }
            self.init(linear: linear, convolution: convolution)
        }
    }
}

extension DType: Codable {
    /// fp32 / bf16 / fp16, as users write precisions.
    public var displayName: String { self == .f32 ? "fp32" : self == .bf16 ? "bf16" : "fp16" }
}
