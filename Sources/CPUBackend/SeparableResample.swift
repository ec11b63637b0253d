import Neural

/// Resampling of [batch, channels, h, w] tensors in two 1-D passes of `ResampleTaps` (columns,
/// then rows): torch's antialiased interpolation and the k-diffusion FIR resamplers, with the same
/// taps the GPU's resample kernel reads.
enum SeparableResample {
    static func apply(_ x: HostTensor, rows: ResampleTaps, columns: ResampleTaps) -> HostTensor {
        let planes = x.shape[0] * x.shape[1], inH = x.shape[2], inW = x.shape[3]
        let outH = rows.outputCount, outW = columns.outputCount
        var out = [Float](repeating: 0, count: planes * outH * outW)
        var horizontal = [Float](repeating: 0, count: inH * outW)
        for plane in 0..<planes {
            let source = plane * inH * inW
            for y in 0..<inH {
                for ox in 0..<outW {
                    var sum: Float = 0
                    for (index, weight) in zip(columns.indices[ox], columns.weights[ox]) { sum += weight * x.storage[source + y * inW + index] }
                    horizontal[y * outW + ox] = sum
                }
            }
            let target = plane * outH * outW
            for oy in 0..<outH {
                for ox in 0..<outW {
                    var sum: Float = 0
                    for (index, weight) in zip(rows.indices[oy], rows.weights[oy]) { sum += weight * horizontal[index * outW + ox] }
                    out[target + oy * outW + ox] = sum
                }
            }
        }
        return HostTensor(shape: [x.shape[0], x.shape[1], outH, outW], storage: out)
    }

    /// torch's `F.interpolate(..., antialias=True)` for bilinear and bicubic (align_corners=False).
    static func antialiased(_ x: HostTensor, height: Int, width: Int, mode: ResizeMode) throws -> HostTensor {
        guard x.shape.count == 4, height > 0, width > 0 else { throw NeuralError.shapeMismatch("interpolate: input \(x.shape) to \(height)x\(width)") }
        return apply(x, rows: .interpolation(input: x.shape[2], output: height, mode: mode),
                     columns: .interpolation(input: x.shape[3], output: width, mode: mode))
    }

    /// The k-diffusion FIR resamplers (diffusers' KDownsample2D / KUpsample2D).
    static func fir(_ x: HostTensor, _ direction: FIRDirection) throws -> HostTensor {
        try ResampleTaps.checkFIR(x.shape, direction)
        return apply(x, rows: .fir(input: x.shape[2], direction), columns: .fir(input: x.shape[3], direction))
    }
}
