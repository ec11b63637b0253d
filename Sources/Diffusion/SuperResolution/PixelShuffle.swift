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

/// torch's pixel_shuffle ([N, C·f², H, W] → [N, C, H·f, W·f]: output (c, f·y + i, f·x + j) is input
/// channel c·f² + i·f + j at (y, x)) from the backend's ops: each of the f² sub-grids is enlarged
/// by nearest neighbour and kept only on its own positions by a 0/1 mask; the masked parts add up
/// exactly.
struct PixelShuffle: Sendable {
    let factor: Int
    let backend: any Backend

    func callAsFunction(_ x: Tensor) throws -> Tensor {
        let f = factor
        guard f > 1 else { return x }
        guard x.shape.count == 4, x.shape[1] % (f * f) == 0 else { throw NeuralError.shapeMismatch("pixel shuffle by \(f) of \(x.shape)") }
        let (height, width) = (x.shape[2], x.shape[3])
        let channels = x.shape[1] / (f * f)
        var parts: [Tensor] = []
        for i in 0..<f {
            for j in 0..<f {
                let planes = try (0..<channels).map { c in try backend.slice(x, axis: 1, range: (c * f * f + i * f + j)..<(c * f * f + i * f + j + 1)) }
                let grid = channels == 1 ? planes[0] : try backend.concat(planes, axis: 1)
                let enlarged = try backend.resize(grid, height: height * f, width: width * f, mode: .nearest)
                var mask = [Float](repeating: 0, count: height * f * width * f)
                for y in stride(from: i, to: height * f, by: f) { for x in stride(from: j, to: width * f, by: f) { mask[y * width * f + x] = 1 } }
                parts.append(try backend.multiply(enlarged, backend.tensor(mask, shape: [1, 1, height * f, width * f])))
            }
        }
        return try parts.dropFirst().reduce(parts[0]) { try backend.add($0, $1) }
    }
}
