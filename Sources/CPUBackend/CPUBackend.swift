import CDNNL
import Foundation
import Neural

/// The CPU backend: oneDNN for convolutions and matrix products, its OpenMP team for everything
/// element-wise. Tensors live in ordinary memory as Float32 arrays (16-bit tensors as their bits,
/// widened when an op reads them).
public final class CPUBackend: Backend {
    /// Float32 throughout.
    public static let shared = CPUBackend()

    public let name: String
    public let precision: OpPrecisions
    /// Float32 products keep each weight in 16 bits where its values are exactly fp16 or bf16
    /// numbers (those of a 16-bit checkpoint): half the memory, the same results (HalfWeights).
    public let keepsHalfWeights: Bool

    /// `precision`: bf16 for linear layers and/or convolutions (weights stored in bf16, inputs
    /// rounded to it, Float32 accumulation and output); everything else stays Float32.
    public init(precision: OpPrecisions = .fp32, keepingHalfWeights: Bool = false) {
        name = "cpu (oneDNN \(Self.oneDNNVersion))"
        self.precision = precision
        keepsHalfWeights = keepingHalfWeights
    }

    /// "2.6.3".
    public static var oneDNNVersion: String {
        let version = Int(sw_dnnl_version())
        return "\(version / 10_000).\(version / 100 % 100).\(version % 100)"
    }

    // MARK: Memory

    public func tensor(_ host: HostTensor) -> Tensor {
        Tensor(shape: host.shape, dtype: .f32, buffer: CPUBuffer(self, .f32(host.storage)))
    }

    public func host(_ x: Tensor) throws -> HostTensor { try dense(x) }

    public func cast(_ x: Tensor, to dtype: DType) throws -> Tensor {
        let values = try dense(x).storage
        switch dtype {
        case .f32: return Tensor(shape: x.shape, dtype: .f32, buffer: CPUBuffer(self, .f32(values)))
        case .bf16: return Tensor(shape: x.shape, dtype: .bf16, buffer: CPUBuffer(self, .bf16(values.map(BFloat16.bits))))
        case .f16: return Tensor(shape: x.shape, dtype: .f16, buffer: CPUBuffer(self, .f16(values.map(HalfFloat.fromFloat))))
        }
    }

    public func releaseUnusedMemory() { sw_release_memory() }

    /// `x`'s values as Float32, or an error when it belongs to another backend.
    func dense(_ x: Tensor) throws -> HostTensor {
        guard let buffer = x.buffer as? CPUBuffer else { throw NeuralError.shapeMismatch("a \(x.backend.name) tensor given to \(name)") }
        return HostTensor(shape: x.shape, storage: buffer.floats)
    }

    func wrap(_ host: HostTensor) -> Tensor { tensor(host) }

    /// `x`'s values, and whether the caller holds their only reference and may overwrite them: so
    /// when `x` was handed over (`consume`) and nobody else holds its buffer.
    func owned(_ x: consuming Tensor) throws -> (values: HostTensor, unique: Bool) {
        guard var buffer = x.buffer as? CPUBuffer else { throw NeuralError.shapeMismatch("a \(x.backend.name) tensor given to \(name)") }
        let shape = x.shape
        _ = consume x
        if isKnownUniquelyReferenced(&buffer), let floats = buffer.takeFloats() { return (HostTensor(shape: shape, storage: floats), true) }
        return (HostTensor(shape: shape, storage: buffer.floats), false)
    }

    // MARK: Weights

    public func prepareLinear(weight: HostTensor, bias: HostTensor?) throws -> any PreparedLinear {
        switch precision.linear {
        case .f32: return try CPULinear(weight: weight, bias: bias, keepingHalf: keepsHalfWeights)
        case .bf16: return try CPUBFloat16Linear(weight: weight, bias: bias)
        case .f16: throw NeuralError.unsupportedPrecision("fp16 linear layers are not supported on the CPU (fp32 and bf16 are)")
        }
    }

    public func prepareConvolution(weight: HostTensor, bias: HostTensor?, stride: Int, padding: Int, paddingEnd: Int) throws -> any PreparedConvolution {
        guard precision.convolution != .f16 else {
            throw NeuralError.unsupportedPrecision("fp16 convolutions are not supported on the CPU (fp32 and bf16 are)")
        }
        return try CPUConvolution(weight: weight, bias: bias, stride: stride, padding: padding, paddingEnd: paddingEnd, bf16: precision.convolution == .bf16,
                                  keepingHalf: keepsHalfWeights)
    }

    // MARK: Layers' arithmetic

    public func linear(_ x: Tensor, _ weights: any PreparedLinear) throws -> Tensor {
        try OpProfile.measure("linear", shapes: "\(x.shape) → \(weights.outputs)") {
            if let weights = weights as? CPULinear { return wrap(try weights.apply(try dense(x))) }
            guard let weights = weights as? CPUBFloat16Linear else { throw NeuralError.shapeMismatch("linear weights prepared by another backend") }
            return wrap(try weights.apply(try dense(x)))
        }
    }

    public func conv2d(_ x: Tensor, _ weights: any PreparedConvolution, adding residual: Tensor?) throws -> Tensor {
        try OpProfile.measure("conv2d", shapes: "\(x.shape) k\((weights as? CPUConvolution).map { "\($0.outputs)x\($0.kernel.height)" } ?? "")") {
            guard let weights = weights as? CPUConvolution else { throw NeuralError.shapeMismatch("convolution weights prepared by another backend") }
            return wrap(try weights.apply(try dense(x), adding: try residual.map(dense)))
        }
    }

    public func groupNorm(_ x: consuming Tensor, groups: Int, scale: Tensor, shift: Tensor, epsilon: Float, activation: Activation?) throws -> Tensor {
        guard groups >= 1 else { throw NeuralError.shapeMismatch("group norm with \(groups) groups") }
        var input = Optional(try owned(x))  // moved into the op below, never copied: copying would cost the in-place run
        return try OpProfile.measure("groupNorm") {
            let (values, unique) = input.take()!
            let normed = try Ops.groupNorm(consume values, groups: groups, weight: try dense(scale), bias: try dense(shift), epsilon: epsilon,
                                           silu: activation == .silu, inPlace: unique)
            switch activation {
            case nil, .silu?: return wrap(normed)
            case .gelu?: return wrap(Ops.gelu(normed))
            case .quickGELU?: return wrap(Ops.quickGELU(normed))
            }
        }
    }

    public func layerNorm(_ x: Tensor, scale: Tensor, shift: Tensor, epsilon: Float) throws -> Tensor {
        try OpProfile.measure("layerNorm") {
            wrap(try Ops.layerNorm(try dense(x), weight: try dense(scale), bias: try dense(shift), epsilon: epsilon))
        }
    }

    public func attention(query: Tensor, key: Tensor, value: Tensor, heads: Int, causal: Bool) throws -> Tensor {
        try OpProfile.measure("attention") {
            wrap(try Attention.scaledDotProduct(query: try dense(query), key: try dense(key), value: try dense(value), heads: heads, causal: causal))
        }
    }

    public func packedAttention(query: Tensor, key: Tensor, value: Tensor, heads: Int, lengths: [Int]) throws -> Tensor {
        try OpProfile.measure("packedAttention") {
            wrap(try Attention.packed(query: try dense(query), key: try dense(key), value: try dense(value), heads: heads, lengths: lengths))
        }
    }

    public func activation(_ x: Tensor, _ kind: Activation) throws -> Tensor {
        try OpProfile.measure("activation") {
            let values = try dense(x)
            switch kind {
            case .silu: return wrap(Ops.silu(values))
            case .gelu: return wrap(Ops.gelu(values))
            case .quickGELU: return wrap(Ops.quickGELU(values))
            }
        }
    }

    public func linearGEGLU(_ x: Tensor, _ weights: any PreparedLinear) throws -> Tensor {
        try OpProfile.measure("linearGEGLU", shapes: "\(x.shape) → \(weights.outputs)") {
            if let weights = weights as? CPULinear { return wrap(try weights.applyGEGLU(try dense(x))) }
            guard let weights = weights as? CPUBFloat16Linear else { throw NeuralError.shapeMismatch("linear weights prepared by another backend") }
            return wrap(try LinearAlgebra.geglu(try weights.apply(try dense(x))))
        }
    }

    public func embedding(_ ids: [Int], table: Tensor) throws -> Tensor {
        try OpProfile.measure("embedding") {
            guard let buffer = table.buffer as? CPUBuffer else { throw NeuralError.shapeMismatch("a \(table.backend.name) tensor given to \(name)") }
            guard table.shape.count == 2 else { throw NeuralError.shapeMismatch("embedding table \(table.shape)") }
            if case .f16(let bits) = buffer.values { return wrap(try Ops.embedding(ids, halfTable: bits, rows: table.shape[0], width: table.shape[1])) }
            return wrap(try dense(table).embedding(ids))
        }
    }

    public func embeddingTable(_ table: HostTensor) -> Tensor {
        // fp16 only: `embedding` reads 16-bit tables as fp16.
        if let (bits, _) = HalfWeights.narrowed(table.storage, kinds: [Int32(SW_HALF_F16)]) {
            return Tensor(shape: table.shape, dtype: .f16, buffer: CPUBuffer(self, .f16(bits)))
        }
        return tensor(table)
    }

    // MARK: Element-wise

    public func add(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        try OpProfile.measure("add") { wrap(try Ops.add(try dense(a), try dense(b))) }
    }

    public func multiply(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        try OpProfile.measure("multiply") { wrap(try Ops.multiply(try dense(a), broadcasting: try dense(b))) }
    }

    public func addPerChannel(_ x: Tensor, _ shift: Tensor) throws -> Tensor {
        try OpProfile.measure("addPerChannel") {
            guard x.shape.count == 4, shift.count == x.shape[1] || shift.count == x.shape[0] * x.shape[1] else {
                throw NeuralError.shapeMismatch("per-channel shift \(shift.shape) for \(x.shape)")
            }
            var out = try dense(x)
            Ops.addPerChannel(&out, try dense(shift).storage)
            return wrap(out)
        }
    }

    public func weightedSum(_ terms: [(Tensor, Float)], constant: Float) throws -> Tensor {
        try OpProfile.measure("weightedSum") {
            wrap(try Ops.weightedSum(try terms.map { (try dense($0.0), $0.1) }, constant: constant))
        }
    }

    public func clamp(_ x: Tensor, min: Float, max: Float) throws -> Tensor {
        try OpProfile.measure("clamp") {
            wrap(Ops.clamp(try dense(x), min: min, max: max))
        }
    }

    public func preLU(_ x: Tensor, slopes: Tensor) throws -> Tensor {
        try OpProfile.measure("preLU") {
            guard x.shape.count >= 2, slopes.count == x.shape[1] else { throw NeuralError.shapeMismatch("PReLU of \(x.shape) with \(slopes.count) slopes") }
            return wrap(Ops.preLU(try dense(x), slopes: try dense(slopes).storage))
        }
    }

    public func exp(_ x: Tensor) throws -> Tensor {
        try OpProfile.measure("exp") { wrap(Ops.map(try dense(x)) { expf($0) }) }
    }

    public func allFinite(_ x: Tensor) -> Bool { (try? dense(x).storage.allSatisfy(\.isFinite)) ?? false }

    // MARK: Shapes and resampling

    public func concat(_ parts: [Tensor], axis: Int) throws -> Tensor {
        try OpProfile.measure("concat") { wrap(try Ops.concat(try parts.map(dense), axis: axis)) }
    }

    public func slice(_ x: Tensor, axis: Int, range: Range<Int>) throws -> Tensor {
        try OpProfile.measure("slice") { wrap(try Ops.slice(try dense(x), axis: axis, range: range)) }
    }

    public func pad(_ x: Tensor, top: Int, left: Int, bottom: Int, right: Int) throws -> Tensor {
        try OpProfile.measure("pad") {
            wrap(try Ops.pad(try dense(x), top: top, left: left, bottom: bottom, right: right))
        }
    }

    public func transpose(_ x: Tensor) throws -> Tensor {
        try OpProfile.measure("transpose") {
            guard x.shape.count == 2 else { throw NeuralError.shapeMismatch("transpose of \(x.shape): a matrix is needed") }
            return wrap(Ops.transpose(try dense(x)))
        }
    }

    public func pixelShuffle(_ x: Tensor, factor: Int) throws -> Tensor {
        try OpProfile.measure("pixelShuffle") { wrap(try Ops.pixelShuffle(try dense(x), factor: factor)) }
    }

    public func resize(_ x: Tensor, height: Int, width: Int, mode: ResizeMode) throws -> Tensor {
        try OpProfile.measure("resize") {
            let values = try dense(x)
            switch mode {
            case .nearest: return wrap(try Interpolation.resize(values, height: height, width: width, mode: .nearest))
            case .nearestExact: return wrap(try Interpolation.resize(values, height: height, width: width, mode: .nearestExact))
            case .bilinear: return wrap(try Interpolation.resize(values, height: height, width: width, mode: .bilinear))
            case .bicubic: return wrap(try Interpolation.resize(values, height: height, width: width, mode: .bicubic))
            case .bilinearAntialiased, .bicubicAntialiased: return wrap(try SeparableResample.antialiased(values, height: height, width: width, mode: mode))
            }
        }
    }

    public func firResample(_ x: Tensor, _ direction: FIRDirection) throws -> Tensor {
        try OpProfile.measure("firResample") {
            wrap(try SeparableResample.fir(try dense(x), direction))
        }
    }
}

/// A CPU tensor's memory. Its values never change while anyone can see them: only an op that
/// holds the sole reference may take them over (`takeFloats`).
final class CPUBuffer: TensorBuffer, @unchecked Sendable {
    enum Values { case f32([Float]), bf16([UInt16]), f16([UInt16]) }

    let backend: any Backend
    private(set) var values: Values
    let byteCount: Int

    init(_ backend: CPUBackend, _ values: Values) {
        self.backend = backend
        self.values = values
        switch values {
        case .f32(let floats): byteCount = floats.count * 4
        case .bf16(let bits), .f16(let bits): byteCount = bits.count * 2
        }
        if OpProfile.enabled { OpProfile.tensorMemory(byteCount) }
    }

    deinit { if OpProfile.enabled { OpProfile.tensorMemory(-byteCount) } }

    /// The Float32 values, moved out (the buffer is left empty) so that whoever takes them holds
    /// the array's only reference. Only for a buffer nobody else references.
    func takeFloats() -> [Float]? {
        guard case .f32(let floats) = values else { return nil }
        values = .f32([])
        return floats
    }

    var floats: [Float] {
        switch values {
        case .f32(let floats): return floats
        case .bf16(let bits): return bits.map { Float(bitPattern: UInt32($0) << 16) }
        case .f16(let bits): return bits.map(HalfFloat.toFloat)
        }
    }
}

/// A linear layer's weights: [out, in] as they are (oneDNN's sgemm reads them transposed).
/// Float32 → bfloat16 bits, rounding to nearest even (NaN stays NaN).
enum BFloat16 {
    static func bits(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return UInt16(bits >> 16) | 0x40 }
        return UInt16((bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
    }
}
