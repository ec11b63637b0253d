import Neural

/// Token rows [tokens, heads·d] ⇄ one matrix per head [heads, tokens, d], as attention runs.
enum Heads {
    static func split(_ x: HostTensor, heads: Int) -> HostTensor {
        let tokens = x.shape[0], width = x.shape[1], d = width / heads
        var out = [Float](repeating: 0, count: x.count)
        x.storage.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { out in
                for t in 0..<tokens { for h in 0..<heads { for j in 0..<d { out[(h * tokens + t) * d + j] = source[t * width + h * d + j] } } }
            }
        }
        return HostTensor(shape: [heads, tokens, d], storage: out)
    }

    static func merge(_ x: HostTensor) -> HostTensor {
        let heads = x.shape[0], tokens = x.shape[1], d = x.shape[2]
        var out = [Float](repeating: 0, count: x.count)
        x.storage.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { out in
                for h in 0..<heads { for t in 0..<tokens { for j in 0..<d { out[t * heads * d + h * d + j] = source[(h * tokens + t) * d + j] } } }
            }
        }
        return HostTensor(shape: [tokens, heads * d], storage: out)
    }
}
