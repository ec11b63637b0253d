import Neural
import CBLAS
import CDNNL
import Foundation

/// Matrix products, row-major: oneDNN's sgemm by default, OpenBLAS's cblas_sgemm as the fallback.
enum LinearAlgebra {
    /// C[m×n] = alpha · A[m×k] · B[k×n] (B transposed when `transposeB`, then given as [n×k]) + beta · C.
    static func gemm(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
                            m: Int, n: Int, k: Int, transposeA: Bool = false, transposeB: Bool = false,
                            alpha: Float = 1, beta: Float = 0) {
        if useDNNL {
            // 'N' = 78, 'T' = 84.
            _ = sw_dnnl_sgemm(transposeA ? 84 : 78, transposeB ? 84 : 78, Int64(m), Int64(n), Int64(k), alpha, a, Int64(transposeA ? m : k),
                           b, Int64(transposeB ? k : n), beta, c, Int64(n))
            return
        }
        cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(transposeA ? m : k), b, Int32(transposeB ? k : n),
                    beta, c, Int32(n))
    }

    /// x[rows×in] · Wᵀ + bias, with W stored [out×in] as PyTorch's nn.Linear keeps it.
    static func linear(_ x: HostTensor, weight: HostTensor, bias: HostTensor?) throws -> HostTensor {
        guard weight.shape.count == 2, let inFeatures = x.shape.last, inFeatures == weight.shape[1] else {
            throw NeuralError.shapeMismatch("linear: input \(x.shape) × weight \(weight.shape)")
        }
        let outFeatures = weight.shape[0]
        let rows = x.count / inFeatures
        if let bias, bias.count != outFeatures { throw NeuralError.shapeMismatch("linear: bias \(bias.shape) for \(outFeatures) outputs") }
        // Every element is written (bias rows, or gemm with beta 0), so skip zero-filling.
        let storage = [Float](unsafeUninitializedCapacity: rows * outFeatures) { out, initialized in
            if let bias {
                bias.storage.withUnsafeBufferPointer { b in
                    for row in 0..<rows { (out.baseAddress! + row * outFeatures).initialize(from: b.baseAddress!, count: outFeatures) }
                }
            }
            x.storage.withUnsafeBufferPointer { a in
                weight.storage.withUnsafeBufferPointer { w in
                    gemm(a.baseAddress!, w.baseAddress!, out.baseAddress!, m: rows, n: outFeatures, k: inFeatures,
                         transposeB: true, beta: bias == nil ? 0 : 1)
                }
            }
            initialized = rows * outFeatures
        }
        return HostTensor(shape: Array(x.shape.dropLast()) + [outFeatures], storage: storage)
    }

    /// oneDNN's JIT sgemm is the default (1.3–1.5× faster than OpenBLAS at the text encoder's
    /// 77-row shapes on this machine); STOCKWERK_GEMM=openblas selects cblas_sgemm instead.
    static let useDNNL = ProcessInfo.processInfo.environment["STOCKWERK_GEMM"] != "openblas"
}

extension LinearAlgebra {
    /// GEGLU after a linear layer with 2·inner outputs, in one pass (`sw_linear_geglu`): x [rows, in]
    /// → [rows, inner], the first half of x·Wᵀ + bias × GELU(the second half).
    static func linearGEGLU(_ x: HostTensor, weight: HostTensor, bias: HostTensor?) throws -> HostTensor {
        guard weight.shape.count == 2, weight.shape[0] % 2 == 0, weight.shape[0] > 0, x.shape.count == 2, x.shape[1] == weight.shape[1], x.count > 0,
              bias.map({ $0.count == weight.shape[0] }) ?? true else {
            throw NeuralError.shapeMismatch("linear + GEGLU: input \(x.shape) × weight \(weight.shape), bias \(bias?.shape ?? [])")
        }
        let rows = x.shape[0], inner = weight.shape[0] / 2
        var status: Int32 = 0
        let storage = [Float](unsafeUninitializedCapacity: rows * inner) { out, initialized in
            x.storage.withUnsafeBufferPointer { src in
                weight.storage.withUnsafeBufferPointer { w in
                    func run(_ b: UnsafePointer<Float>?) {
                        status = sw_linear_geglu(src.baseAddress, Int64(rows), Int64(x.shape[1]), w.baseAddress, b, Int64(inner), out.baseAddress)
                    }
                    if let bias { bias.storage.withUnsafeBufferPointer { run($0.baseAddress) } } else { run(nil) }
                }
            }
            initialized = status == 0 ? out.count : 0
        }
        guard status == 0 else { throw NeuralError.shapeMismatch("linear + GEGLU: no memory for the scratch blocks of input \(x.shape)") }
        return HostTensor(shape: [rows, inner], storage: storage)
    }

    /// GEGLU alone: [rows, 2·inner] → [rows, inner], first half × GELU(second half).
    static func geglu(_ x: HostTensor) throws -> HostTensor {
        guard x.shape.count == 2, x.shape[1] % 2 == 0, x.count > 0 else { throw NeuralError.shapeMismatch("GEGLU of \(x.shape)") }
        let rows = x.shape[0], inner = x.shape[1] / 2
        let storage = [Float](unsafeUninitializedCapacity: rows * inner) { out, initialized in
            x.storage.withUnsafeBufferPointer { sw_geglu($0.baseAddress, Int64(rows), Int64(inner), out.baseAddress) }
            initialized = out.count
        }
        return HostTensor(shape: [rows, inner], storage: storage)
    }
}
