import Neural

/// torch's pixel_unshuffle as a stride-`factor` convolution whose weights are 0 or 1: output
/// channel c·f² + i·f + j takes input channel c at offset (i, j) of each f×f cell. Products by 1
/// and sums with 0 are exact, so this is the same rearrangement, on any backend.
struct PreparedPixelUnshuffle: Sendable {
    let convolution: any PreparedConvolution
    let backend: any Backend

    init(channels: Int, factor f: Int, backend: any Backend) throws {
        var weight = HostTensor(zeros: [channels * f * f, channels, f, f])
        for c in 0..<channels {
            for i in 0..<f {
                for j in 0..<f { weight.storage[(((c * f * f + i * f + j) * channels + c) * f + i) * f + j] = 1 }
            }
        }
        convolution = try backend.prepareConvolution(weight: weight, bias: nil, stride: f, padding: 0, paddingEnd: 0)
        self.backend = backend
    }

    func callAsFunction(_ x: Tensor) throws -> Tensor { try backend.conv2d(x, convolution) }
}
