import CDNNL
import Neural

/// Weights kept in 16 bits where that loses nothing (half_weights.c says why and how): the
/// values of an fp16 or bf16 checkpoint, narrowed back from the Float32 they were loaded as.
enum HalfWeights {
    /// `values` as fp16 bits when every one is exactly an fp16 number, else as bf16 bits when
    /// every one is exactly a bf16 number (of the `kinds` tried), else nil.
    static func narrowed(_ values: [Float], kinds: [Int32] = [Int32(SW_HALF_F16), Int32(SW_HALF_BF16)]) -> (bits: [UInt16], kind: Int32)? {
        for kind in kinds {
            var exact = false
            let bits = [UInt16](unsafeUninitializedCapacity: values.count) { out, initialized in
                exact = values.withUnsafeBufferPointer { sw_half_narrow($0.baseAddress, Int64(values.count), kind, out.baseAddress) } == 1
                if !exact { out.initialize(repeating: 0) }
                initialized = values.count
            }
            if exact { return (bits, kind) }
        }
        return nil
    }
}

/// A Float32 linear layer's weights: as loaded, or kept in 16 bits and widened for each product.
final class CPULinear: PreparedLinear {
    enum Values {
        case floats(HostTensor)
        case half([UInt16], kind: Int32)
    }
    let values: Values, bias: HostTensor?
    let inputs: Int, outputs: Int

    /// `keepingHalf`: 16 bits when that is exact (HalfWeights.narrowed).
    init(weight: HostTensor, bias: HostTensor?, keepingHalf: Bool = false) throws {
        guard weight.shape.count == 2, bias.map({ $0.count == weight.shape[0] }) ?? true else {
            throw NeuralError.shapeMismatch("linear weight \(weight.shape), bias \(bias?.shape ?? [])")
        }
        (outputs, inputs) = (weight.shape[0], weight.shape[1])
        if keepingHalf, let (bits, kind) = HalfWeights.narrowed(weight.storage) {
            values = .half(bits, kind: kind)
        } else {
            values = .floats(weight)
        }
        self.bias = bias
    }

    /// x[rows×in] · Wᵀ + bias.
    func apply(_ x: HostTensor) throws -> HostTensor {
        let bits: [UInt16], kind: Int32
        switch values {
        case .floats(let weight): return try LinearAlgebra.linear(x, weight: weight, bias: bias)
        case .half(let stored, let storedKind): (bits, kind) = (stored, storedKind)
        }
        guard let width = x.shape.last, width == inputs, x.count > 0 else {
            throw NeuralError.shapeMismatch("linear: input \(x.shape) × weight [\(outputs), \(inputs)]")
        }
        let rows = x.count / inputs
        let storage = try Self.filled(rows * outputs) { out in
            x.storage.withUnsafeBufferPointer { src in
                bits.withUnsafeBufferPointer { w in
                    withOptionalBias { sw_half_linear(src.baseAddress, Int64(rows), Int64(inputs), w.baseAddress, kind, $0, Int64(outputs), out) }
                }
            }
        }
        return HostTensor(shape: Array(x.shape.dropLast()) + [outputs], storage: storage)
    }

    /// The first half of x·Wᵀ + bias × GELU(the second half), in one pass.
    func applyGEGLU(_ x: HostTensor) throws -> HostTensor {
        let bits: [UInt16], kind: Int32
        switch values {
        case .floats(let weight): return try LinearAlgebra.linearGEGLU(x, weight: weight, bias: bias)
        case .half(let stored, let storedKind): (bits, kind) = (stored, storedKind)
        }
        guard outputs % 2 == 0, x.shape.count == 2, x.shape[1] == inputs, x.count > 0 else {
            throw NeuralError.shapeMismatch("linear + GEGLU: input \(x.shape) × weight [\(outputs), \(inputs)]")
        }
        let rows = x.shape[0], inner = outputs / 2
        let storage = try Self.filled(rows * inner) { out in
            x.storage.withUnsafeBufferPointer { src in
                bits.withUnsafeBufferPointer { w in
                    withOptionalBias { sw_half_linear_geglu(src.baseAddress, Int64(rows), Int64(inputs), w.baseAddress, kind, $0, Int64(inner), out) }
                }
            }
        }
        return HostTensor(shape: [rows, inner], storage: storage)
    }

    private func withOptionalBias(_ body: (UnsafePointer<Float>?) -> Int32) -> Int32 {
        if let bias { return bias.storage.withUnsafeBufferPointer { body($0.baseAddress) } }
        return body(nil)
    }

    /// `count` floats written by `body` (which returns the shim's status).
    private static func filled(_ count: Int, _ body: (UnsafeMutablePointer<Float>) -> Int32) throws -> [Float] {
        var status: Int32 = 0
        let storage = [Float](unsafeUninitializedCapacity: count) { out, initialized in
            status = body(out.baseAddress!)
            if status != 0 { out.initialize(repeating: 0) }
            initialized = count
        }
        guard status == 0 else { throw NeuralError.shapeMismatch("linear with 16-bit weights: no memory to widen [\(count) outputs]") }
        return storage
    }
}
