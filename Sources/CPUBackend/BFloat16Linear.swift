import CDNNL
import Neural

/// A linear layer in bf16: its weights stored once as bf16 in the layout oneDNN's matmul reads
/// (half the memory of Float32), each input rounded to bf16, accumulation and output in Float32.
final class CPUBFloat16Linear: PreparedLinear, @unchecked Sendable {
    let weights: OpaquePointer
    let bias: HostTensor?
    let inputs: Int, outputs: Int

    init(weight: HostTensor, bias: HostTensor?) throws {
        guard weight.shape.count == 2, weight.shape.allSatisfy({ $0 > 0 }), bias.map({ $0.count == weight.shape[0] }) ?? true else {
            throw NeuralError.shapeMismatch("linear weight \(weight.shape), bias \(bias?.shape ?? [])")
        }
        let (outputs, inputs) = (weight.shape[0], weight.shape[1])
        guard let prepared = weight.storage.withUnsafeBufferPointer({ sw_dnnl_linear_weights_prepare_bf16($0.baseAddress, Int64(outputs), Int64(inputs)) }) else {
            throw NeuralError.unsupportedPrecision("this CPU has no bf16 matrix product in oneDNN \(CPUBackend.oneDNNVersion)")
        }
        weights = prepared
        self.bias = bias
        (self.inputs, self.outputs) = (inputs, outputs)
    }

    deinit { sw_dnnl_weights_destroy(weights) }

    func apply(_ x: HostTensor) throws -> HostTensor {
        guard let width = x.shape.last, width == inputs, x.count > 0 else {
            throw NeuralError.shapeMismatch("linear: input \(x.shape) for weights [\(outputs), \(inputs)]")
        }
        let rows = x.count / inputs
        var status: Int32 = 0
        let storage = [Float](unsafeUninitializedCapacity: rows * outputs) { out, initialized in
            x.storage.withUnsafeBufferPointer { src in
                func run(_ b: UnsafePointer<Float>?) { status = sw_dnnl_linear_bf16(src.baseAddress, Int64(rows), weights, b, out.baseAddress) }
                if let bias { bias.storage.withUnsafeBufferPointer { run($0.baseAddress) } } else { run(nil) }
            }
            if status != 0 { out.initialize(repeating: 0) }
            initialized = out.count
        }
        guard status == 0 else { throw NeuralError.shapeMismatch("bf16 linear: oneDNN failed with status \(status) for input \(x.shape)") }
        return HostTensor(shape: Array(x.shape.dropLast()) + [outputs], storage: storage)
    }
}

extension CPUBackend {
    /// Whether oneDNN has a bf16 matrix product on this CPU (AVX-512 BF16, AMX; not on CPUs with
    /// AVX2 only, such as some EPYC machines): bf16 engines fail to load where it has none.
    public static let hasBF16MatrixProduct: Bool =
        (try? CPUBFloat16Linear(weight: HostTensor(shape: [16, 16], storage: [Float](repeating: 0, count: 256)), bias: nil)) != nil
}
