import Neural
import Foundation

/// Scaled dot-product attention, computed in blocks of query rows with a running (streaming)
/// softmax over blocks of keys, so memory stays O(block²) however long the sequence is.
enum Attention {
    /// q: [heads, queries, d], k and v: [heads, keys, d]. Returns [heads, queries, d].
    static func scaledDotProduct(query q: HostTensor, key k: HostTensor, value v: HostTensor, causal: Bool = false,
                                        blockSize: Int = 256) throws -> HostTensor {
        guard q.shape.count == 3, k.shape.count == 3, v.shape == k.shape, q.shape[0] == k.shape[0], q.shape[2] == k.shape[2] else {
            throw NeuralError.shapeMismatch("attention: q \(q.shape), k \(k.shape), v \(v.shape)")
        }
        let heads = q.shape[0], queries = q.shape[1], keys = k.shape[1], d = q.shape[2]
        let scale = 1 / Float(d).squareRoot()
        var out = HostTensor(zeros: q.shape)
        let queryBlocks = (queries + blockSize - 1) / blockSize
        q.storage.withUnsafeBufferPointer { qp in
            k.storage.withUnsafeBufferPointer { kp in
                v.storage.withUnsafeBufferPointer { vp in
                    out.storage.withUnsafeMutableBufferPointer { op in
                        // Heads × query blocks are independent. They are shared out on oneDNN's OpenMP
                        // team; each GEMM inside then runs on its own thread (OpenMP does not nest).
                        nonisolated(unsafe) let qp = qp, kp = kp, vp = vp, op = op  // disjoint writes per task
                        Parallel.forRanges(heads * queryBlocks, minimumChunk: 1) { tasks in
                            for task in tasks {
                                let head = task / queryBlocks, block = task % queryBlocks
                                let q0 = block * blockSize, rows = min(blockSize, queries - q0)
                                attendBlock(q: qp.baseAddress! + (head * queries + q0) * d, k: kp.baseAddress! + head * keys * d,
                                            v: vp.baseAddress! + head * keys * d, out: op.baseAddress! + (head * queries + q0) * d,
                                            rows: rows, firstQuery: q0, keys: keys, d: d, scale: scale, causal: causal, blockSize: blockSize)
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    static func attendBlock(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
                            rows: Int, firstQuery: Int, keys: Int, d: Int, scale: Float, causal: Bool, blockSize: Int) {
        var scores = [Float](repeating: 0, count: rows * blockSize)
        var runningMax = [Float](repeating: -.infinity, count: rows)
        var runningSum = [Float](repeating: 0, count: rows)
        var accumulator = [Float](repeating: 0, count: rows * d)
        let lastKey = causal ? min(keys, firstQuery + rows) : keys
        var k0 = 0
        while k0 < lastKey {
            let columns = min(blockSize, lastKey - k0)
            scores.withUnsafeMutableBufferPointer { s in
                LinearAlgebra.gemm(q, k + k0 * d, s.baseAddress!, m: rows, n: columns, k: d, transposeB: true, alpha: scale)
                for r in 0..<rows {
                    let row = s.baseAddress! + r * columns
                    if causal {
                        let allowed = firstQuery + r - k0  // keys up to the query's own position
                        if allowed + 1 < columns { for c in max(0, allowed + 1)..<columns { row[c] = -.infinity } }
                    }
                    let blockMax = Softmax.maximum(row, count: columns)
                    let newMax = max(runningMax[r], blockMax)
                    let correction = runningMax[r] == -.infinity ? 0 : expf(runningMax[r] - newMax)
                    let sum: Float
                    if newMax == -.infinity {
                        for c in 0..<columns { row[c] = 0 }
                        sum = 0
                    } else {
                        sum = Softmax.exponentiate(row, count: columns, shift: newMax)
                    }
                    runningSum[r] = runningSum[r] * correction + sum
                    runningMax[r] = newMax
                    if correction != 1 { for j in 0..<d { accumulator[r * d + j] *= correction } }
                }
                accumulator.withUnsafeMutableBufferPointer { a in
                    LinearAlgebra.gemm(s.baseAddress!, v + k0 * d, a.baseAddress!, m: rows, n: d, k: columns, beta: 1)
                }
            }
            k0 += columns
        }
        for r in 0..<rows {
            let inverse = runningSum[r] > 0 ? 1 / runningSum[r] : 0
            for j in 0..<d { out[r * d + j] = accumulator[r * d + j] * inverse }
        }
    }
}
