/// nn.GroupNorm with its affine weights.
public struct GroupNorm: Sendable {
    public let groups: Int
    public let epsilon: Float
    let scale: Tensor, shift: Tensor

    public init(_ w: WeightLoader, _ prefix: String, channels: Int, groups: Int, epsilon: Float) throws {
        guard groups >= 1, channels % groups == 0 else {
            throw NeuralError.shapeMismatch("\(prefix): \(channels) channels do not split into \(groups) groups")
        }
        self.groups = groups
        self.epsilon = epsilon
        scale = try w.tensor(prefix + ".weight", [channels])
        shift = try w.tensor(prefix + ".bias", [channels])
    }

    /// `activation`: applied to the result in the same pass. `x` is consumed: handed over with
    /// `consume` and held nowhere else, it is normalised in place.
    public func callAsFunction(_ x: consuming Tensor, activation: Activation? = nil) throws -> Tensor {
        let backend = x.backend
        return try backend.groupNorm(consume x, groups: groups, scale: scale, shift: shift, epsilon: epsilon, activation: activation)
    }
}

/// nn.LayerNorm over the last axis with its affine weights.
public struct LayerNorm: Sendable {
    public let epsilon: Float
    let scale: Tensor, shift: Tensor

    public init(_ w: WeightLoader, _ prefix: String, width: Int, epsilon: Float = 1e-5) throws {
        self.epsilon = epsilon
        scale = try w.tensor(prefix + ".weight", [width])
        shift = try w.tensor(prefix + ".bias", [width])
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try x.backend.layerNorm(x, scale: scale, shift: shift, epsilon: epsilon)
    }
}
