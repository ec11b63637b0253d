import Foundation
import Neural

/// Element-wise arithmetic the schedulers, guidance and tiling need, split over the cores.
extension Ops {
    /// Σ xᵢ·wᵢ + constant, term by term in Float32 (the order torch's expressions evaluate in).
    static func weightedSum(_ terms: [(HostTensor, Float)], constant: Float) throws -> HostTensor {
        guard let first = terms.first else { throw NeuralError.shapeMismatch("a weighted sum of nothing") }
        guard terms.allSatisfy({ $0.0.shape == first.0.shape }) else {
            throw NeuralError.shapeMismatch("weighted sum of \(terms.map(\.0.shape))")
        }
        var out = [Float](repeating: 0, count: first.0.count)
        out.withUnsafeMutableBufferPointer { o in
            nonisolated(unsafe) let o = o
            let sources = terms.map { $0.0.storage }, weights = terms.map(\.1)
            Parallel.forRanges(o.count) { range in
                for i in range {
                    var sum = sources[0][i] * weights[0]
                    for t in 1..<sources.count { sum += sources[t][i] * weights[t] }
                    o[i] = constant == 0 ? sum : sum + constant
                }
            }
        }
        return HostTensor(shape: first.0.shape, storage: out)
    }

    /// a · b, b broadcast over a where its axes are 1 (same rank).
    static func multiply(_ a: HostTensor, broadcasting b: HostTensor) throws -> HostTensor {
        guard a.shape.count == b.shape.count, zip(a.shape, b.shape).allSatisfy({ $1 == $0 || $1 == 1 }) else {
            throw NeuralError.shapeMismatch("multiply \(a.shape) by \(b.shape)")
        }
        if a.shape == b.shape {
            var out = a
            for i in 0..<out.count { out.storage[i] *= b.storage[i] }
            return out
        }
        // Runs along the innermost axes where b is either all broadcast (one value scales a run of
        // a) or all present (the runs multiply element by element); the outer axes are walked once
        // per run, not per element.
        let rank = a.shape.count
        var split = rank
        let broadcastInside = b.shape.last == 1
        func inRun(_ axis: Int) -> Bool { broadcastInside ? b.shape[axis] == 1 : b.shape[axis] == a.shape[axis] }
        while split > 0, inRun(split - 1) { split -= 1 }
        let run = a.shape[split...].reduce(1, *)
        var bStrides = [Int](repeating: 0, count: rank)
        var step = 1
        for axis in (0..<rank).reversed() {
            bStrides[axis] = b.shape[axis] == 1 ? 0 : step
            step *= b.shape[axis]
        }
        var out = a
        var index = [Int](repeating: 0, count: split)
        out.storage.withUnsafeMutableBufferPointer { o in
            b.storage.withUnsafeBufferPointer { bv in
                for first in stride(from: 0, to: o.count, by: max(run, 1)) {
                    var offset = 0
                    for axis in 0..<split { offset += index[axis] * bStrides[axis] }
                    if broadcastInside {
                        let scale = bv[offset]
                        for i in first..<(first + run) { o[i] *= scale }
                    } else {
                        for i in 0..<run { o[first + i] *= bv[offset + i] }
                    }
                    var axis = split - 1
                    while axis >= 0 {
                        index[axis] += 1
                        if index[axis] < a.shape[axis] { break }
                        index[axis] = 0
                        axis -= 1
                    }
                }
            }
        }
        return out
    }

    /// x where positive, else slopes[c]·x, channel planes in parallel.
    static func preLU(_ x: HostTensor, slopes: [Float]) -> HostTensor {
        var out = x
        let channels = x.shape[1], plane = x.count / max(x.shape[0] * channels, 1)
        out.storage.withUnsafeMutableBufferPointer { o in
            nonisolated(unsafe) let o = o  // disjoint planes per task
            Parallel.forRanges(x.shape[0] * channels, minimumChunk: max(1, 16_384 / max(plane, 1))) { planes in
                for p in planes {
                    let slope = slopes[p % channels]
                    for i in (p * plane)..<((p + 1) * plane) { o[i] = o[i] > 0 ? o[i] : o[i] * slope }
                }
            }
        }
        return out
    }

    /// Each value clamped to [minimum, maximum].
    static func clamp(_ x: HostTensor, min minimum: Float, max maximum: Float) -> HostTensor {
        var out = x
        out.storage.withUnsafeMutableBufferPointer { o in
            for i in o.indices { o[i] = Swift.min(Swift.max(o[i], minimum), maximum) }
        }
        return out
    }

    static func map(_ x: HostTensor, _ transform: (Float) -> Float) -> HostTensor {
        HostTensor(shape: x.shape, storage: x.storage.map(transform))
    }
}
