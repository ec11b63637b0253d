import Neural
import Foundation

/// The k-diffusion UNet's resamplers (diffusers' KDownsample2D / KUpsample2D): a fixed
/// [1, 3, 3, 1] binomial filter applied per channel after one pixel of reflect padding. Torch runs
/// them as a 4×4 depthwise (transposed) convolution; the filter is separable, so here it is two 1-D
/// passes, which is the same sum in another order.
enum FIRResample {
    /// Halves H and W (even sizes ≥ 2): out[i] = Σₖ p[2i + k]·f[k], f = [1, 3, 3, 1] / 8.
    static func downsample(_ x: HostTensor) throws -> HostTensor {
        guard x.shape.count == 4, x.shape[2] >= 2, x.shape[3] >= 2, x.shape[2] % 2 == 0, x.shape[3] % 2 == 0 else {
            throw NeuralError.shapeMismatch("FIR downsample of \(x.shape): needs [N, C, H, W] with even H, W ≥ 2")
        }
        let filter: [Float] = [1 / 8, 3 / 8, 3 / 8, 1 / 8]
        return separable(x, outHeight: x.shape[2] / 2, outWidth: x.shape[3] / 2) { padded, n, out in
            for i in 0..<(n / 2) {
                let p = 2 * i
                out[i] = padded[p] * filter[0] + padded[p + 1] * filter[1] + padded[p + 2] * filter[2] + padded[p + 3] * filter[3]
            }
        }
    }

    /// Doubles H and W (sizes ≥ 2). Torch's stride-2 transposed convolution with f = [1, 3, 3, 1] / 4
    /// and padding 3 reduces to out[2m] = (x[m−1] + 3·x[m]) / 4 and out[2m+1] = (3·x[m] + x[m+1]) / 4,
    /// with x reflected at the ends (padded[m] is x[m−1]).
    static func upsample(_ x: HostTensor) throws -> HostTensor {
        guard x.shape.count == 4, x.shape[2] >= 2, x.shape[3] >= 2 else {
            throw NeuralError.shapeMismatch("FIR upsample of \(x.shape): needs [N, C, H, W] with H, W ≥ 2")
        }
        return separable(x, outHeight: x.shape[2] * 2, outWidth: x.shape[3] * 2) { padded, n, out in
            for m in 0..<n {
                out[2 * m] = padded[m] * 0.25 + padded[m + 1] * 0.75
                out[2 * m + 1] = padded[m + 1] * 0.75 + padded[m + 2] * 0.25
            }
        }
    }

    /// Runs `line` (padded input of n + 2 samples, n, output) along W, then along H, per channel.
    private static func separable(_ x: HostTensor, outHeight: Int, outWidth: Int,
                                  line: (_ padded: [Float], _ n: Int, _ out: inout [Float]) -> Void) -> HostTensor {
        let planes = x.shape[0] * x.shape[1], height = x.shape[2], width = x.shape[3]
        var result = [Float](repeating: 0, count: planes * outHeight * outWidth)
        var rows = [Float](repeating: 0, count: height * outWidth)
        var padded = [Float](repeating: 0, count: max(height, width) + 2)
        var output = [Float](repeating: 0, count: max(outHeight, outWidth))
        for plane in 0..<planes {
            let base = plane * height * width
            for y in 0..<height {
                padded = reflectPadded(count: width) { x.storage[base + y * width + $0] }
                line(padded, width, &output)
                for o in 0..<outWidth { rows[y * outWidth + o] = output[o] }
            }
            let outBase = plane * outHeight * outWidth
            for column in 0..<outWidth {
                padded = reflectPadded(count: height) { rows[$0 * outWidth + column] }
                line(padded, height, &output)
                for o in 0..<outHeight { result[outBase + o * outWidth + column] = output[o] }
            }
        }
        return HostTensor(shape: [x.shape[0], x.shape[1], outHeight, outWidth], storage: result)
    }

    /// One sample of reflect padding at each end: [v1, v0, v1, …, vn−1, vn−2].
    private static func reflectPadded(count n: Int, _ value: (Int) -> Float) -> [Float] {
        var out = [Float](repeating: 0, count: n + 2)
        out[0] = value(1)
        for i in 0..<n { out[i + 1] = value(i) }
        out[n + 1] = value(n - 2)
        return out
    }
}
