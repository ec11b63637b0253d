import CDNNL
import Foundation
@testable import CPUBackend
import Neural
import TestSupport
import Testing

/// Weights kept in 16 bits (half_weights.c): exact values only, widened back to the same floats,
/// so layers give the Float32 results bit for bit with half the memory.
@Suite struct HalfWeightsTests {
    /// Every fp16 bit pattern widens to the value Swift's own Float16 gives, and narrows back to
    /// the same bits (NaNs aside: no weight holds one, and they are refused).
    @Test func everyHalfPatternWidensAndNarrowsExactly() throws {
        let patterns = (0...0xFFFF).map(UInt16.init).filter { !Float16(bitPattern: $0).isNaN }
        var widened = [Float](repeating: 0, count: patterns.count)
        patterns.withUnsafeBufferPointer { src in widened.withUnsafeMutableBufferPointer { sw_half_widen(src.baseAddress, Int64(patterns.count), Int32(SW_HALF_F16), $0.baseAddress) } }
        let wrong = zip(patterns, widened).filter { Float(Float16(bitPattern: $0)).bitPattern != $1.bitPattern }.map { String($0.0, radix: 16) }
        #expect(wrong.isEmpty, "\(wrong.count) patterns, such as \(wrong.prefix(5))")
        let narrowed = try #require(HalfWeights.narrowed(widened))
        #expect(narrowed.kind == Int32(SW_HALF_F16) && narrowed.bits == patterns)
    }

    /// bf16 is the top half of a float: every pattern widens by a shift and narrows back.
    @Test func everyBFloat16PatternWidensAndNarrowsExactly() throws {
        let patterns = (0...0xFFFF).map(UInt16.init).filter { !Float(bitPattern: UInt32($0) << 16).isNaN }
        var widened = [Float](repeating: 0, count: patterns.count)
        patterns.withUnsafeBufferPointer { src in widened.withUnsafeMutableBufferPointer { sw_half_widen(src.baseAddress, Int64(patterns.count), Int32(SW_HALF_BF16), $0.baseAddress) } }
        #expect(zip(patterns, widened).allSatisfy { Float(bitPattern: UInt32($0) << 16).bitPattern == $1.bitPattern })
        // Values beyond fp16's range are bf16 only.
        let narrowed = try #require(HalfWeights.narrowed(widened))
        #expect(narrowed.kind == Int32(SW_HALF_BF16) && narrowed.bits == patterns)
    }

    /// One value with more precision than 16 bits keeps the whole weight in Float32.
    @Test func inexactValuesAreNeverRounded() {
        #expect(HalfWeights.narrowed([1, 0.5, 1 + 0x1p-10]).map(\.kind) == Int32(SW_HALF_F16))
        #expect(HalfWeights.narrowed([1, 0x1p-30, 1 + 0x1p-7]).map(\.kind) == Int32(SW_HALF_BF16))  // 2^-30: below fp16's range
        #expect(HalfWeights.narrowed([1, 0.5, 1 + 0x1p-11]) == nil)
        #expect(HalfWeights.narrowed([Float](repeating: 0.25, count: 1_000_000) + [1 + 0x1p-20]) == nil)  // the last of many chunks
        #expect(HalfWeights.narrowed([0x1p-149]) == nil)  // a Float32 subnormal
    }

    /// Weights as an fp16 checkpoint holds them: random values rounded to fp16.
    static func halfValues(_ count: Int, seed: UInt64) -> [Float] {
        var generator = TorchGenerator(seed: seed)
        return generator.randn(count: count).map { Float(Float16($0 * 0.05)) }
    }

    /// Linear layers (plain, with and without bias, and fused with GEGLU) with 16-bit weights
    /// give the Float32 layer's results bit for bit, and hold their weights in 16 bits.
    @Test func linearLayersGiveTheFloat32ResultsExactly() throws {
        let full = CPUBackend.shared, half = CPUBackend(keepingHalfWeights: true)
        let (rows, inputs, outputs) = (77, 96, 130)
        let x = full.tensor(HostTensor(shape: [rows, inputs], storage: Self.halfValues(rows * inputs, seed: 1).map { $0 * 20 }))
        let weight = HostTensor(shape: [outputs, inputs], storage: Self.halfValues(outputs * inputs, seed: 2))
        let bias = HostTensor(shape: [outputs], storage: Self.halfValues(outputs, seed: 3).map { $0 + 1e-4 })  // biases stay Float32
        for b in [bias, nil] {
            let plain = try full.prepareLinear(weight: weight, bias: b), kept = try half.prepareLinear(weight: weight, bias: b)
            guard case .half(_, let kind)? = (kept as? CPULinear)?.values else { Issue.record("not kept in 16 bits"); continue }
            #expect(kind == Int32(SW_HALF_F16))
            let sameLinear = try full.linear(x, plain).host().storage == half.linear(x, kept).host().storage
            let sameGEGLU = try full.linearGEGLU(x, plain).host().storage == half.linearGEGLU(x, kept).host().storage
            #expect(sameLinear && sameGEGLU, "bias: \(b != nil)")
        }
        // Weights with more precision stay Float32, with the same results.
        let precise = HostTensor(shape: [outputs, inputs], storage: weight.storage.map { $0 + 1e-7 })
        let kept = try half.prepareLinear(weight: precise, bias: nil)
        guard case .floats? = (kept as? CPULinear)?.values else { Issue.record("inexact weights were narrowed"); return }
        let same = try full.linear(x, try full.prepareLinear(weight: precise, bias: nil)).host().storage == half.linear(x, kept).host().storage
        #expect(same)
    }

    /// Convolutions with 16-bit weights give the Float32 results bit for bit at the size they were
    /// prepared for, at a size that moves them into another layout (8×8), on the Winograd path
    /// (large images) and with a residual; bf16-exact weights are kept as bf16.
    @Test func convolutionsGiveTheFloat32ResultsExactly() throws {
        let full = CPUBackend.shared, half = CPUBackend(keepingHalfWeights: true)
        for (channels, outputs, kernel, stride, scale) in [(64, 64, 3, 1, Float(1)), (32, 48, 1, 1, 1), (16, 16, 3, 2, 1), (64, 32, 3, 1, 1e6), (4, 32, 3, 1, 1)] {
            // × 1e6: beyond fp16's range, so the weights are kept as bf16.
            let values = Self.halfValues(outputs * channels * kernel * kernel, seed: 4).map { scale == 1 ? $0 : Float(bitPattern: ($0 * scale).bitPattern & 0xFFFF_0000) }
            let weight = HostTensor(shape: [outputs, channels, kernel, kernel], storage: values)
            let bias = HostTensor(shape: [outputs], storage: Self.halfValues(outputs, seed: 5))
            let padding = kernel / 2
            let plain = try full.prepareConvolution(weight: weight, bias: bias, stride: stride, padding: padding, paddingEnd: padding)
            let kept = try half.prepareConvolution(weight: weight, bias: bias, stride: stride, padding: padding, paddingEnd: padding)
            let kind = sw_weights_half_kind(try #require(kept as? CPUConvolution).weights)
            #expect(kind == Int32(scale == 1 ? SW_HALF_F16 : SW_HALF_BF16), "\(channels)→\(outputs) k\(kernel)")
            for side in [8, 32, 136] {
                let x = full.tensor(HostTensor(shape: [1, channels, side, side], storage: Self.halfValues(channels * side * side, seed: UInt64(side))))
                let a = try full.conv2d(x, plain).host(), same = try a.storage == half.conv2d(x, kept).host().storage
                #expect(same, "\(channels)→\(outputs) k\(kernel) s\(stride) at \(side)²")
                if stride == 1 {
                    let residual = full.tensor(HostTensor(shape: a.shape, storage: Self.halfValues(a.count, seed: 9)))
                    let sameWithResidual = try full.conv2d(x, plain, adding: residual).host().storage == half.conv2d(x, kept, adding: residual).host().storage
                    #expect(sameWithResidual, "with a residual, \(channels)→\(outputs) k\(kernel) at \(side)²")
                }
            }
        }
    }
}
