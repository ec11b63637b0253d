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
        // Strides of b in a's index space (0 where b is broadcast).
        let rank = a.shape.count
        var bStrides = [Int](repeating: 0, count: rank)
        var stride = 1
        for axis in (0..<rank).reversed() {
            bStrides[axis] = b.shape[axis] == 1 ? 0 : stride
            stride *= b.shape[axis]
        }
        var out = a
        var index = [Int](repeating: 0, count: rank)
        for i in 0..<out.count {
            var offset = 0
            for axis in 0..<rank { offset += index[axis] * bStrides[axis] }
            out.storage[i] *= b.storage[offset]
            var axis = rank - 1
            while axis >= 0 {
                index[axis] += 1
                if index[axis] < a.shape[axis] { break }
                index[axis] = 0
                axis -= 1
            }
        }
        return out
    }

    static func map(_ x: HostTensor, _ transform: (Float) -> Float) -> HostTensor {
        HostTensor(shape: x.shape, storage: x.storage.map(transform))
    }
}
