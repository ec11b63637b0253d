import Foundation
import Neural

extension Attention {
    /// Attention over sequences packed into one [tokens, heads·d] matrix, each run of `lengths`
    /// rows attending only to itself. Texts are short (keywords: a few tokens), so this runs
    /// directly, one small dot-product loop per head, rather than through the blocked parallel
    /// kernel built for 4096-token images.
    static func packed(query q: HostTensor, key k: HostTensor, value v: HostTensor, heads: Int, lengths: [Int]) throws -> HostTensor {
        guard q.shape.count == 2, q.shape == k.shape, k.shape == v.shape, heads >= 1, q.shape[1] % heads == 0,
              lengths.allSatisfy({ $0 > 0 }), lengths.reduce(0, +) == q.shape[0] else {
            throw NeuralError.shapeMismatch("packed attention: q \(q.shape), k \(k.shape), v \(v.shape), \(heads) heads, lengths \(lengths.count)")
        }
        let h = q.shape[1], d = h / heads
        let scale = 1 / Float(d).squareRoot()
        var context = HostTensor(zeros: q.shape)
        q.storage.withUnsafeBufferPointer { qp in
            k.storage.withUnsafeBufferPointer { kp in
                v.storage.withUnsafeBufferPointer { vp in
                    context.storage.withUnsafeMutableBufferPointer { cp in
                        var start = 0
                        for length in lengths {
                            var scores = [Float](repeating: 0, count: length * length)
                            for head in 0..<heads {
                                let offset = start * h + head * d
                                scores.withUnsafeMutableBufferPointer { sp in
                                    // Rows are h apart: each head's slice is a strided matrix.
                                    for r in 0..<length {
                                        for c in 0..<length {
                                            var dot: Float = 0
                                            for e in 0..<d { dot += qp[offset + r * h + e] * kp[offset + c * h + e] }
                                            sp[r * length + c] = dot * scale
                                        }
                                        let row = sp.baseAddress! + r * length
                                        var maximum = -Float.infinity
                                        for c in 0..<length { maximum = max(maximum, row[c]) }
                                        var sum: Float = 0
                                        for c in 0..<length { row[c] = expf(row[c] - maximum); sum += row[c] }
                                        for c in 0..<length { row[c] /= sum }
                                        for e in 0..<d {
                                            var value: Float = 0
                                            for c in 0..<length { value += row[c] * vp[offset + c * h + e] }
                                            cp[offset + r * h + e] = value
                                        }
                                    }
                                }
                            }
                            start += length
                        }
                    }
                }
            }
        }
        return context
    }
}
