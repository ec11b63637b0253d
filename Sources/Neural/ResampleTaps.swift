/// One axis of a separable resampling: for each output index, the input indices it reads and
/// their weights, border rules already applied (indices clamped or reflected). Backends that
/// resample in two 1-D passes (the GPU's `resample` kernel) run torch's interpolation modes and
/// the k-diffusion FIR resamplers from these.
public struct ResampleTaps: Sendable, Equatable {
    public var indices: [[Int]]
    public var weights: [[Float]]

    public var outputCount: Int { indices.count }

    /// torch's `F.interpolate` (align_corners=False) from `input` to `output` samples.
    public static func interpolation(input: Int, output: Int, mode: ResizeMode) -> ResampleTaps {
        let scale = Float(input) / Float(output)
        func clamped(_ i: Int) -> Int { min(max(i, 0), input - 1) }
        switch mode {
        case .nearest where output % input == 0, .nearestExact where output % input == 0:
            // Whole-number enlargement: both rules pick source ⌊o / factor⌋ (exact, unlike o · scale).
            return single(output) { $0 / (output / input) }
        case .nearest:
            return single(output) { clamped(Int((Float($0) * scale).rounded(.down))) }
        case .nearestExact:
            return single(output) { clamped(Int(((Float($0) + 0.5) * scale).rounded(.down))) }
        case .bilinear:
            return taps(output) { o in
                let s = max((Float(o) + 0.5) * scale - 0.5, 0)
                let i0 = Int(s), f = s - Float(i0)
                return ([clamped(i0), clamped(i0 + 1)], [1 - f, f])
            }
        case .bicubic:
            return taps(output) { o in
                let s = (Float(o) + 0.5) * scale - 0.5
                let i0 = Int(s.rounded(.down))
                return ((0..<4).map { clamped(i0 - 1 + $0) }, cubicWeights(s - Float(i0)))
            }
        case .bilinearAntialiased, .bicubicAntialiased:
            let filter = antialiased(input: input, output: output, cubic: mode == .bicubicAntialiased)
            return ResampleTaps(indices: filter.map { tap in tap.weights.indices.map { tap.first + $0 } }, weights: filter.map(\.weights))
        }
    }

    /// The k-diffusion FIR resamplers (diffusers' KDownsample2D / KUpsample2D) along one axis:
    /// the [1, 3, 3, 1] binomial filter after one sample of reflect padding. Down halves `input`
    /// (even, ≥ 2): out[i] = Σₖ p[2i + k]·f[k] with f = [1, 3, 3, 1] / 8. Up doubles it (≥ 2):
    /// out[2m] = (x[m−1] + 3·x[m]) / 4, out[2m+1] = (3·x[m] + x[m+1]) / 4, x reflected at the ends.
    public static func fir(input: Int, _ direction: FIRDirection) -> ResampleTaps {
        func reflected(_ i: Int) -> Int { i < 0 ? -i : i >= input ? 2 * (input - 1) - i : i }
        switch direction {
        case .down:
            let filter: [Float] = [1 / 8, 3 / 8, 3 / 8, 1 / 8]
            return taps(input / 2) { i in ((0..<4).map { reflected(2 * i - 1 + $0) }, filter) }
        case .up:
            return taps(input * 2) { o in
                let m = o / 2
                let even: [Float] = [0.25, 0.75], odd: [Float] = [0.75, 0.25]
                return o % 2 == 0 ? ([reflected(m - 1), m], even) : ([m, reflected(m + 1)], odd)
            }
        }
    }

    /// torch's antialiased bilinear and bicubic weights (`antialias=True`): for each output index,
    /// the first input index it reads and the normalised weights of a filter (triangle, or Keys'
    /// cubic with A = −0.5) stretched by the shrink factor; enlarging, not stretched, but still
    /// renormalised at the borders.
    public static func antialiased(input: Int, output: Int, cubic: Bool) -> [(first: Int, weights: [Float])] {
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

    /// Keys' cubic convolution weights with A = −0.75 (torch's bicubic), for offset t in [0, 1).
    public static func cubicWeights(_ t: Float) -> [Float] {
        let a: Float = -0.75
        func near(_ x: Float) -> Float { ((a + 2) * x - (a + 3)) * x * x + 1 }
        func far(_ x: Float) -> Float { ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }
        return [far(t + 1), near(t), near(1 - t), far(2 - t)]
    }

    private static func single(_ output: Int, _ index: (Int) -> Int) -> ResampleTaps {
        ResampleTaps(indices: (0..<output).map { [index($0)] }, weights: Array(repeating: [1], count: output))
    }

    private static func taps(_ output: Int, _ tap: (Int) -> (indices: [Int], weights: [Float])) -> ResampleTaps {
        let all = (0..<output).map(tap)
        return ResampleTaps(indices: all.map(\.indices), weights: all.map(\.weights))
    }

    /// The resample kernel's layout: per output index its pairs' start and count, then the pairs
    /// (input index, weight bits).
    public var words: [UInt32] {
        var header = [UInt32](), pairs = [UInt32]()
        let start = 2 * outputCount
        for (indices, weights) in zip(indices, weights) {
            header += [UInt32(start + pairs.count), UInt32(indices.count)]
            for (index, weight) in zip(indices, weights) { pairs += [UInt32(index), weight.bitPattern] }
        }
        return header + pairs
    }
}

extension ResampleTaps {
    /// Why `shape` cannot be FIR-resampled: [N, C, H, W] with H, W ≥ 2, even to go down.
    public static func checkFIR(_ shape: [Int], _ direction: FIRDirection) throws {
        let down = direction == .down
        guard shape.count == 4, shape[2] >= 2, shape[3] >= 2, !down || (shape[2] % 2 == 0 && shape[3] % 2 == 0) else {
            throw NeuralError.shapeMismatch("FIR \(down ? "downsample" : "upsample") of \(shape): needs [N, C, H, W] with \(down ? "even " : "")H, W ≥ 2")
        }
    }
}
