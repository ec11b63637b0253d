import Neural
import Foundation

/// Image-shaped ops on [batch, channels, height, width] tensors, as torch defines them.
extension Ops {
    /// Group normalisation: mean and (population) variance per sample and channel group.
    /// `silu`: SiLU applied to the result in the same pass (a ResNet's norm → SiLU). `inPlace`:
    /// the result overwrites x's values (for a caller that holds their only reference, see
    /// `CPUBackend.owned`); otherwise it goes into a new array.
    static func groupNorm(_ x: consuming HostTensor, groups: Int, weight: HostTensor, bias: HostTensor, epsilon: Float = 1e-5, silu: Bool = false,
                          inPlace: Bool = false) throws -> HostTensor {
        guard x.shape.count >= 2, x.shape[1] % groups == 0, weight.count == x.shape[1], bias.count == x.shape[1] else {
            throw NeuralError.shapeMismatch("group norm: input \(x.shape), \(groups) groups, weight \(weight.shape)")
        }
        let shape = x.shape, batch = x.shape[0], channels = x.shape[1], spatial = x.count / (batch * channels)
        let perGroup = channels / groups
        // Statistics in two passes over the input, then one pass that reads it and writes the
        // normalised (and activated) output.
        func normalise(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>) {
            weight.storage.withUnsafeBufferPointer { w in
                bias.storage.withUnsafeBufferPointer { b in
                    nonisolated(unsafe) let input = input, output = output, w = w, b = b  // disjoint groups per task
                    Parallel.forRanges(batch * groups, minimumChunk: max(1, 8_192 / (perGroup * spatial))) { range in
                        for task in range {
                            let start = task * perGroup * spatial, count = perGroup * spatial
                            let mean = Statistics.sum(input + start, count: count) / Double(count)
                            let squares = Statistics.squaredDeviations(input + start, count: count, from: Float(mean))
                            let inverse = Float(1 / (squares / Double(count) + Double(epsilon)).squareRoot())
                            for c in 0..<perGroup {
                                let channel = (task % groups) * perGroup + c
                                let scale = w[channel] * inverse, shift = b[channel] - Float(mean) * scale
                                let offset = start + c * spatial
                                scaleShift(input + offset, into: output + offset, count: spatial, scale: scale, shift: shift, silu: silu)
                            }
                        }
                    }
                }
            }
        }
        var storage = (consume x).storage
        if inPlace {
            storage.withUnsafeMutableBufferPointer { normalise($0.baseAddress!, into: $0.baseAddress!) }
            return HostTensor(shape: shape, storage: storage)
        }
        let normed = [Float](unsafeUninitializedCapacity: storage.count) { out, initialized in
            storage.withUnsafeBufferPointer { normalise($0.baseAddress!, into: out.baseAddress!) }
            initialized = storage.count
        }
        return HostTensor(shape: shape, storage: normed)
    }

    /// output = input · scale + shift, then SiLU when asked, 16 values at a time (output may be input).
    @inline(__always)
    private static func scaleShift(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>, count: Int, scale: Float, shift: Float, silu: Bool) {
        let source = UnsafeRawPointer(input), target = UnsafeMutableRawPointer(output)
        let scales = SIMD16<Float>(repeating: scale), shifts = SIMD16<Float>(repeating: shift)
        var i = 0
        while i + 16 <= count {
            var v = source.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self) * scales + shifts
            if silu { v = v / (1 + exp16(-v)) }
            target.storeBytes(of: v, toByteOffset: i * 4, as: SIMD16<Float>.self)
            i += 16
        }
        for j in i..<count {
            let v = input[j] * scale + shift
            output[j] = silu ? v / (1 + expf(-v)) : v
        }
    }

    /// Softmax over the last dimension.
    static func softmax(_ x: HostTensor) -> HostTensor {
        guard let width = x.shape.last, width > 0 else { return x }
        var out = x
        out.storage.withUnsafeMutableBufferPointer { o in
            for row in 0..<(o.count / width) {
                let base = row * width
                var maximum = -Float.infinity
                for i in base..<(base + width) { maximum = max(maximum, o[i]) }
                var sum: Float = 0
                for i in base..<(base + width) { o[i] = expf(o[i] - maximum); sum += o[i] }
                for i in base..<(base + width) { o[i] /= sum }
            }
        }
        return out
    }

    /// Concatenation along `axis`; all other dimensions must agree.
    static func concat(_ parts: [HostTensor], axis: Int) throws -> HostTensor {
        guard let first = parts.first, axis >= 0, axis < first.shape.count else { throw NeuralError.shapeMismatch("concat of nothing") }
        for part in parts where part.shape.count != first.shape.count
            || zip(part.shape, first.shape).enumerated().contains(where: { $0.offset != axis && $0.element.0 != $0.element.1 }) {
            throw NeuralError.shapeMismatch("concat on axis \(axis): \(parts.map(\.shape))")
        }
        let outer = first.shape[..<axis].reduce(1, *), inner = first.shape[(axis + 1)...].reduce(1, *)
        var storage: [Float] = []
        storage.reserveCapacity(parts.reduce(0) { $0 + $1.count })
        for o in 0..<outer {
            for part in parts {
                let block = part.shape[axis] * inner
                storage.append(contentsOf: part.storage[(o * block)..<((o + 1) * block)])
            }
        }
        var shape = first.shape
        shape[axis] = parts.reduce(0) { $0 + $1.shape[axis] }
        return HostTensor(shape: shape, storage: storage)
    }
}

/// Resizing of [batch, channels, h, w] tensors with torch's `F.interpolate` rules (align_corners=False).
enum Interpolation {
    public enum Mode: String, Sendable, CaseIterable { case nearest, nearestExact = "nearest-exact", bilinear, bicubic }

    static func resize(_ x: HostTensor, height outH: Int, width outW: Int, mode: Mode) throws -> HostTensor {
        guard x.shape.count == 4, outH > 0, outW > 0 else { throw NeuralError.shapeMismatch("interpolate: input \(x.shape) to \(outH)x\(outW)") }
        let planes = x.shape[0] * x.shape[1], inH = x.shape[2], inW = x.shape[3]
        if mode == .nearest || mode == .nearestExact, inH > 0, inW > 0, outH % inH == 0, outW % inW == 0, outH / inH == outW / inW {
            // Whole-number enlargement: both nearest rules pick source pixel ⌊o / factor⌋.
            return repeated(x, factor: outH / inH)
        }
        let scaleY = Float(inH) / Float(outH), scaleX = Float(inW) / Float(outW)
        var out = [Float](repeating: 0, count: planes * outH * outW)
        x.storage.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for plane in 0..<planes {
                    let s = src.baseAddress! + plane * inH * inW, d = dst.baseAddress! + plane * outH * outW
                    func at(_ y: Int, _ x: Int) -> Float { s[min(max(y, 0), inH - 1) * inW + min(max(x, 0), inW - 1)] }
                    for oy in 0..<outH {
                        for ox in 0..<outW {
                            let value: Float
                            switch mode {
                            case .nearest:
                                value = at(min(Int((Float(oy) * scaleY).rounded(.down)), inH - 1), min(Int((Float(ox) * scaleX).rounded(.down)), inW - 1))
                            case .nearestExact:
                                value = at(min(Int(((Float(oy) + 0.5) * scaleY).rounded(.down)), inH - 1), min(Int(((Float(ox) + 0.5) * scaleX).rounded(.down)), inW - 1))
                            case .bilinear:
                                let sy = max((Float(oy) + 0.5) * scaleY - 0.5, 0), sx = max((Float(ox) + 0.5) * scaleX - 0.5, 0)
                                let y0 = Int(sy), x0 = Int(sx), fy = sy - Float(y0), fx = sx - Float(x0)
                                let y1 = min(y0 + 1, inH - 1), x1 = min(x0 + 1, inW - 1)
                                value = (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x1)) + fy * ((1 - fx) * at(y1, x0) + fx * at(y1, x1))
                            case .bicubic:
                                let sy = (Float(oy) + 0.5) * scaleY - 0.5, sx = (Float(ox) + 0.5) * scaleX - 0.5
                                let y0 = Int(sy.rounded(.down)), x0 = Int(sx.rounded(.down))
                                let wy = ResampleTaps.cubicWeights(sy - Float(y0)), wx = ResampleTaps.cubicWeights(sx - Float(x0))
                                var sum: Float = 0
                                for i in 0..<4 {
                                    var row: Float = 0
                                    for j in 0..<4 { row += wx[j] * at(y0 - 1 + i, x0 - 1 + j) }
                                    sum += wy[i] * row
                                }
                                value = sum
                            }
                            d[oy * outW + ox] = value
                        }
                    }
                }
            }
        }
        return HostTensor(shape: [x.shape[0], x.shape[1], outH, outW], storage: out)
    }

    /// Each pixel repeated factor × factor times (nearest enlargement by a whole number), planes in parallel.
    static func repeated(_ x: HostTensor, factor: Int) -> HostTensor {
        let planes = x.shape[0] * x.shape[1], inH = x.shape[2], inW = x.shape[3], outW = inW * factor
        let storage = [Float](unsafeUninitializedCapacity: x.count * factor * factor) { out, initialized in
            x.storage.withUnsafeBufferPointer { input in
                nonisolated(unsafe) let out = out, input = input
                Parallel.forRanges(planes * inH, minimumChunk: 64) { rows in
                    for row in rows {
                        let source = input.baseAddress! + row * inW, first = out.baseAddress! + row * factor * outW
                        for column in 0..<inW { (first + column * factor).initialize(repeating: source[column], count: factor) }
                        for copy in 1..<factor { (first + copy * outW).initialize(from: first, count: outW) }
                    }
                }
            }
            initialized = x.count * factor * factor
        }
        return HostTensor(shape: [x.shape[0], x.shape[1], inH * factor, outW], storage: storage)
    }
}

/// Sums for normalisation, 16 lanes at a time: each lane adds at most 1024 Float32 values before
/// its partial sum moves into a Double, so the error stays near Double's over any length.
enum Statistics {
    static let block = 16 * 1024

    static func sum(_ values: UnsafePointer<Float>, count: Int) -> Double {
        var total = 0.0
        var start = 0
        let raw = UnsafeRawPointer(values)
        while start < count {
            let end = min(count, start + block)
            var lanes = SIMD16<Float>()
            var i = start
            while i + 16 <= end { lanes += raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self); i += 16 }
            var partial = Double(lanes.sum())
            for j in i..<end { partial += Double(values[j]) }
            total += partial
            start = end
        }
        return total
    }

    static func squaredDeviations(_ values: UnsafePointer<Float>, count: Int, from mean: Float) -> Double {
        var total = 0.0
        var start = 0
        let raw = UnsafeRawPointer(values)
        let center = SIMD16<Float>(repeating: mean)
        while start < count {
            let end = min(count, start + block)
            var lanes = SIMD16<Float>()
            var i = start
            while i + 16 <= end {
                let d = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self) - center
                lanes += d * d
                i += 16
            }
            var partial = Double(lanes.sum())
            for j in i..<end { let d = Double(values[j]) - Double(mean); partial += d * d }
            total += partial
            start = end
        }
        return total
    }
}
