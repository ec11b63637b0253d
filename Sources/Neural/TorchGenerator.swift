import Foundation

/// The random stream of `torch.Generator("cpu").manual_seed(seed)`: MT19937 plus the exact
/// sampling rules torch uses for `torch.randn` on float32 CPU tensors, so a seed gives the same
/// initial noise as diffusers.
public struct TorchGenerator: Sendable {
    private var state = [UInt32](repeating: 0, count: 624)
    private var index = 624
    /// torch keeps the second Box–Muller value of its scalar (double) path for the next call.
    private var cachedNormal: Double?

    public init(seed: UInt64) {
        // torch seeds its mt19937 with the low 32 bits.
        state[0] = UInt32(truncatingIfNeeded: seed)
        for i in 1..<624 {
            state[i] = 1_812_433_253 &* (state[i - 1] ^ (state[i - 1] >> 30)) &+ UInt32(i)
        }
    }

    /// The next 32-bit output of MT19937.
    public mutating func nextUInt32() -> UInt32 {
        if index >= 624 { twist() }
        var y = state[index]
        index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }

    private mutating func twist() {
        for i in 0..<624 {
            let y = (state[i] & 0x8000_0000) | (state[(i + 1) % 624] & 0x7FFF_FFFF)
            var next = state[(i + 397) % 624] ^ (y >> 1)
            if y & 1 != 0 { next ^= 0x9908_B0DF }
            state[i] = next
        }
        index = 0
    }

    /// torch's 64-bit draw: two 32-bit outputs, the first as the high half.
    mutating func nextUInt64() -> UInt64 {
        let high = UInt64(nextUInt32()), low = UInt64(nextUInt32())
        return high << 32 | low
    }

    /// A float uniform in [0, 1) from the low 24 bits of one draw (torch's float path).
    mutating func uniformFloat() -> Float {
        Float(nextUInt32() & 0xFF_FFFF) * Float(sign: .plus, exponent: -24, significand: 1)
    }

    /// A double uniform in [0, 1) from the low 53 bits of a 64-bit draw.
    mutating func uniformDouble() -> Double {
        Double(nextUInt64() & ((1 << 53) - 1)) * Double(sign: .plus, exponent: -53, significand: 1)
    }

    /// One sample of torch's scalar normal distribution (double Box–Muller with a cached pair).
    mutating func normalDouble() -> Double {
        if let cached = cachedNormal {
            cachedNormal = nil
            return cached
        }
        let u1 = uniformDouble()
        let u2 = uniformDouble()
        let radius = (-2.0 * Foundation.log(1.0 - u2)).squareRoot()
        let theta = 2.0 * Double.pi * u1
        cachedNormal = radius * Foundation.sin(theta)
        return radius * Foundation.cos(theta)
    }

    /// `torch.randn(count)` for float32: fewer than 16 values use the scalar double path; otherwise
    /// all values are first filled with float uniforms, transformed in blocks of 16 by Box–Muller
    /// (the first 8 as radii, the last 8 as angles), and a tail that is not a multiple of 16 is
    /// redone as one block over the last 16 positions with fresh uniforms.
    public mutating func randn(count: Int) -> [Float] {
        guard count >= 16 else { return (0..<count).map { _ in Float(normalDouble()) } }
        var values = [Float](repeating: 0, count: count)
        for i in 0..<count { values[i] = uniformFloat() }
        var start = 0
        while start + 16 <= count {
            Self.boxMuller16(&values, at: start)
            start += 16
        }
        if count % 16 != 0 {
            let tail = count - 16
            for i in tail..<count { values[i] = uniformFloat() }
            Self.boxMuller16(&values, at: tail)
        }
        return values
    }

    public mutating func randn(shape: [Int]) -> HostTensor {
        HostTensor(shape: shape, storage: randn(count: shape.reduce(1, *)))
    }

    /// 2π rounded to the nearest float, as torch's AVX2 kernel has it (Swift's Float.pi rounds toward zero).
    static let twoPi = Float(2 * Double.pi)

    /// torch's normal_fill_16 as its AVX2 kernel computes it: float arithmetic throughout.
    static func boxMuller16(_ values: inout [Float], at start: Int) {
        for j in 0..<8 {
            let u1 = 1 - values[start + j]
            let u2 = values[start + j + 8]
            let radius = (-2 * logf(u1)).squareRoot()
            let theta = twoPi * u2
            values[start + j] = radius * cosf(theta)
            values[start + j + 8] = radius * sinf(theta)
        }
    }
}
