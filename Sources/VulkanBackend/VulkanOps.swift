import Neural

/// Element-wise ops, shapes and resampling.
extension VulkanBackend {
    // MARK: Element-wise

    func unary(_ x: Tensor, op: UInt32, _ a: Float = 0, _ b: Float = 0) throws -> Tensor {
        let (out, buffer) = try output(x.shape)
        try run(.unary, [try gpu(x), buffer], [UInt32(x.count), op, a.word, b.word], groups: elementGroups(x.count))
        return out
    }

    public func activation(_ x: Tensor, _ kind: Activation) throws -> Tensor {
        try unary(x, op: kind == .silu ? 0 : kind == .gelu ? 1 : 2)
    }

    public func clamp(_ x: Tensor, min: Float, max: Float) throws -> Tensor { try unary(x, op: 4, min, max) }

    public func exp(_ x: Tensor) throws -> Tensor { try unary(x, op: 3) }

    /// out = α·x ⊕ β·y + γ with y read through `strides` over out's 4-D shape `dims` (x and out dense).
    func binary(_ x: VulkanBuffer, _ y: VulkanBuffer, into out: VulkanBuffer, count: Int, product: Bool, alpha: Float = 1, beta: Float = 1,
                gamma: Float = 0, dims: [Int], strides: [Int]) throws {
        let words = [UInt32(count), product ? 1 : 0, alpha.word, beta.word, gamma.word] + dims.dropFirst().map(UInt32.init) + strides.map(UInt32.init)
        try run(.binary, [x, y, out], words, groups: elementGroups(count))
    }

    /// `a` and `b` (same rank, b's axes equal to a's or 1) as 4 axes each: neighbouring axes that b
    /// either keeps or broadcasts alike merged into one, leading 1s added; nil when more than 4 remain.
    func broadcastAxes(_ a: [Int], _ b: [Int]) -> (a: [Int], b: [Int])? {
        var merged: [(a: Int, b: Int)] = []
        for (x, y) in zip(a, b) where x != 1 {
            if let last = merged.last, (last.b == 1) == (y == 1) { merged[merged.count - 1] = (last.a * x, last.b * y) } else { merged.append((x, y)) }
        }
        guard merged.count <= 4 else { return nil }
        let padding = Array(repeating: 1, count: 4 - merged.count)
        return (padding + merged.map(\.a), padding + merged.map(\.b))
    }

    /// Dense strides of a 4-D shape.
    func denseStrides(_ dims: [Int]) -> [Int] { [dims[1] * dims[2] * dims[3], dims[2] * dims[3], dims[3], 1] }

    public func add(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        guard a.shape == b.shape else { throw NeuralError.shapeMismatch("add \(a.shape) and \(b.shape)") }
        let (out, buffer) = try output(a.shape)
        let dims = [1, 1, 1, max(a.count, 1)]
        try binary(try gpu(a), try gpu(b), into: buffer, count: a.count, product: false, dims: dims, strides: denseStrides(dims))
        return out
    }

    public func multiply(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        guard a.shape.count == b.shape.count, zip(a.shape, b.shape).allSatisfy({ $1 == $0 || $1 == 1 }) else {
            throw NeuralError.shapeMismatch("multiply \(a.shape) by \(b.shape)")
        }
        guard let (dims, bDims) = broadcastAxes(a.shape, b.shape) else { throw NeuralError.shapeMismatch("multiply \(a.shape) by \(b.shape): more than 4 axes after merging") }
        let dense = denseStrides(bDims)
        let strides = (0..<4).map { bDims[$0] == 1 ? 0 : dense[$0] }
        let (out, buffer) = try output(a.shape)
        try binary(try gpu(a), try gpu(b), into: buffer, count: a.count, product: true, dims: dims, strides: strides)
        return out
    }

    public func addPerChannel(_ x: Tensor, _ shift: Tensor) throws -> Tensor {
        guard x.shape.count == 4, shift.count == x.shape[1] || shift.count == x.shape[0] * x.shape[1] else {
            throw NeuralError.shapeMismatch("per-channel shift \(shift.shape) for \(x.shape)")
        }
        let (out, buffer) = try output(x.shape)
        let strides = [shift.count == x.shape[1] ? 0 : x.shape[1], 1, 0, 0]
        try binary(try gpu(x), try gpu(shift), into: buffer, count: x.count, product: false, dims: x.shape, strides: strides)
        return out
    }

    public func weightedSum(_ terms: [(Tensor, Float)], constant: Float) throws -> Tensor {
        guard let first = terms.first else { throw NeuralError.shapeMismatch("a weighted sum of nothing") }
        guard terms.allSatisfy({ $0.0.shape == first.0.shape }) else { throw NeuralError.shapeMismatch("weighted sum of \(terms.map(\.0.shape))") }
        // x₀·w₀, then each term added in order, then the constant: the CPU's order of operations.
        let out = try unary(first.0, op: 5, first.1, 0)
        let buffer = try gpu(out), dims = [1, 1, 1, max(out.count, 1)]
        for (term, weight) in terms.dropFirst() {
            try binary(buffer, try gpu(term), into: buffer, count: out.count, product: false, beta: weight, dims: dims, strides: denseStrides(dims))
        }
        if constant != 0 {
            try run(.unary, [buffer, buffer], [UInt32(out.count), 5, Float(1).word, constant.word], groups: elementGroups(out.count))
        }
        return out
    }

    // MARK: Shapes

    /// The strided copy kernel over `dims` (4 axes).
    func copy(_ source: VulkanBuffer, into target: VulkanBuffer, dims: [Int], from: (offset: Int, strides: [Int]), to: (offset: Int, strides: [Int])) throws {
        let count = dims.reduce(1, *)
        let words = [UInt32(count), 0, 0] + dims.dropFirst().map(UInt32.init) + [UInt32(from.offset)] + from.strides.map(UInt32.init)
            + [UInt32(to.offset)] + to.strides.map(UInt32.init)
        try run(.copy, [source, target], words, groups: elementGroups(count))
    }

    func copyDense(_ source: VulkanBuffer, into target: VulkanBuffer, count: Int) throws {
        try copy(source, into: target, dims: [1, 1, 1, count], from: (0, [0, 0, 0, 1]), to: (0, [0, 0, 0, 1]))
    }

    func fill(_ target: VulkanBuffer, count: Int, with value: Float) throws {
        let words = [UInt32(count), 1, value.word, 1, 1, UInt32(count), 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]
        try run(.copy, [target, target], words, groups: elementGroups(count))
    }

    public func concat(_ parts: [Tensor], axis: Int) throws -> Tensor {
        func fits(_ part: Tensor, _ first: Tensor) -> Bool {
            part.shape.count == first.shape.count && (0..<first.shape.count).allSatisfy { $0 == axis || part.shape[$0] == first.shape[$0] }
        }
        guard let first = parts.first, axis >= 0, axis < first.shape.count, parts.allSatisfy({ fits($0, first) }) else {
            throw NeuralError.shapeMismatch("concat \(parts.map(\.shape)) on axis \(axis)")
        }
        var shape = first.shape
        shape[axis] = parts.reduce(0) { $0 + $1.shape[axis] }
        let outer = shape[..<axis].reduce(1, *), inner = shape[(axis + 1)...].reduce(1, *)
        let (out, buffer) = try output(shape)
        var offset = 0
        for part in parts where part.count > 0 {
            let run = part.shape[axis] * inner
            try copy(try gpu(part), into: buffer, dims: [outer, 1, 1, run], from: (0, [run, 0, 0, 1]), to: (offset * inner, [shape[axis] * inner, 0, 0, 1]))
            offset += part.shape[axis]
        }
        return out
    }

    public func slice(_ x: Tensor, axis: Int, range: Range<Int>) throws -> Tensor {
        guard axis >= 0, axis < x.shape.count, range.lowerBound >= 0, range.upperBound <= x.shape[axis], !range.isEmpty else {
            throw NeuralError.shapeMismatch("slice \(range) on axis \(axis) of \(x.shape)")
        }
        var shape = x.shape
        shape[axis] = range.count
        let outer = shape[..<axis].reduce(1, *), inner = shape[(axis + 1)...].reduce(1, *)
        let (out, buffer) = try output(shape)
        try copy(try gpu(x), into: buffer, dims: [outer, 1, 1, range.count * inner], from: (range.lowerBound * inner, [x.shape[axis] * inner, 0, 0, 1]),
                 to: (0, [range.count * inner, 0, 0, 1]))
        return out
    }

    /// f² strided copies, one per offset (i, j) in each f×f cell of the output.
    public func pixelShuffle(_ x: Tensor, factor f: Int) throws -> Tensor {
        guard f >= 1, x.shape.count == 4, x.shape[1] % (f * f) == 0 else { throw NeuralError.shapeMismatch("pixel shuffle by \(f) of \(x.shape)") }
        let (planes, height, width) = (x.shape[0] * x.shape[1] / (f * f), x.shape[2], x.shape[3])
        let (out, buffer) = try output([x.shape[0], x.shape[1] / (f * f), height * f, width * f])
        let source = try gpu(x)
        for i in 0..<f {
            for j in 0..<f {
                try copy(source, into: buffer, dims: [planes, 1, height, width], from: ((i * f + j) * height * width, [f * f * height * width, 0, width, 1]),
                         to: (i * width * f + j, [height * f * width * f, 0, f * width * f, f]))
            }
        }
        return out
    }

    public func pad(_ x: Tensor, top: Int, left: Int, bottom: Int, right: Int) throws -> Tensor {
        guard x.shape.count == 4, min(top, left, bottom, right) >= 0 else { throw NeuralError.shapeMismatch("pad \(x.shape)") }
        let (planes, height, width) = (x.shape[0] * x.shape[1], x.shape[2], x.shape[3])
        let (outH, outW) = (height + top + bottom, width + left + right)
        let (out, buffer) = try output([x.shape[0], x.shape[1], outH, outW])
        try fill(buffer, count: out.count, with: 0)
        try copy(try gpu(x), into: buffer, dims: [planes, 1, height, width], from: (0, [height * width, 0, width, 1]),
                 to: (top * outW + left, [outH * outW, 0, outW, 1]))
        return out
    }

    public func transpose(_ x: Tensor) throws -> Tensor {
        guard x.shape.count == 2 else { throw NeuralError.shapeMismatch("transpose of \(x.shape)") }
        let (rows, columns) = (x.shape[0], x.shape[1])
        let (out, buffer) = try output([columns, rows])
        try copy(try gpu(x), into: buffer, dims: [1, 1, columns, rows], from: (0, [0, 0, 1, columns]), to: (0, [0, 0, rows, 1]))
        return out
    }

    // MARK: Resampling

    public func resize(_ x: Tensor, height: Int, width: Int, mode: ResizeMode) throws -> Tensor {
        guard x.shape.count == 4, x.count > 0, height > 0, width > 0 else { throw NeuralError.shapeMismatch("interpolate: input \(x.shape) to \(height)x\(width)") }
        return try resample(x, rows: x.shape[2] == height ? nil : .interpolation(input: x.shape[2], output: height, mode),
                            columns: x.shape[3] == width ? nil : .interpolation(input: x.shape[3], output: width, mode))
    }

    public func firResample(_ x: Tensor, _ direction: FIRDirection) throws -> Tensor {
        try ResampleTaps.checkFIR(x.shape, direction)
        return try resample(x, rows: .fir(input: x.shape[2], direction), columns: .fir(input: x.shape[3], direction))
    }

    /// Two passes of the resample kernel, along the width, then the height (nil: that side stays).
    func resample(_ x: Tensor, rows: TapGeometry?, columns: TapGeometry?) throws -> Tensor {
        guard rows != nil || columns != nil else { return try copied(x) }
        let planes = x.shape[0] * x.shape[1]
        var current = x
        for (axis, geometry) in [(0, columns), (1, rows)] {
            guard let geometry else { continue }
            let taps = try self.taps(geometry)
            let (inH, inW) = (current.shape[2], current.shape[3])
            let (outH, outW) = axis == 0 ? (inH, taps.outputCount) : (taps.outputCount, inW)
            let (out, buffer) = try output([x.shape[0], x.shape[1], outH, outW])
            let count = planes * outH * outW
            try run(.resample, [try gpu(current), taps.buffer, buffer], [count, axis, inH, inW, outH, outW].map(UInt32.init), groups: elementGroups(count))
            current = out
        }
        return current
    }

    /// A dense copy of `x` (so a resize to the same size still returns a new tensor).
    func copied(_ x: Tensor) throws -> Tensor {
        let (out, buffer) = try output(x.shape)
        try copyDense(try gpu(x), into: buffer, count: x.count)
        return out
    }

    // MARK: Host memory

    /// Token tables stay in host memory (a prompt reads 77 of CLIP's 49408 rows); the rows are uploaded.
    public func embeddingTable(_ table: HostTensor) -> Tensor { onHost(table) }

    public func embedding(_ ids: [Int], table: Tensor) throws -> Tensor {
        try upload(try host(table).embedding(ids))
    }

    public func allFinite(_ x: Tensor) -> Bool {
        guard let values = try? host(x) else { return false }
        return values.storage.allSatisfy(\.isFinite)
    }
}
