/// diffusers' Transformer2DModel as SD 1.x/2.x and SDXL use it: GroupNorm, projection in (1×1 conv
/// or linear), `depth` BasicTransformerBlocks over the pixels as tokens (one on SD 1.x/2.x, up to
/// ten on SDXL), projection out, plus the input.
public struct Transformer2D: Sendable {
    enum Projection: Sendable {
        case convolution(Conv2d)
        case linear(Linear)
    }
    let norm: GroupNorm
    let projectIn: Projection, projectOut: Projection
    let blocks: [TransformerBlock]

    public init(_ w: WeightLoader, _ prefix: String, channels: Int, heads: Int, contextWidth: Int, groups: Int, linearProjection: Bool,
                depth: Int = 1) throws {
        norm = try GroupNorm(w, prefix + ".norm", channels: channels, groups: groups, epsilon: 1e-6)
        func projection(_ name: String) throws -> Projection {
            linearProjection ? .linear(try Linear(w, prefix + name, inputs: channels, outputs: channels))
                : .convolution(try Conv2d(w, prefix + name, inputs: channels, outputs: channels, kernel: 1))
        }
        projectIn = try projection(".proj_in")
        projectOut = try projection(".proj_out")
        blocks = try (0..<depth).map {
            try TransformerBlock(w, prefix + ".transformer_blocks.\($0)", width: channels, heads: heads, contextWidth: contextWidth)
        }
    }

    /// x [N, C, H, W]; sample n attends to `contexts[n]` [tokens, contextWidth] (one context for all when N is 1).
    public func callAsFunction(_ x: Tensor, contexts: [Tensor]) throws -> Tensor {
        let batch = x.shape[0]
        guard contexts.count == batch else { throw NeuralError.shapeMismatch("transformer: \(batch) samples, \(contexts.count) contexts") }
        if batch == 1 { return try forward(x, context: contexts[0]) }
        return try x.backend.concat(try (0..<batch).map { try forward(try x.item($0, keepingAxis: true), context: contexts[$0]) }, axis: 0)
    }

    func forward(_ x: Tensor, context: Tensor) throws -> Tensor {
        let backend = x.backend
        let (height, width) = (x.shape[2], x.shape[3])
        var h = try norm(x)
        switch projectIn {
        case .linear(let linear): h = try linear(try PixelTokens.tokens(h))
        case .convolution(let conv): h = try PixelTokens.tokens(try conv(h))
        }
        for block in blocks { h = try block(h, context: context) }
        switch projectOut {
        case .linear(let linear): return try backend.add(x, try PixelTokens.image(try linear(h), height: height, width: width))
        case .convolution(let conv): return try conv(try PixelTokens.image(h, height: height, width: width), adding: x)
        }
    }
}

/// diffusers' BasicTransformerBlock: self-attention, cross-attention, GEGLU feed-forward; pre-norm, residuals.
public struct TransformerBlock: Sendable {
    let norm1: LayerNorm, norm2: LayerNorm, norm3: LayerNorm
    let selfAttention: Attention, crossAttention: Attention
    let feedForwardIn: Linear, feedForwardOut: Linear

    public init(_ w: WeightLoader, _ prefix: String, width: Int, heads: Int, contextWidth: Int) throws {
        norm1 = try LayerNorm(w, prefix + ".norm1", width: width)
        norm2 = try LayerNorm(w, prefix + ".norm2", width: width)
        norm3 = try LayerNorm(w, prefix + ".norm3", width: width)
        selfAttention = try Attention(w, prefix + ".attn1", width: width, heads: heads, projectionBias: false)
        crossAttention = try Attention(w, prefix + ".attn2", width: width, contextWidth: contextWidth, heads: heads, projectionBias: false)
        feedForwardIn = try Linear(w, prefix + ".ff.net.0.proj", inputs: width, outputs: 8 * width)
        feedForwardOut = try Linear(w, prefix + ".ff.net.2", inputs: 4 * width, outputs: width)
    }

    /// x [tokens, width], context [tokens', contextWidth].
    public func callAsFunction(_ x: Tensor, context: Tensor) throws -> Tensor {
        let backend = x.backend
        var h = try backend.add(x, try selfAttention(try norm1(x)))
        h = try backend.add(h, try crossAttention(try norm2(h), context: context))
        return try backend.add(h, try feedForwardOut(try backend.linearGEGLU(try norm3(h), feedForwardIn.weights)))
    }
}

/// One image [1, C, H, W] as H·W tokens [H·W, C] and back: attention works on pixels as tokens.
public enum PixelTokens {
    public static func tokens(_ x: Tensor) throws -> Tensor {
        guard x.shape.count == 4, x.shape[0] == 1 else { throw NeuralError.shapeMismatch("pixels as tokens: \(x.shape), expected [1, C, H, W]") }
        return try x.backend.transpose(try x.reshaped([x.shape[1], x.shape[2] * x.shape[3]]))
    }

    public static func image(_ x: Tensor, height: Int, width: Int) throws -> Tensor {
        guard x.shape.count == 2, x.shape[0] == height * width else {
            throw NeuralError.shapeMismatch("tokens \(x.shape) as a \(height)x\(width) image")
        }
        return try x.backend.transpose(x).reshaped([1, x.shape[1], height, width])
    }
}
