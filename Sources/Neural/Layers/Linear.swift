/// nn.Linear: weights [out, in] and an optional bias, prepared once for the backend.
public struct Linear: Sendable {
    public let weights: any PreparedLinear
    let backend: any Backend

    /// Reads `prefix.weight` [outputs, inputs] and, with `bias`, `prefix.bias` [outputs].
    public init(_ w: WeightLoader, _ prefix: String, inputs: Int, outputs: Int, bias: Bool = true) throws {
        try self.init(backend: w.backend, weight: try w.host(prefix + ".weight", [outputs, inputs]),
                      bias: bias ? try w.host(prefix + ".bias", [outputs]) : nil)
    }

    public init(backend: any Backend, weight: HostTensor, bias: HostTensor?) throws {
        self.backend = backend
        weights = try backend.prepareLinear(weight: weight, bias: bias)
    }

    public var inputs: Int { weights.inputs }
    public var outputs: Int { weights.outputs }

    public func callAsFunction(_ x: Tensor) throws -> Tensor { try backend.linear(x, weights) }
}
