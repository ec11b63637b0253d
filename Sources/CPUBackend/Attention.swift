import CDNNL
import Neural

/// Scaled dot-product attention, computed in blocks of query rows with a running (streaming)
/// softmax over blocks of keys, so memory stays O(block²) however long the sequence is. The
/// kernel is C (`Sources/CDNNL/attention.c`): its softmax is compiled for AVX-512 where the CPU
/// has it, which Swift code built for baseline x86-64 cannot be.
enum Attention {
    /// q: [queries, heads·d], k and v: [keys, heads·d], each token's heads side by side (as the
    /// projections make them). Returns [queries, heads·d].
    static func scaledDotProduct(query q: HostTensor, key k: HostTensor, value v: HostTensor, heads: Int, causal: Bool = false,
                                 blockSize: Int = 256) throws -> HostTensor {
        guard heads >= 1, q.shape.count == 2, k.shape.count == 2, v.shape == k.shape, q.shape[1] == k.shape[1], q.shape[1] % heads == 0,
              q.count > 0, k.count > 0, blockSize > 0 else {
            throw NeuralError.shapeMismatch("attention: q \(q.shape), k \(k.shape), v \(v.shape), \(heads) heads")
        }
        let queries = q.shape[0], keys = k.shape[0], d = q.shape[1] / heads
        var status: Int32 = 0
        // Every element is written by the kernel, so skip zero-filling.
        let storage = [Float](unsafeUninitializedCapacity: q.count) { out, initialized in
            q.storage.withUnsafeBufferPointer { qp in
                k.storage.withUnsafeBufferPointer { kp in
                    v.storage.withUnsafeBufferPointer { vp in
                        status = sw_attention(qp.baseAddress!, kp.baseAddress!, vp.baseAddress!, out.baseAddress!, Int64(heads),
                                              Int64(queries), Int64(keys), Int64(d), 1 / Float(d).squareRoot(), causal ? 1 : 0,
                                              Int64(blockSize))
                    }
                }
            }
            initialized = status == 0 ? q.count : 0
        }
        guard status == 0 else { throw NeuralError.shapeMismatch("attention: no memory for the scratch blocks of q \(q.shape)") }
        return HostTensor(shape: q.shape, storage: storage)
    }
}
