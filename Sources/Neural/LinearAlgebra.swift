import CBLAS
import Foundation

/// Matrix products through OpenBLAS (cblas_sgemm), row-major.
public enum LinearAlgebra {
    /// C[m×n] = alpha · A[m×k] · B[k×n] (B transposed when `transposeB`, then given as [n×k]) + beta · C.
    public static func gemm(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
                            m: Int, n: Int, k: Int, transposeA: Bool = false, transposeB: Bool = false,
                            alpha: Float = 1, beta: Float = 0) {
        cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(transposeA ? m : k), b, Int32(transposeB ? k : n),
                    beta, c, Int32(n))
    }

    /// x[rows×in] · Wᵀ + bias, with W stored [out×in] as PyTorch's nn.Linear keeps it.
    public static func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) throws -> Tensor {
        guard weight.shape.count == 2, let inFeatures = x.shape.last, inFeatures == weight.shape[1] else {
            throw NeuralError.shapeMismatch("linear: input \(x.shape) × weight \(weight.shape)")
        }
        let outFeatures = weight.shape[0]
        let rows = x.count / inFeatures
        var output = Tensor(zeros: Array(x.shape.dropLast()) + [outFeatures])
        if let bias {
            guard bias.count == outFeatures else { throw NeuralError.shapeMismatch("linear: bias \(bias.shape) for \(outFeatures) outputs") }
            output.storage.withUnsafeMutableBufferPointer { out in
                for row in 0..<rows { (out.baseAddress! + row * outFeatures).update(from: bias.storage, count: outFeatures) }
            }
        }
        x.storage.withUnsafeBufferPointer { a in
            weight.storage.withUnsafeBufferPointer { w in
                output.storage.withUnsafeMutableBufferPointer { c in
                    gemm(a.baseAddress!, w.baseAddress!, c.baseAddress!, m: rows, n: outFeatures, k: inFeatures,
                         transposeB: true, beta: bias == nil ? 0 : 1)
                }
            }
        }
        return output
    }

    public static func setThreads(_ count: Int) { openblas_set_num_threads(Int32(count)) }
}
