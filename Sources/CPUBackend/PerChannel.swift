import Neural
import Foundation

extension Ops {
    /// Adds `shift[c]` (or `shift[n, c]`) to every value of channel c in [N, C, H, W] (a ResNet's time embedding).
    /// `shift` has C values (one for every sample) or N·C (one set per sample); the caller checks.
    static func addPerChannel(_ x: inout HostTensor, _ shift: [Float]) {
        let channels = x.shape[1], plane = x.shape[2] * x.shape[3], batch = x.shape[0]
        let perSample = shift.count != channels
        x.storage.withUnsafeMutableBufferPointer { o in
            shift.withUnsafeBufferPointer { s in
                nonisolated(unsafe) let o = o, s = s
                Parallel.forRanges(batch * channels, minimumChunk: 16) { range in
                    for row in range {
                        let value = s[perSample ? row : row % channels], base = row * plane
                        for i in 0..<plane { o[base + i] += value }
                    }
                }
            }
        }
    }
}
