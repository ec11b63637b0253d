import Neural

/// A linear layer's weights [out, in] and bias on the device.
final class VulkanLinear: PreparedLinear, @unchecked Sendable {
    let weight: VulkanBuffer, bias: VulkanBuffer?
    let inputs: Int, outputs: Int
    /// The weight holds fp16 values (read by gemm_half).
    let half: Bool

    init(weight: VulkanBuffer, half: Bool, bias: VulkanBuffer?, inputs: Int, outputs: Int) {
        (self.weight, self.half, self.bias, self.inputs, self.outputs) = (weight, half, bias, inputs, outputs)
    }
}

/// A convolution's weights [out, in, kh, kw] (OIHW, as the implicit-GEMM kernel reads them), bias and geometry.
final class VulkanConvolution: PreparedConvolution, @unchecked Sendable {
    let weight: VulkanBuffer, bias: VulkanBuffer?
    /// The weight holds fp16 values (read by conv_half).
    let half: Bool
    let inputs: Int, outputs: Int, kernelHeight: Int, kernelWidth: Int
    let stride: Int, padding: Int, paddingEnd: Int

    init(weight: VulkanBuffer, half: Bool, bias: VulkanBuffer?, shape: [Int], stride: Int, padding: Int, paddingEnd: Int) {
        (self.weight, self.half, self.bias) = (weight, half, bias)
        (outputs, inputs, kernelHeight, kernelWidth) = (shape[0], shape[1], shape[2], shape[3])
        (self.stride, self.padding, self.paddingEnd) = (stride, padding, paddingEnd)
    }
}

extension VulkanBackend {
    public func prepareLinear(weight: HostTensor, bias: HostTensor?) throws -> any PreparedLinear {
        guard weight.shape.count == 2, weight.shape.allSatisfy({ $0 > 0 }), bias.map({ $0.count == weight.shape[0] }) ?? true else {
            throw NeuralError.shapeMismatch("linear weight \(weight.shape), bias \(bias?.shape ?? [])")
        }
        let (stored, half) = try weights(weight)
        return VulkanLinear(weight: stored, half: half, bias: try bias.map { try gpu(try upload($0)) }, inputs: weight.shape[1], outputs: weight.shape[0])
    }

    public func prepareConvolution(weight: HostTensor, bias: HostTensor?, stride: Int, padding: Int, paddingEnd: Int) throws -> any PreparedConvolution {
        guard weight.shape.count == 4, weight.shape.allSatisfy({ $0 > 0 }), stride >= 1, padding >= 0, paddingEnd >= 0,
              bias.map({ $0.count == weight.shape[0] }) ?? true else {
            throw NeuralError.shapeMismatch("convolution weight \(weight.shape), bias \(bias?.shape ?? []), stride \(stride), padding \(padding)/\(paddingEnd)")
        }
        let (stored, half) = try weights(weight)
        return VulkanConvolution(weight: stored, half: half, bias: try bias.map { try gpu(try upload($0)) }, shape: weight.shape,
                                 stride: stride, padding: padding, paddingEnd: paddingEnd)
    }

    /// Weights on the device: in 16 bits when this backend keeps them so and every value is exact.
    private func weights(_ values: HostTensor) throws -> (buffer: VulkanBuffer, half: Bool) {
        if keepsHalfWeights, let half = try uploadHalf(values) { return (half, true) }
        return (try gpu(try upload(values)), false)
    }

    /// C = A·Bᵀ (or A·B with `bTransposed`) + bias, `batch` times with per-entry offsets: the gemm kernel's words.
    struct Product {
        var m: Int, n: Int, k: Int
        var lda: Int, ldb: Int, ldc: Int
        var aOffset = 0, bOffset = 0, cOffset = 0
        var aBatch = 0, bBatch = 0, cBatch = 0
        var batch = 1
        var bTransposed = false, accumulate = false
    }

    func gemm(_ a: VulkanBuffer, _ b: VulkanBuffer, halfB: Bool = false, bias: VulkanBuffer?, into c: VulkanBuffer, _ product: Product) throws {
        let flags = UInt32((bias != nil ? 1 : 0) | (product.bTransposed ? 2 : 0) | (product.accumulate ? 4 : 0))
        let words = [product.m, product.n, product.k, product.lda, product.ldb, product.ldc, product.aOffset, product.bOffset, product.cOffset,
                     product.aBatch, product.bBatch, product.cBatch].map(UInt32.init) + [flags]
        try run(halfB ? .gemmHalf : .gemm, [a, b, bias ?? b, c], words, groups: ((product.n + 63) / 64, (product.m + 63) / 64, product.batch))
    }

    public func linear(_ x: Tensor, _ weights: any PreparedLinear) throws -> Tensor {
        guard let weights = weights as? VulkanLinear else { throw NeuralError.shapeMismatch("linear weights prepared by another backend") }
        guard let width = x.shape.last, width == weights.inputs, x.count > 0 else {
            throw NeuralError.shapeMismatch("linear: input \(x.shape) for weights [\(weights.outputs), \(weights.inputs)]")
        }
        let rows = x.count / width
        let (out, buffer) = try output(Array(x.shape.dropLast()) + [weights.outputs])
        try gemm(try gpu(x), weights.weight, halfB: weights.half, bias: weights.bias, into: buffer,
                 Product(m: rows, n: weights.outputs, k: width, lda: width, ldb: width, ldc: weights.outputs))
        return out
    }

    public func linearGEGLU(_ x: Tensor, _ weights: any PreparedLinear) throws -> Tensor {
        guard weights.outputs % 2 == 0, x.shape.count == 2 else { throw NeuralError.shapeMismatch("linear + GEGLU: input \(x.shape), \(weights.outputs) outputs") }
        let product = try linear(x, weights)
        let inner = weights.outputs / 2
        let (out, buffer) = try output([x.shape[0], inner])
        try run(.geglu, [try gpu(product), buffer], [UInt32(out.count), UInt32(inner)], groups: elementGroups(out.count))
        return out
    }

    public func conv2d(_ x: Tensor, _ weights: any PreparedConvolution, adding residual: Tensor?) throws -> Tensor {
        guard let w = weights as? VulkanConvolution else { throw NeuralError.shapeMismatch("convolution weights prepared by another backend") }
        guard x.shape.count == 4, x.shape[1] == w.inputs else {
            throw NeuralError.shapeMismatch("conv2d: input \(x.shape) for weights [\(w.outputs), \(w.inputs), \(w.kernelHeight), \(w.kernelWidth)]")
        }
        let (batch, height, width) = (x.shape[0], x.shape[2], x.shape[3])
        let outH = (height + w.padding + w.paddingEnd - w.kernelHeight) / w.stride + 1, outW = (width + w.padding + w.paddingEnd - w.kernelWidth) / w.stride + 1
        guard height + w.padding + w.paddingEnd >= w.kernelHeight, width + w.padding + w.paddingEnd >= w.kernelWidth, outH > 0, outW > 0 else {
            throw NeuralError.shapeMismatch("conv2d: kernel \(w.kernelHeight)x\(w.kernelWidth) larger than the padded input \(height)x\(width)")
        }
        let shape = [batch, w.outputs, outH, outW]
        if let residual, residual.shape != shape { throw NeuralError.shapeMismatch("conv2d: residual \(residual.shape) for an output \(shape)") }
        let (out, buffer) = try output(shape)
        if let residual { try copyDense(try gpu(residual), into: buffer, count: out.count) }
        let k = w.inputs * w.kernelHeight * w.kernelWidth
        let flags = UInt32((w.bias != nil ? 1 : 0) | (residual != nil ? 4 : 0))
        let words = [batch * outH * outW, w.outputs, k, 0, k, 0, 0, 0, 0, 0, 0, 0].map(UInt32.init) + [flags]
            + [w.inputs, height, width, outH, outW, w.kernelHeight, w.kernelWidth, w.stride, w.padding, w.padding].map(UInt32.init)
        try run(w.half ? .convHalf : .conv, [try gpu(x), w.weight, w.bias ?? w.weight, buffer], words, groups: ((w.outputs + 63) / 64, (batch * outH * outW + 63) / 64, 1))
        return out
    }

    public func groupNorm(_ x: consuming Tensor, groups: Int, scale: Tensor, shift: Tensor, epsilon: Float, activation: Activation?) throws -> Tensor {
        let input = x
        guard groups >= 1, input.shape.count >= 2, input.shape[1] % groups == 0, scale.count == input.shape[1], shift.count == input.shape[1] else {
            throw NeuralError.shapeMismatch("group norm of \(input.shape) in \(groups) groups, scale \(scale.shape)")
        }
        let spatial = input.shape.dropFirst(2).reduce(1, *)
        let (out, buffer) = try output(input.shape)
        let words = [UInt32((input.shape[1] / groups) * spatial), activation == .silu ? 1 : 0, epsilon.word, UInt32(groups), UInt32(spatial)]
        try run(.normalize, [try gpu(input), try gpu(scale), try gpu(shift), buffer], words, groups: unitGroups(input.shape[0] * groups))
        switch activation {
        case nil, .silu?: return out
        case let other?: return try self.activation(out, other)
        }
    }

    public func layerNorm(_ x: Tensor, scale: Tensor, shift: Tensor, epsilon: Float) throws -> Tensor {
        guard let width = x.shape.last, width > 0, scale.count == width, shift.count == width else {
            throw NeuralError.shapeMismatch("layer norm of \(x.shape) with scale \(scale.shape)")
        }
        let (out, buffer) = try output(x.shape)
        try run(.normalize, [try gpu(x), try gpu(scale), try gpu(shift), buffer], [UInt32(width), 0, epsilon.word, 0, 1], groups: unitGroups(x.count / width))
        return out
    }

    public func attention(query: Tensor, key: Tensor, value: Tensor, heads: Int, causal: Bool) throws -> Tensor {
        try checkAttention(query, key, value, heads: heads)
        let (out, buffer) = try output(query.shape)
        try attend(try gpu(query), try gpu(key), try gpu(value), into: buffer, queries: 0..<query.shape[0], keys: 0..<key.shape[0],
                   width: query.shape[1], heads: heads, causal: causal)
        return out
    }

    public func packedAttention(query: Tensor, key: Tensor, value: Tensor, heads: Int, lengths: [Int]) throws -> Tensor {
        try checkAttention(query, key, value, heads: heads)
        guard lengths.allSatisfy({ $0 > 0 }), lengths.reduce(0, +) == query.shape[0], key.shape[0] == query.shape[0] else {
            throw NeuralError.shapeMismatch("packed attention: runs \(lengths) for \(query.shape[0]) tokens")
        }
        let (out, buffer) = try output(query.shape)
        let (q, k, v) = (try gpu(query), try gpu(key), try gpu(value))
        var start = 0
        for length in lengths {
            try attend(q, k, v, into: buffer, queries: start..<(start + length), keys: start..<(start + length), width: query.shape[1], heads: heads, causal: false)
            start += length
        }
        return out
    }

    private func checkAttention(_ q: Tensor, _ k: Tensor, _ v: Tensor, heads: Int) throws {
        guard heads >= 1, q.shape.count == 2, k.shape.count == 2, v.shape == k.shape, q.shape[1] == k.shape[1], q.shape[1] % heads == 0,
              q.count > 0, k.count > 0 else {
            throw NeuralError.shapeMismatch("attention: q \(q.shape), k \(k.shape), v \(v.shape), \(heads) heads")
        }
    }

    /// Heads up to this wide run in the flash-attention kernel (its shared-memory tiles are sized for it).
    static let flashHeadWidth = 128

    /// softmax(q·kᵀ/√d)·v for every head: streamed in the flash kernel (heads up to 128 wide: every
    /// head of SDXL and CLIP, SD 1.5's but the deepest), else two GEMMs around the softmax kernel.
    private func attend(_ q: VulkanBuffer, _ k: VulkanBuffer, _ v: VulkanBuffer, into out: VulkanBuffer, queries: Range<Int>, keys: Range<Int>,
                        width: Int, heads: Int, causal: Bool) throws {
        let d = width / heads
        if d <= Self.flashHeadWidth {
            let words = [queries.count, keys.count, width, d, queries.lowerBound, keys.lowerBound, causal ? 1 : 0].map(UInt32.init) + [(1 / Float(d).squareRoot()).word]
            try run(.attention, [q, k, v, out], words, groups: ((queries.count + 15) / 16, heads, 1))
            return
        }
        try attendThroughScores(q, k, v, into: out, queries: queries, keys: keys, width: width, heads: heads, causal: causal)
    }

    /// The query rows in chunks so the scores stay under 256 MB: q·kᵀ, softmax, ·v.
    private func attendThroughScores(_ q: VulkanBuffer, _ k: VulkanBuffer, _ v: VulkanBuffer, into out: VulkanBuffer, queries: Range<Int>, keys: Range<Int>,
                                     width: Int, heads: Int, causal: Bool) throws {
        let d = width / heads, keyCount = keys.count
        let chunk = max(1, min(queries.count, (64 << 20) / max(1, heads * keyCount)))
        let scores = try VulkanBuffer(self, count: heads * chunk * keyCount)
        var first = queries.lowerBound
        while first < queries.upperBound {
            let rows = min(chunk, queries.upperBound - first)
            try gemm(q, k, bias: nil, into: scores, Product(m: rows, n: keyCount, k: d, lda: width, ldb: width, ldc: keyCount,
                                                            aOffset: first * width, bOffset: keys.lowerBound * width, aBatch: d, bBatch: d,
                                                            cBatch: rows * keyCount, batch: heads))
            try run(.softmax, [scores], [UInt32(keyCount), causal ? 1 : 0, (1 / Float(d).squareRoot()).word, UInt32(rows),
                                         UInt32(first - queries.lowerBound)], groups: unitGroups(heads * rows))
            try gemm(scores, v, bias: nil, into: out, Product(m: rows, n: d, k: keyCount, lda: keyCount, ldb: width, ldc: width,
                                                              bOffset: keys.lowerBound * width, cOffset: first * width, aBatch: rows * keyCount,
                                                              bBatch: d, cBatch: d, batch: heads, bTransposed: true))
            first += rows
        }
    }
}
