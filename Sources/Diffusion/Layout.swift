import Foundation
import Neural

/// [1, C, H, W] ⇄ [H·W, C]: the UNet's transformers and the VAE's attention work on pixels as tokens.
enum Layout {
    static func channelsLast(_ x: Tensor) -> Tensor {
        let (c, pixels) = (x.shape[1], x.shape[2] * x.shape[3])
        return Tensor(shape: [pixels, c], storage: transpose(x.storage, rows: c, columns: pixels))
    }

    static func channelsFirst(_ x: Tensor, height: Int, width: Int) -> Tensor {
        let (pixels, c) = (x.shape[0], x.shape[1])
        return Tensor(shape: [1, c, height, width], storage: transpose(x.storage, rows: pixels, columns: c))
    }

    /// A row-major [rows × columns] matrix as [columns × rows], in cache-friendly 32×32 tiles.
    private static func transpose(_ source: [Float], rows: Int, columns: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: source.count) { out, initialized in
            source.withUnsafeBufferPointer { input in
                for r0 in stride(from: 0, to: rows, by: 32) {
                    for c0 in stride(from: 0, to: columns, by: 32) {
                        for r in r0..<min(r0 + 32, rows) {
                            for c in c0..<min(c0 + 32, columns) { out[c * rows + r] = input[r * columns + c] }
                        }
                    }
                }
            }
            initialized = source.count
        }
    }
}
