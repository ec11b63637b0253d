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

    /// A convolution from weights [outputs, inputs, kh, kw] in memory (made at load, e.g. combined taps).
    public init(backend: any Backend, weight: HostTensor, bias: HostTensor?, stride: Int = 1, padding: Int, paddingEnd: Int? = nil) throws {
        self.backend = backend
        weights = try backend.prepareConvolution(weight: weight, bias: bias, stride: stride, padding: padding, paddingEnd: paddingEnd ?? padding)
    }

    public var inputs: Int { weights.inputs }
    public var outputs: Int { weights.outputs }

    public func callAsFunction(_ x: Tensor) throws -> Tensor { try backend.conv2d(x, weights) }
}
