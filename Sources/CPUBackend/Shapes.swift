import Neural

/// Copies that change a tensor's shape: slices, padding, transposition.
extension Ops {
    static func slice(_ x: HostTensor, axis: Int, range: Range<Int>) throws -> HostTensor {
        guard axis >= 0, axis < x.shape.count, range.lowerBound >= 0, range.upperBound <= x.shape[axis], !range.isEmpty else {
            throw NeuralError.shapeMismatch("slice \(range) on axis \(axis) of \(x.shape)")
        }
        let outer = x.shape[..<axis].reduce(1, *), inner = x.shape[(axis + 1)...].reduce(1, *)
        var storage: [Float] = []
        storage.reserveCapacity(outer * range.count * inner)
        for o in 0..<outer {
            let base = (o * x.shape[axis] + range.lowerBound) * inner
            storage.append(contentsOf: x.storage[base..<(base + range.count * inner)])
        }
        var shape = x.shape
        shape[axis] = range.count
        return HostTensor(shape: shape, storage: storage)
    }

    static func pad(_ x: HostTensor, top: Int, left: Int, bottom: Int, right: Int) throws -> HostTensor {
        guard x.shape.count == 4, min(top, left, bottom, right) >= 0 else { throw NeuralError.shapeMismatch("pad \(x.shape)") }
        let (planes, height, width) = (x.shape[0] * x.shape[1], x.shape[2], x.shape[3])
        let (outHeight, outWidth) = (height + top + bottom, width + left + right)
        var out = [Float](repeating: 0, count: planes * outHeight * outWidth)
        for plane in 0..<planes {
            for y in 0..<height {
                let source = (plane * height + y) * width, target = (plane * outHeight + y + top) * outWidth + left
                out.replaceSubrange(target..<(target + width), with: x.storage[source..<(source + width)])
            }
        }
        return HostTensor(shape: [x.shape[0], x.shape[1], outHeight, outWidth], storage: out)
    }

    static func pixelShuffle(_ x: HostTensor, factor f: Int) throws -> HostTensor {
        guard f >= 1, x.shape.count == 4, x.shape[1] % (f * f) == 0 else { throw NeuralError.shapeMismatch("pixel shuffle by \(f) of \(x.shape)") }
        let (planes, height, width) = (x.shape[0] * x.shape[1] / (f * f), x.shape[2], x.shape[3])
        let (outHeight, outWidth) = (height * f, width * f)
        let storage = [Float](unsafeUninitializedCapacity: x.count) { out, initialized in
            x.storage.withUnsafeBufferPointer { input in
                for plane in 0..<planes {
                    for y in 0..<height {
                        for i in 0..<f {
                            // One output row: f source rows (channels c·f² + i·f + j) interleaved.
                            let row = out.baseAddress! + (plane * outHeight + y * f + i) * outWidth
                            for j in 0..<f {
                                let source = input.baseAddress! + ((plane * f * f + i * f + j) * height + y) * width
                                for column in 0..<width { row[column * f + j] = source[column] }
                            }
                        }
                    }
                }
            }
            initialized = x.count
        }
        return HostTensor(shape: [x.shape[0], x.shape[1] / (f * f), outHeight, outWidth], storage: storage)
    }

    /// A row-major [rows × columns] matrix as [columns × rows], in cache-friendly 32×32 tiles.
    static func transpose(_ x: HostTensor) -> HostTensor {
        let (rows, columns) = (x.shape[0], x.shape[1])
        let storage = [Float](unsafeUninitializedCapacity: x.count) { out, initialized in
            x.storage.withUnsafeBufferPointer { input in
                for r0 in stride(from: 0, to: rows, by: 32) {
                    for c0 in stride(from: 0, to: columns, by: 32) {
                        for r in r0..<min(r0 + 32, rows) {
                            for c in c0..<min(c0 + 32, columns) { out[c * rows + r] = input[r * columns + c] }
                        }
                    }
                }
            }
            initialized = x.count
        }
        return HostTensor(shape: [columns, rows], storage: storage)
    }
}
