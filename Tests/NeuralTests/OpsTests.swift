import Foundation
@testable import CPUBackend
import Neural
import TestSupport
import Testing

let opsFixture = TestSupport.repositoryRoot + "/Tests/Fixtures/neural/ops.safetensors"

/// Largest element difference, or infinity when the shapes differ.
func worst(_ a: HostTensor, _ b: HostTensor) -> Float {
    a.shape == b.shape ? zip(a.storage, b.storage).map { abs($0 - $1) }.max() ?? 0 : .infinity
}

/// The Neural ops against torch (Tools/reference/build_fixtures.py ops).
@Suite struct OpsTests {
    let file: SafeTensorsFile
    init() throws { file = try SafeTensorsFile(path: opsFixture) }

    /// torch's [heads, tokens, d] as the engine's [tokens, heads·d].
    func tokenRows(_ name: String) throws -> HostTensor {
        let x = try file.tensor(name)
        let heads = x.shape[0], tokens = x.shape[1], d = x.shape[2]
        var rows = [Float](repeating: 0, count: x.count)
        for h in 0..<heads { for t in 0..<tokens { for j in 0..<d { rows[t * heads * d + h * d + j] = x.storage[(h * tokens + t) * d + j] } } }
        return HostTensor(shape: [tokens, heads * d], storage: rows)
    }

    @Test(arguments: [16, 64, 1000])
    func streamingAttentionMatchesTorchForAnyBlockSize(blockSize: Int) throws {
        let q = try tokenRows("q"), heads = try file.tensor("q").shape[0]
        let plain = try Attention.scaledDotProduct(query: q, key: try tokenRows("k"), value: try tokenRows("v"), heads: heads, blockSize: blockSize)
        #expect(worst(plain, try tokenRows("attention")) <= 1e-5)
        let causal = try Attention.scaledDotProduct(query: q, key: try tokenRows("square_k"), value: try tokenRows("square_v"), heads: heads,
                                                    causal: true, blockSize: blockSize)
        #expect(worst(causal, try tokenRows("attention_causal")) <= 1e-5)
    }

    @Test func normsAndActivationsMatchTorch() throws {
        let x = try file.tensor("x")
        #expect(worst(try Ops.layerNorm(x, weight: try file.tensor("ln_weight"), bias: try file.tensor("ln_bias")), try file.tensor("layer_norm")) <= 1e-5)
        #expect(worst(Ops.gelu(x), try file.tensor("gelu")) <= 1e-5)
        #expect(worst(Ops.quickGELU(x), try file.tensor("quick_gelu")) <= 1e-5)
        #expect(worst(Ops.silu(x), try file.tensor("silu")) <= 1e-5)
    }

    /// The vectorised erf and exp behind GELU and SiLU against libm in double, over −8…8 (and the
    /// tail of a tensor whose length is not a multiple of 16, which takes the scalar path).
    @Test func geluAndSiLUAreExactToFloatPrecision() {
        let values = (0..<16_003).map { Float($0 - 8_000) / 1_000 }
        let out = Ops.gelu(HostTensor(shape: [values.count], storage: values))
        let errors = zip(values, out.storage).map { (v: Float, y: Float) -> Double in
            let x = Double(v), exact: Double = 0.5 * x * (1 + erf(x / 2.0.squareRoot()))
            return abs(Double(y) - exact) / max(1, abs(x))
        }
        #expect(errors.max()! <= 5e-7, "worst relative error \(errors.max()!)")
        // SiLU on the same values (vectorised exp).
        let silu = Ops.silu(HostTensor(shape: [values.count], storage: values))
        let siluErrors = zip(values, silu.storage).map { (v: Float, y: Float) -> Double in
            let x = Double(v)
            return abs(Double(y) - x / (1 + exp(-x))) / max(1, abs(x))
        }
        #expect(siluErrors.max()! <= 5e-7, "SiLU: worst relative error \(siluErrors.max()!)")
    }

    @Test func linearMatchesAPlainProduct() throws {
        // 2×3 · (4×3)ᵀ + bias, small enough to check by hand.
        let x = HostTensor(shape: [2, 3], storage: [1, 2, 3, 4, 5, 6])
        let w = HostTensor(shape: [4, 3], storage: [1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1])
        let y = try LinearAlgebra.linear(x, weight: w, bias: HostTensor(shape: [4], storage: [0.5, 0, 0, -1]))
        #expect(y.shape == [2, 4])
        #expect(y.storage == [1.5, 2, 3, 5, 4.5, 5, 6, 14])
        #expect(throws: NeuralError.self) { try LinearAlgebra.linear(x, weight: HostTensor(zeros: [4, 2]), bias: nil) }
    }
}

@Suite struct SpatialOpsTests {
    let file: SafeTensorsFile
    init() throws { file = try SafeTensorsFile(path: opsFixture) }

    @Test func convolutionMatchesTorch() throws {
        let image = try file.tensor("image"), weight = try file.tensor("conv_weight"), bias = try file.tensor("conv_bias")
        #expect(worst(try Convolution.conv2d(image, weight: weight, bias: bias, padding: 1), try file.tensor("conv_same")) <= 1e-5)
        #expect(worst(try Convolution.conv2d(image, weight: weight, bias: bias, stride: 2, padding: 1), try file.tensor("conv_stride2")) <= 1e-5)
        // Cached primitive, second call with the same shape.
        #expect(worst(try Convolution.conv2d(image, weight: weight, bias: bias, padding: 1), try file.tensor("conv_same")) <= 1e-5)
        var center = [Float]()
        for o in 0..<5 { for i in 0..<8 { center.append(weight.storage[((o * 8 + i) * 3 + 1) * 3 + 1]) } }
        #expect(worst(try Convolution.conv2d(image, weight: HostTensor(shape: [5, 8, 1, 1], storage: center), bias: nil), try file.tensor("conv_1x1")) <= 1e-5)
        #expect(throws: NeuralError.self) { try Convolution.conv2d(image, weight: HostTensor(zeros: [5, 3, 3, 3]), bias: nil) }
    }

    /// More shapes than the primitive cache holds (256 bands): the oldest are given up and made again,
    /// and results stay right (a long run meets any number of sizes).
    @Test func convolutionsOfManyShapesOutliveTheCache() throws {
        let image = try file.tensor("image"), weight = try file.tensor("conv_weight"), bias = try file.tensor("conv_bias")
        let channels = image.shape[1]
        for size in 1...280 {
            let x = HostTensor(shape: [1, channels, 1, size], storage: (0..<(channels * size)).map { Float($0 % 7) })
            let y = try Convolution.conv2d(x, weight: weight, bias: bias, padding: 1)
            #expect(y.shape == [1, weight.shape[0], 1, size])
        }
        #expect(worst(try Convolution.conv2d(image, weight: weight, bias: bias, padding: 1), try file.tensor("conv_same")) <= 1e-5)
        #expect(worst(try Convolution.conv2d(image, weight: weight, bias: bias, stride: 2, padding: 1), try file.tensor("conv_stride2")) <= 1e-5)
    }

    @Test func groupNormSoftmaxAndConcatMatchTorch() throws {
        let image = try file.tensor("image")
        let normed = try Ops.groupNorm(image, groups: 4, weight: try file.tensor("gn_weight"), bias: try file.tensor("gn_bias"), epsilon: 1e-6)
        #expect(worst(normed, try file.tensor("group_norm")) <= 1e-5)
        #expect(worst(Ops.softmax(try file.tensor("x")), try file.tensor("softmax")) <= 1e-6)
        let a = HostTensor(shape: [2, 1, 2], storage: [1, 2, 3, 4]), b = HostTensor(shape: [2, 2, 2], storage: [5, 6, 7, 8, 9, 10, 11, 12])
        let joined = try Ops.concat([a, b], axis: 1)
        #expect(joined.shape == [2, 3, 2] && joined.storage == [1, 2, 5, 6, 7, 8, 3, 4, 9, 10, 11, 12])
    }

    @Test(arguments: Interpolation.Mode.allCases)
    func interpolationMatchesTorch(mode: Interpolation.Mode) throws {
        let image = try file.tensor("image")
        #expect(worst(try Interpolation.resize(image, height: 18, width: 14, mode: mode), try file.tensor("up_" + mode.rawValue)) <= 1e-5)
        #expect(worst(try Interpolation.resize(image, height: 13, width: 5, mode: mode), try file.tensor("odd_" + mode.rawValue)) <= 1e-5)
    }
}

/// A thread's GEMM/parallel-range team size is limited inside `ThreadLimit.run` and restored after.
@Suite struct ThreadLimitTests {
    @Test func limitsAndRestores() {
        let before = ThreadLimit.current
        let inside = ThreadLimit.run(threads: 1) { ThreadLimit.current }
        #expect(inside == 1)
        #expect(ThreadLimit.current == before)
        // Work still runs whole under the limit.
        let x = HostTensor(shape: [4, 3], storage: (0..<12).map(Float.init))
        let w = HostTensor(shape: [2, 3], storage: [1, 0, 0, 0, 1, 0])
        let y = ThreadLimit.run(threads: 1) { try? LinearAlgebra.linear(x, weight: w, bias: nil) }
        #expect(y?.storage == [0, 1, 3, 4, 6, 7, 9, 10])
    }
}
