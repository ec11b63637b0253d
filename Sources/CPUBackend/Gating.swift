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

    /// GEGLU: [rows, 2·inner] → [rows, inner], first half × GELU(second half) (diffusers' order).
    static func geglu(_ x: HostTensor) -> HostTensor {
        let rows = x.shape[0], inner = x.shape[1] / 2
        var out = [Float](repeating: 0, count: rows * inner)
        out.withUnsafeMutableBufferPointer { o in
            x.storage.withUnsafeBufferPointer { source in
                nonisolated(unsafe) let o = o, source = source
                Parallel.forRanges(rows, minimumChunk: 8) { range in
                    let raw = UnsafeRawPointer(source.baseAddress!), target = UnsafeMutableRawPointer(o.baseAddress!)
                    for r in range {
                        let input = r * 2 * inner, output = r * inner
                        // 16 at a time with the vectorised erf (as GELU), the tail in scalar.
                        var i = 0
                        while i + 16 <= inner {
                            let value = raw.loadUnaligned(fromByteOffset: (input + i) * 4, as: SIMD16<Float>.self)
                            let gate = raw.loadUnaligned(fromByteOffset: (input + inner + i) * 4, as: SIMD16<Float>.self)
                            target.storeBytes(of: value * (0.5 * gate * (1 + erf16(gate * 0.707_106_77))), toByteOffset: (output + i) * 4, as: SIMD16<Float>.self)
                            i += 16
                        }
                        for j in i..<inner {
                            let gate = source[input + inner + j]
                            o[output + j] = source[input + j] * (0.5 * gate * (1 + erff(gate * 0.707_106_77)))
                        }
                    }
                }
            }
        }
        return HostTensor(shape: [rows, inner], storage: out)
    }
}
