import Foundation

/// diffusers' TimestepEmbedding: linear_1, an activation, linear_2.
public struct TimestepEmbedding: Sendable {
    let first: Linear, second: Linear
    let activation: Activation

    public init(_ w: WeightLoader, _ prefix: String, inputs: Int, outputs: Int, activation: Activation = .silu) throws {
        first = try Linear(w, prefix + ".linear_1", inputs: inputs, outputs: outputs)
        second = try Linear(w, prefix + ".linear_2", inputs: outputs, outputs: outputs)
        self.activation = activation
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try second(try x.backend.activation(try first(x), activation))
    }

    /// diffusers' Timesteps features of `timestep`: [cos, sin] (flip_sin_to_cos) or [sin, cos] at
    /// frequencies exp(−ln(10000)·i/half), shift 0.
    public static func sinusoidal(_ timestep: Float, width: Int, cosineFirst: Bool = true) -> HostTensor {
        let half = width / 2
        var features = [Float](repeating: 0, count: width)
        for i in 0..<half {
            let angle = timestep * expf(-logf(10_000) * Float(i) / Float(half))
            features[cosineFirst ? i : half + i] = cosf(angle)
            features[cosineFirst ? half + i : i] = sinf(angle)
        }
        return HostTensor(shape: [1, width], storage: features)
    }
}
