import Neural
import Foundation

/// Activations, normalisation and element-wise arithmetic.
enum Ops {
    static func add(_ a: HostTensor, _ b: HostTensor) throws -> HostTensor {
        guard a.shape == b.shape else { throw NeuralError.shapeMismatch("add: \(a.shape) + \(b.shape)") }
        var out = a
        out.storage.withUnsafeMutableBufferPointer { o in
            b.storage.withUnsafeBufferPointer { y in
                nonisolated(unsafe) let o = o, y = y
                Parallel.forRanges(o.count) { range in for i in range { o[i] += y[i] } }
            }
        }
        return out
    }

    /// Applies an activation in place, split over cores for large tensors. Each activation is its
    /// own specialised loop (a closure per element would not be inlined and costs 4× more).
    private static func activate(_ x: HostTensor, _ kind: Activation) -> HostTensor {
        var out = x
        out.storage.withUnsafeMutableBufferPointer { o in
            nonisolated(unsafe) let o = o
            Parallel.forRanges(o.count, minimumChunk: 4_096) { range in
                switch kind {
                case .quickGELU: for i in range { let v = o[i]; o[i] = v / (1 + expf(-1.702 * v)) }
                case .gelu:
                    var i = range.lowerBound
                    let raw = UnsafeMutableRawPointer(o.baseAddress!)
                    while i + 16 <= range.upperBound {
                        let v = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
                        raw.storeBytes(of: 0.5 * v * (1 + erf16(v * 0.707_106_77)), toByteOffset: i * 4, as: SIMD16<Float>.self)
                        i += 16
                    }
                    for j in i..<range.upperBound { let v = o[j]; o[j] = 0.5 * v * (1 + erff(v * 0.707_106_77)) }
                case .silu: siluInPlace(o.baseAddress! + range.lowerBound, count: range.count)
                }
            }
        }
        return out
    }

    private enum Activation: Sendable { case quickGELU, gelu, silu }

    /// x · sigmoid(x) over `count` values, 16 at a time with the vectorised exp.
    @inline(__always)
    static func siluInPlace(_ values: UnsafeMutablePointer<Float>, count: Int) {
        let raw = UnsafeMutableRawPointer(values)
        var i = 0
        while i + 16 <= count {
            let v = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
            raw.storeBytes(of: v / (1 + exp16(-v)), toByteOffset: i * 4, as: SIMD16<Float>.self)
            i += 16
        }
        for j in i..<count { let v = values[j]; values[j] = v / (1 + expf(-v)) }
    }

    /// x · sigmoid(1.702 x), CLIP ViT-L's activation.
    static func quickGELU(_ x: HostTensor) -> HostTensor { activate(x, .quickGELU) }

    /// The exact GELU, 0.5 x (1 + erf(x / √2)), as torch computes it by default.
    static func gelu(_ x: HostTensor) -> HostTensor { activate(x, .gelu) }

    static func silu(_ x: HostTensor) -> HostTensor { activate(x, .silu) }

    /// Layer normalisation over the last dimension (population variance, as torch).
    static func layerNorm(_ x: HostTensor, weight: HostTensor, bias: HostTensor, epsilon: Float = 1e-5) throws -> HostTensor {
        guard let width = x.shape.last, weight.count == width, bias.count == width else {
            throw NeuralError.shapeMismatch("layer norm: input \(x.shape), weight \(weight.shape), bias \(bias.shape)")
        }
        var out = x
        let rows = x.count / width
        out.storage.withUnsafeMutableBufferPointer { o in
            weight.storage.withUnsafeBufferPointer { w in
                bias.storage.withUnsafeBufferPointer { b in
                    nonisolated(unsafe) let o = o, w = w, b = b
                    Parallel.forRanges(rows, minimumChunk: max(1, 8_192 / width)) { range in
                        for row in range {
                            let base = row * width
                            var mean = 0.0, squares = 0.0
                            for i in 0..<width { mean += Double(o[base + i]) }
                            mean /= Double(width)
                            for i in 0..<width { let d = Double(o[base + i]) - mean; squares += d * d }
                            let inverse = 1 / (squares / Double(width) + Double(epsilon)).squareRoot()
                            for i in 0..<width {
                                o[base + i] = Float((Double(o[base + i]) - mean) * inverse) * w[i] + b[i]
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// Rows of `table` for each id: [ids.count × width].
    /// `embedding` over a table held as fp16 bits [rows, width]: only the chosen rows are widened.
    static func embedding(_ ids: [Int], halfTable: [UInt16], rows: Int, width: Int) throws -> HostTensor {
        var out = [Float](repeating: 0, count: ids.count * width)
        for (row, id) in ids.enumerated() {
            guard id >= 0, id < rows else { throw NeuralError.shapeMismatch("token id \(id) outside the table of \(rows)") }
            for j in 0..<width { out[row * width + j] = HalfFloat.toFloat(halfTable[id * width + j]) }
        }
        return HostTensor(shape: [ids.count, width], storage: out)
    }
}
