import Foundation

extension Ops {
    /// Adds `shift[c]` to every value of channel c in [N, C, H, W] (a ResNet's time embedding).
    public static func addPerChannel(_ x: inout Tensor, _ shift: [Float]) {
        let channels = x.shape[1], plane = x.shape[2] * x.shape[3], batch = x.shape[0]
        precondition(shift.count == channels, "addPerChannel: \(shift.count) shifts for \(channels) channels")
        x.storage.withUnsafeMutableBufferPointer { o in
            shift.withUnsafeBufferPointer { s in
                nonisolated(unsafe) let o = o, s = s
                Parallel.forRanges(batch * channels, minimumChunk: 16) { range in
                    for row in range {
                        let value = s[row % channels], base = row * plane
                        for i in 0..<plane { o[base + i] += value }
                    }
                }
            }
        }
    }

    /// GEGLU: [rows, 2·inner] → [rows, inner], first half × GELU(second half) (diffusers' order).
    public static func geglu(_ x: Tensor) -> Tensor {
        let rows = x.shape[0], inner = x.shape[1] / 2
        var out = [Float](repeating: 0, count: rows * inner)
        out.withUnsafeMutableBufferPointer { o in
            x.storage.withUnsafeBufferPointer { source in
                nonisolated(unsafe) let o = o, source = source
                Parallel.forRanges(rows, minimumChunk: 8) { range in
                    for r in range {
                        let input = r * 2 * inner, output = r * inner
                        for i in 0..<inner {
                            let gate = source[input + inner + i]
                            o[output + i] = source[input + i] * (0.5 * gate * (1 + erff(gate * 0.707_106_77)))
                        }
                    }
                }
            }
        }
        return Tensor(shape: [rows, inner], storage: out)
    }
}
