import Foundation
@testable import CPUBackend
import Neural
import TestSupport
import Testing

/// The CPU backend's ops as models reach them (the Backend protocol), against torch's fixtures
/// and against plain arithmetic.
@Suite struct BackendTests {
    let cpu: any Backend = CPUBackend.shared
    let file: SafeTensorsFile
    init() throws { file = try SafeTensorsFile(path: opsFixture) }

    func close(_ a: Tensor, _ b: HostTensor, _ tolerance: Float = 1e-5) throws -> Bool { worst(try a.host(), b) <= tolerance }

    /// Weights prepared once in oneDNN's blocked layout give torch's results, for the shape they
    /// were prepared at and for others (another size, a batch of two, a stride).
    @Test func preparedConvolutionsMatchTorch() throws {
        let image = try file.tensor("image")
        let weight = try file.tensor("conv_weight"), bias = try file.tensor("conv_bias")
        let same = try cpu.prepareConvolution(weight: weight, bias: bias, stride: 1, padding: 1, paddingEnd: 1)
        #expect(try close(try cpu.conv2d(cpu.tensor(image), same), try file.tensor("conv_same")))
        let strided = try cpu.prepareConvolution(weight: weight, bias: bias, stride: 2, padding: 1, paddingEnd: 1)
        #expect(try close(try cpu.conv2d(cpu.tensor(image), strided), try file.tensor("conv_stride2")))
        // One image of the fixture's two, alone: the prepared weights serve another batch size.
        let one = try cpu.conv2d(cpu.tensor(image.item(1, keepingAxis: true)), same).host()
        #expect(worst(one, try file.tensor("conv_same").item(1, keepingAxis: true)) <= 1e-5)
        // The same prepared weights on other sizes agree with the plain-weights path.
        for (height, width) in [(1, 1), (3, 17), (40, 9)] {
            var generator = TorchGenerator(seed: UInt64(height * width))
            let x = generator.randn(shape: [1, image.shape[1], height, width])
            let plain = try Convolution.conv2d(x, weight: weight, bias: bias, padding: 1)
            #expect(worst(try cpu.conv2d(cpu.tensor(x), same).host(), plain) <= 1e-5, "\(height)x\(width)")
        }
        // A wrong input width is an error, not a trap.
        #expect(throws: NeuralError.self) { try cpu.conv2d(cpu.tensor(HostTensor(zeros: [1, 3, 4, 4])), same) }
        #expect(throws: NeuralError.self) { try cpu.prepareConvolution(weight: HostTensor(zeros: [4, 3]), bias: nil, stride: 1, padding: 0, paddingEnd: 0) }
    }

    @Test func elementwiseArithmeticIsExactFloat32() throws {
        let a = HostTensor(shape: [2, 3], storage: [1, 2, 3, 4, 5, 6]), b = HostTensor(shape: [2, 3], storage: [0.5, -1, 2, 0, 1e-3, -6])
        let sum = try cpu.weightedSum([(cpu.tensor(a), 0.25), (cpu.tensor(b), -3)], constant: 1).host()
        #expect(sum.storage == zip(a.storage, b.storage).map { $0 * 0.25 + $1 * -3 + 1 })
        let scale = HostTensor(shape: [2, 1], storage: [10, -1])
        #expect(try cpu.multiply(cpu.tensor(a), cpu.tensor(scale)).host().storage == [10, 20, 30, -4, -5, -6])
        #expect(try cpu.clamp(cpu.tensor(b), min: 0, max: 1).host().storage == [0.5, 0, 1, 0, 1e-3, 0])
        #expect(try cpu.exp(cpu.tensor(b)).host().storage == b.storage.map { expf($0) })
        #expect(cpu.allFinite(cpu.tensor(a)) && !cpu.allFinite(cpu.tensor(HostTensor(shape: [2], storage: [1, .nan]))))
        #expect(throws: NeuralError.self) { try cpu.weightedSum([(cpu.tensor(a), 1), (cpu.tensor(scale), 1)], constant: 0) }
        #expect(throws: NeuralError.self) { try cpu.multiply(cpu.tensor(scale), cpu.tensor(a)) }
    }

    /// Broadcast products by runs of the inner axes, against an element-by-element reference, for
    /// every pattern of broadcast axes of a rank-4 shape.
    @Test func broadcastProductsMatchElementByElement() throws {
        let shape = [2, 3, 4, 5]
        let a = HostTensor(shape: shape, storage: (0..<120).map { Float($0) * 0.5 - 7 })
        for pattern in 0..<16 {
            let bShape = (0..<4).map { pattern & (1 << $0) != 0 ? 1 : shape[$0] }
            let b = HostTensor(shape: bShape, storage: (0..<bShape.reduce(1, *)).map { Float($0 % 7) - 2.5 })
            var expected = a.storage
            for i in 0..<120 {
                let index = [i / 60, (i / 20) % 3, (i / 5) % 4, i % 5]
                var offset = 0
                for axis in 0..<4 { offset = offset * bShape[axis] + (bShape[axis] == 1 ? 0 : index[axis]) }
                expected[i] *= b.storage[offset]
            }
            #expect(try cpu.multiply(cpu.tensor(a), cpu.tensor(b)).host().storage == expected, "b \(bShape)")
        }
    }

    /// torch.nn.functional.pixel_shuffle's definition, index by index, for two images and factor 3.
    @Test func pixelShuffleFollowsTorchsDefinition() throws {
        let (n, c, f, h, w) = (2, 2, 3, 4, 5)
        let x = HostTensor(shape: [n, c * f * f, h, w], storage: (0..<(n * c * f * f * h * w)).map { Float($0) })
        let shuffled = try cpu.pixelShuffle(cpu.tensor(x), factor: f).host()
        #expect(shuffled.shape == [n, c, h * f, w * f])
        var expected = [Float](repeating: 0, count: x.count)
        for b in 0..<n { for ch in 0..<c { for y in 0..<(h * f) { for xx in 0..<(w * f) {
            let source = (((b * c * f * f) + ch * f * f + (y % f) * f + xx % f) * h + y / f) * w + xx / f
            expected[((b * c + ch) * h * f + y) * w * f + xx] = x.storage[source]
        } } } }
        #expect(shuffled.storage == expected)
        #expect(throws: NeuralError.self) { try cpu.pixelShuffle(cpu.tensor(x), factor: 4) }
    }

    @Test func shapesAreCopiedRight() throws {
        let x = HostTensor(shape: [1, 2, 2, 3], storage: (0..<12).map(Float.init))
        let slice = try cpu.slice(cpu.tensor(x), axis: 3, range: 1..<3).host()
        #expect(slice.shape == [1, 2, 2, 2] && slice.storage == [1, 2, 4, 5, 7, 8, 10, 11])
        let padded = try cpu.pad(cpu.tensor(x), top: 1, left: 0, bottom: 0, right: 1).host()
        #expect(padded.shape == [1, 2, 3, 4] && Array(padded.storage[0..<8]) == [0, 0, 0, 0, 0, 1, 2, 0])
        let matrix = HostTensor(shape: [2, 3], storage: [1, 2, 3, 4, 5, 6])
        #expect(try cpu.transpose(cpu.tensor(matrix)).host() == HostTensor(shape: [3, 2], storage: [1, 4, 2, 5, 3, 6]))
        #expect(try cpu.tensor(x).reshaped([3, 4]).host().storage == x.storage)
        #expect(throws: NeuralError.self) { try cpu.slice(cpu.tensor(x), axis: 3, range: 2..<4) }
        #expect(throws: NeuralError.self) { try cpu.tensor(x).reshaped([5]) }
    }

    /// Packed attention equals attention run on each text alone.
    @Test func packedAttentionIsAttentionPerText() throws {
        var generator = TorchGenerator(seed: 3)
        let lengths = [3, 1, 5], heads = 2, width = 8
        let q = generator.randn(shape: [9, width]), k = generator.randn(shape: [9, width]), v = generator.randn(shape: [9, width])
        let packed = try cpu.packedAttention(query: cpu.tensor(q), key: cpu.tensor(k), value: cpu.tensor(v), heads: heads, lengths: lengths).host()
        var start = 0
        for length in lengths {
            func rows(_ t: HostTensor) -> Tensor { cpu.tensor(HostTensor(shape: [length, width], storage: Array(t.storage[(start * width)..<((start + length) * width)]))) }
            let alone = try cpu.attention(query: rows(q), key: rows(k), value: rows(v), heads: heads, causal: false).host()
            let part = Array(packed.storage[(start * width)..<((start + length) * width)])
            #expect(zip(part, alone.storage).allSatisfy { abs($0 - $1) <= 1e-6 })
            start += length
        }
        #expect(throws: NeuralError.self) { try cpu.packedAttention(query: cpu.tensor(q), key: cpu.tensor(k), value: cpu.tensor(v), heads: heads, lengths: [4, 4]) }
    }

    /// 16-bit tensors keep their values to their precision (bf16: 8 bits of mantissa, rounded to nearest even).
    @Test func castsRoundToSixteenBits() throws {
        let values: [Float] = [1, -2.5, 3.140625, 1.00390625, 65504, 1e-3]
        let x = cpu.tensor(HostTensor(shape: [values.count], storage: values))
        let bf16 = try cpu.cast(x, to: .bf16)
        #expect(bf16.dtype == .bf16)
        #expect(try bf16.host().storage == [1, -2.5, 3.140625, 1, 65536, 0.00099945068359375])
        let f16 = try cpu.cast(x, to: .f16)
        #expect(try f16.host().storage == [1, -2.5, 3.140625, 1.00390625, 65504, 0.0010004044])
        #expect(try cpu.cast(bf16, to: .f32).dtype == .f32)
    }

    /// bf16 linear layers and convolutions compute Σ bf16(x)·bf16(w) in Float32: checked against
    /// that sum in Double over the rounded values, and near the Float32 result (bf16 keeps 8 bits).
    @Test(.enabled(if: CPUBackend.hasBF16MatrixProduct, "this CPU has no bf16 matrix product"))
    func bf16OpsRoundTheirInputsAndAccumulateInFloat32() throws {
        let bf16 = CPUBackend(precision: .bf16)
        var generator = TorchGenerator(seed: 5)
        let x = generator.randn(shape: [37, 96]), w = generator.randn(shape: [70, 96]), b = generator.randn(shape: [70])
        func rounded(_ v: Float) -> Double { Double(Float(bitPattern: UInt32(BFloat16.bits(v)) << 16)) }
        let layer = try Linear(backend: bf16, weight: w, bias: b)
        let y = try layer(bf16.tensor(x)).host()
        #expect(y.shape == [37, 70])
        var worstRounded = 0.0, worstExact: Float = 0
        let exact = try Linear(backend: cpu, weight: w, bias: b)(cpu.tensor(x)).host()
        for r in 0..<37 {
            for o in 0..<70 {
                var sum = Double(b.storage[o])
                for i in 0..<96 { sum += rounded(x.storage[r * 96 + i]) * rounded(w.storage[o * 96 + i]) }
                worstRounded = max(worstRounded, abs(Double(y.storage[r * 70 + o]) - sum))
                worstExact = max(worstExact, abs(y.storage[r * 70 + o] - exact.storage[r * 70 + o]))
            }
        }
        #expect(worstRounded <= 1e-4, "against the rounded sum: \(worstRounded)")
        #expect(worstExact > 0 && worstExact <= 0.25, "against Float32: \(worstExact)")
        // Convolutions: near torch's Float32 result, by about bf16's rounding of the inputs.
        let image = try file.tensor("image")
        let conv = try bf16.prepareConvolution(weight: try file.tensor("conv_weight"), bias: try file.tensor("conv_bias"), stride: 1, padding: 1, paddingEnd: 1)
        let difference = worst(try bf16.conv2d(bf16.tensor(image), conv).host(), try file.tensor("conv_same"))
        #expect(difference > 0 && difference <= 0.1, "\(difference)")
        #expect(bf16.precision == .bf16 && cpu.precision == .fp32)
    }

    /// An embedding table whose values all fit fp16 exactly is kept in 16 bits and gives the same
    /// rows; one value that does not fit keeps the table in Float32; bad ids are errors either way.
    @Test func embeddingTablesStayIn16BitsOnlyWhenExact() throws {
        let rows = 1_500, width = 768  // over one conversion chunk (2^20 values)
        let exact = (0..<(rows * width)).map { HalfFloat.toFloat(UInt16(truncatingIfNeeded: $0 * 7919) & 0x7BFF) }
        var inexact = exact
        inexact[rows * width - 3] = 1 + 1 / 4096  // needs 12 mantissa bits; fp16 has 10
        let ids = [0, 1_499, 42, 42]
        for (values, dtype) in [(exact, DType.f16), (inexact, .f32)] {
            let table = cpu.embeddingTable(HostTensor(shape: [rows, width], storage: values))
            #expect(table.dtype == dtype)
            let picked = try cpu.embedding(ids, table: table).host()
            #expect(picked.shape == [ids.count, width])
            #expect(picked.storage == ids.flatMap { values[($0 * width)..<(($0 + 1) * width)] })
            #expect(throws: NeuralError.self) { try cpu.embedding([rows], table: table) }
        }
    }

    /// A tensor handed over to the group norm (`consume`, no other holder) is normalised in its own
    /// memory; one that someone else still holds is left as it was, and both give the same values.
    @Test func groupNormWorksInPlaceOnlyOnATensorNobodyElseHolds() throws {
        let image = try file.tensor("image"), scale = cpu.tensor(try file.tensor("gn_weight")), shift = cpu.tensor(try file.tensor("gn_bias"))
        func address(_ t: Tensor) throws -> UnsafeRawPointer? {
            guard let buffer = t.buffer as? CPUBuffer, case .f32(let floats) = buffer.values else { return nil }
            return floats.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
        }
        let handedOver = cpu.tensor(HostTensor(shape: image.shape, storage: image.storage.map { $0 + 0 }))  // its own array
        let before = try address(handedOver)
        let inPlace = try cpu.groupNorm(consume handedOver, groups: 4, scale: scale, shift: shift, epsilon: 1e-6)
        #expect(try address(inPlace) == before)

        let kept = cpu.tensor(image)
        let copied = try cpu.groupNorm(kept, groups: 4, scale: scale, shift: shift, epsilon: 1e-6)
        #expect(try address(copied) != address(kept))
        #expect(try kept.host() == image, "the tensor still held elsewhere changed")
        #expect(try copied.host() == inPlace.host())
        #expect(worst(try copied.host(), try file.tensor("group_norm")) <= 2e-5)
    }

    /// The feed-forward's linear + GEGLU (in blocks of rows and columns, with tails) and the group
    /// norm fused with SiLU against their formulas in Double.
    @Test func linearGEGLUAndFusedNormActivationMatchTheirFormulas() throws {
        var generator = TorchGenerator(seed: 8)
        let rows = 300, inputs = 20, inner = 300  // blocks of 256 rows and columns, both with a tail
        let x = HostTensor(shape: [rows, inputs], storage: generator.randn(count: rows * inputs))
        let weight = HostTensor(shape: [2 * inner, inputs], storage: generator.randn(count: 2 * inner * inputs).map { $0 * 0.5 })
        let bias = HostTensor(shape: [2 * inner], storage: generator.randn(count: 2 * inner))
        // bf16 rounds x and W (not the bias) and accumulates in Float32: its exact value is the
        // formula over the rounded inputs.
        func exact(_ r: Int, _ i: Int, bf16: Bool) -> Double {
            func input(_ v: Float) -> Double { bf16 ? Double(Float(bitPattern: UInt32(BFloat16.bits(v)) << 16)) : Double(v) }
            func output(_ o: Int) -> Double {
                (0..<inputs).reduce(Double(bias.storage[o])) { $0 + input(x.storage[r * inputs + $1]) * input(weight.storage[o * inputs + $1]) }
            }
            let value = output(i), gate = output(inner + i)
            return value * 0.5 * gate * (1 + erf(gate / 2.0.squareRoot()))
        }
        // bf16 where oneDNN has a bf16 product on this CPU (not on AVX2-only ones).
        for precision in CPUBackend.hasBF16MatrixProduct ? [OpPrecisions.fp32, .bf16] : [.fp32] {
            let backend = CPUBackend(precision: precision)
            let y = try backend.linearGEGLU(backend.tensor(x), try backend.prepareLinear(weight: weight, bias: bias)).host()
            #expect(y.shape == [rows, inner])
            var worstError = 0.0
            for r in 0..<rows {
                for i in 0..<inner {
                    let expected = exact(r, i, bf16: precision == .bf16)
                    worstError = max(worstError, abs(Double(y.storage[r * inner + i]) - expected) / max(1, abs(expected)))
                }
            }
            #expect(worstError <= 1e-5, "\(precision): \(worstError)")
        }
        let image = try file.tensor("image"), scale = try file.tensor("gn_weight"), shift = try file.tensor("gn_bias")
        let fused = try cpu.groupNorm(cpu.tensor(image), groups: 4, scale: cpu.tensor(scale), shift: cpu.tensor(shift), epsilon: 1e-6, activation: .silu).host()
        let normed = try file.tensor("group_norm")
        #expect(worst(fused, HostTensor(shape: normed.shape, storage: normed.storage.map { Float(Double($0) / (1 + exp(-Double($0)))) })) <= 2e-5)
    }
}
