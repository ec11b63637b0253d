/// nn.Conv2d: weights [out, in, k, k], bias, stride and padding, prepared once for the backend
/// (for oneDNN: reordered into the blocked layout its kernels read).
public struct Conv2d: Sendable {
    public let weights: any PreparedConvolution
    let backend: any Backend

    /// Reads `prefix.weight` [outputs, inputs, kernel, kernel] and, with `bias`, `prefix.bias`.
    /// `padding` zeros go before each spatial axis and `paddingEnd` (default: the same) after it.
    public init(_ w: WeightLoader, _ prefix: String, inputs: Int, outputs: Int, kernel: Int, stride: Int = 1,
                padding: Int? = nil, paddingEnd: Int? = nil, bias: Bool = true) throws {
        let padding = padding ?? kernel / 2
        self.backend = w.backend
        weights = try w.backend.prepareConvolution(weight: try w.host(prefix + ".weight", [outputs, inputs, kernel, kernel]),
                                                   bias: bias ? try w.host(prefix + ".bias", [outputs]) : nil,
                                                   stride: stride, padding: padding, paddingEnd: paddingEnd ?? padding)
    }

    public var inputs: Int { weights.inputs }
    public var outputs: Int { weights.outputs }

    /// The convolution of `x`, plus `residual` (shaped as the output) when given.
    public func callAsFunction(_ x: Tensor, adding residual: Tensor? = nil) throws -> Tensor { try backend.conv2d(x, weights, adding: residual) }
}
