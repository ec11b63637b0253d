import Neural
import Foundation

extension Interpolation {
    /// torch's `F.interpolate(..., antialias=True)` for bilinear and bicubic (align_corners=False):
    /// each output sample is a normalised weighted sum over the input samples under a filter
    /// (triangle, or Keys' cubic with A = −0.5) stretched by the shrink factor, rows then columns.
    /// Enlarging, the filter is not stretched; the weights are still renormalised at the borders,
    /// which is where it differs from the plain modes.
    static func resizeAntialiased(_ x: HostTensor, height outH: Int, width outW: Int, cubic: Bool) throws -> HostTensor {
        guard x.shape.count == 4, outH > 0, outW > 0 else { throw NeuralError.shapeMismatch("interpolate: input \(x.shape) to \(outH)x\(outW)") }
        let planes = x.shape[0] * x.shape[1], inH = x.shape[2], inW = x.shape[3]
        let rows = filterTaps(input: inH, output: outH, cubic: cubic), columns = filterTaps(input: inW, output: outW, cubic: cubic)
        var out = [Float](repeating: 0, count: planes * outH * outW)
        var horizontal = [Float](repeating: 0, count: inH * outW)
        for plane in 0..<planes {
            let source = plane * inH * inW
            for y in 0..<inH {
                for (ox, tap) in columns.enumerated() {
                    var sum: Float = 0
                    for (j, w) in tap.weights.enumerated() { sum += w * x.storage[source + y * inW + tap.first + j] }
                    horizontal[y * outW + ox] = sum
                }
            }
            let target = plane * outH * outW
            for (oy, tap) in rows.enumerated() {
                for ox in 0..<outW {
                    var sum: Float = 0
                    for (j, w) in tap.weights.enumerated() { sum += w * horizontal[(tap.first + j) * outW + ox] }
                    out[target + oy * outW + ox] = sum
                }
            }
        }
        return HostTensor(shape: [x.shape[0], x.shape[1], outH, outW], storage: out)
    }

    /// For each output index: the first input index it reads and the normalised weights.
    static func filterTaps(input: Int, output: Int, cubic: Bool) -> [(first: Int, weights: [Float])] {
        let scale = Double(input) / Double(output)
        let support = (cubic ? 2.0 : 1.0) * max(scale, 1)
        let stretch = scale >= 1 ? 1 / scale : 1
        func filter(_ t: Double) -> Double {
            let x = abs(t)
            if !cubic { return max(0, 1 - x) }
            let a = -0.5
            if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
            if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
            return 0
        }
        return (0..<output).map { i in
            let center = scale * (Double(i) + 0.5)
            let first = max(Int(center - support + 0.5), 0)
            let end = min(Int(center + support + 0.5), input)
            var weights = (first..<end).map { filter((Double($0) - center + 0.5) * stretch) }
            let total = weights.reduce(0, +)
            if total != 0 { weights = weights.map { $0 / total } }
            return (first, weights.map(Float.init))
        }
    }
}
