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
