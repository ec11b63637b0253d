/// Where tensors live and ops run: the CPU (oneDNN) today, a GPU later. Models, layers and
/// pipelines reach every op through this protocol, so a new backend is a new target implementing
/// it, not an edit of the models. Every op checks its shapes and throws on a mismatch: input from
/// outside (a model file, an image) must never trap.
public protocol Backend: AnyObject, Sendable {
    /// For messages and benchmarks ("cpu (oneDNN 2.6.3)").
    var name: String { get }
    /// The element type each kind of op computes in on this backend.
    var precision: OpPrecisions { get }

    // MARK: Memory
    /// `host`'s values as a tensor of this backend (Float32).
    func tensor(_ host: HostTensor) -> Tensor
    /// The values of `x` as Float32 in ordinary memory; an error for another backend's tensor.
    func host(_ x: Tensor) throws -> HostTensor
    func cast(_ x: Tensor, to dtype: DType) throws -> Tensor
    /// Returns memory the backend holds free for reuse (scratch buffers, freed pages) to the
    /// system. Pipelines call it between phases (denoising → decoding) so that what one phase
    /// left free does not add to the next one's peak.
    func releaseUnusedMemory()
    /// The memory of the device this backend computes on, when it is not the host's (a GPU's):
    /// what memory-bound choices such as VAE tiling are sized by. nil on the CPU.
    var deviceMemoryBytes: UInt64? { get }

    // MARK: Weights, prepared once at load
    /// nn.Linear's weight [out, in] and bias [out], in the layout `linear` runs fastest on.
    func prepareLinear(weight: HostTensor, bias: HostTensor?) throws -> any PreparedLinear
    /// nn.Conv2d's weight [out, in, kh, kw] and bias [out], with its stride and padding (`padding`
    /// before each spatial axis, `paddingEnd` after it), in the layout `conv2d` runs fastest on.
    func prepareConvolution(weight: HostTensor, bias: HostTensor?, stride: Int, padding: Int, paddingEnd: Int) throws -> any PreparedConvolution

    // MARK: Layers' arithmetic
    /// x [..., in] · Wᵀ + b → [..., out].
    func linear(_ x: Tensor, _ weights: any PreparedLinear) throws -> Tensor
    /// x [N, in, H, W] → [N, out, H', W'], plus `residual` (shaped as the output) when given, in
    /// the same pass (a ResNet's skip connection: no separate add, no extra tensor alive).
    func conv2d(_ x: Tensor, _ weights: any PreparedConvolution, adding residual: Tensor?) throws -> Tensor
    /// Group normalisation of [N, C, …] (population variance, as torch), then ·scale[c] + shift[c],
    /// then `activation` if any, in the same pass (ResNets' norm → SiLU).
    /// `x` is consumed: a caller that hands it over (`consume`) and holds no other copy lets the
    /// backend normalise in place.
    func groupNorm(_ x: consuming Tensor, groups: Int, scale: Tensor, shift: Tensor, epsilon: Float, activation: Activation?) throws -> Tensor
    /// Layer normalisation over the last axis, then ·scale + shift.
    func layerNorm(_ x: Tensor, scale: Tensor, shift: Tensor, epsilon: Float) throws -> Tensor
    /// Multi-head scaled dot-product attention on token rows: query [tokens, heads·d], key and
    /// value [tokens', heads·d] → [tokens, heads·d]. `causal`: each query sees keys up to its own position.
    func attention(query: Tensor, key: Tensor, value: Tensor, heads: Int, causal: Bool) throws -> Tensor
    /// Attention over texts packed into one token matrix: rows split into runs of `lengths`, each
    /// run attending only to itself (no padding, no mask). For many short sequences.
    func packedAttention(query: Tensor, key: Tensor, value: Tensor, heads: Int, lengths: [Int]) throws -> Tensor
    func activation(_ x: Tensor, _ kind: Activation) throws -> Tensor
    /// A linear layer with 2·inner outputs, then GEGLU: [rows, in] → [rows, inner], the first half
    /// of the outputs × GELU(the second half) (diffusers' order). One op, so a backend need not
    /// keep the [rows, 2·inner] product (the largest tensor of a transformer block).
    func linearGEGLU(_ x: Tensor, _ weights: any PreparedLinear) throws -> Tensor
    /// Rows of `table` [vocabulary, width] for each id → [ids, width].
    func embedding(_ ids: [Int], table: Tensor) throws -> Tensor
    /// An embedding table as `embedding` reads it, in 16 bits when every value fits exactly (a
    /// table from an fp16 file: CLIP's is 152 MB in Float32, of which a prompt reads 77 rows).
    func embeddingTable(_ table: HostTensor) -> Tensor

    // MARK: Element-wise
    func add(_ a: Tensor, _ b: Tensor) throws -> Tensor
    /// a · b, with `b` broadcast over `a` where b's axes are 1 (same rank).
    func multiply(_ a: Tensor, _ b: Tensor) throws -> Tensor
    /// x [N, C, H, W] plus shift [C] or [N, C] on every value of channel c.
    func addPerChannel(_ x: Tensor, _ shift: Tensor) throws -> Tensor
    /// Σ xᵢ·wᵢ + constant, in Float32 in this order (schedulers' and guidance's arithmetic).
    func weightedSum(_ terms: [(Tensor, Float)], constant: Float) throws -> Tensor
    func clamp(_ x: Tensor, min: Float, max: Float) throws -> Tensor
    /// PReLU of [N, C, …]: x where positive, else slopes[c]·x (slopes [C], one per channel).
    func preLU(_ x: Tensor, slopes: Tensor) throws -> Tensor
    func exp(_ x: Tensor) throws -> Tensor
    /// Whether no value is NaN or infinite.
    func allFinite(_ x: Tensor) -> Bool

    // MARK: Shapes and resampling
    func concat(_ parts: [Tensor], axis: Int) throws -> Tensor
    func slice(_ x: Tensor, axis: Int, range: Range<Int>) throws -> Tensor
    /// Zeros around [N, C, H, W].
    func pad(_ x: Tensor, top: Int, left: Int, bottom: Int, right: Int) throws -> Tensor
    /// [rows, columns] → [columns, rows].
    func transpose(_ x: Tensor) throws -> Tensor
    /// torch's pixel_shuffle: [N, C·f², H, W] → [N, C, H·f, W·f], output (c, f·y + i, f·x + j)
    /// being input channel c·f² + i·f + j at (y, x). A copy, as super-resolution networks end.
    func pixelShuffle(_ x: Tensor, factor: Int) throws -> Tensor
    /// [N, C, H, W] to [N, C, height, width] with torch's F.interpolate rules (align_corners=False).
    func resize(_ x: Tensor, height: Int, width: Int, mode: ResizeMode) throws -> Tensor
    /// The k-diffusion UNet's fixed [1, 3, 3, 1] resamplers (diffusers' KDownsample2D / KUpsample2D).
    func firResample(_ x: Tensor, _ direction: FIRDirection) throws -> Tensor
}

public enum Activation: String, Sendable, CaseIterable {
    /// x · sigmoid(x).
    case silu
    /// The exact GELU, 0.5 x (1 + erf(x / √2)), as torch computes it by default.
    case gelu
    /// x · sigmoid(1.702 x), CLIP ViT-L's activation.
    case quickGELU
}

/// torch's interpolate modes; the antialiased ones are `antialias=True`.
public enum ResizeMode: String, Sendable, CaseIterable {
    case nearest, nearestExact = "nearest-exact", bilinear, bicubic
    case bilinearAntialiased = "bilinear-antialiased", bicubicAntialiased = "bicubic-antialiased"
}

public enum FIRDirection: Sendable { case down, up }

/// A linear layer's weights as a backend keeps them.
public protocol PreparedLinear: AnyObject, Sendable {
    var inputs: Int { get }
    var outputs: Int { get }
}

/// A convolution's weights and geometry as a backend keeps them.
public protocol PreparedConvolution: AnyObject, Sendable {
    var inputs: Int { get }
    var outputs: Int { get }
}

extension Backend {
    /// `values` with `shape` as a tensor of this backend.
    public func tensor(_ values: [Float], shape: [Int]) -> Tensor { tensor(HostTensor(shape: shape, storage: values)) }

    public func weightedSum(_ terms: [(Tensor, Float)]) throws -> Tensor { try weightedSum(terms, constant: 0) }

    public func conv2d(_ x: Tensor, _ weights: any PreparedConvolution) throws -> Tensor { try conv2d(x, weights, adding: nil) }

    public func groupNorm(_ x: consuming Tensor, groups: Int, scale: Tensor, shift: Tensor, epsilon: Float) throws -> Tensor {
        try groupNorm(consume x, groups: groups, scale: scale, shift: shift, epsilon: epsilon, activation: nil)
    }

    public var deviceMemoryBytes: UInt64? { nil }

    /// PReLU from the element-wise ops: max(x, 0) + slopes · min(x, 0), four passes (a backend
    /// with a fused kernel overrides it).
    public func preLU(_ x: Tensor, slopes: Tensor) throws -> Tensor {
        guard x.shape.count >= 2, slopes.count == x.shape[1] else { throw NeuralError.shapeMismatch("PReLU of \(x.shape) with \(slopes.count) slopes") }
        let perChannel = try slopes.reshaped([1, x.shape[1]] + Array(repeating: 1, count: x.shape.count - 2))
        let positive = try clamp(x, min: 0, max: .greatestFiniteMagnitude), negative = try clamp(x, min: -.greatestFiniteMagnitude, max: 0)
        return try add(positive, try multiply(negative, perChannel))
    }

    /// `x` as a tensor of this backend: itself when it is one already, else its values copied over
    /// (latents or an image handed from another backend).
    public func adopting(_ x: Tensor) throws -> Tensor {
        x.backend === self ? x : tensor(try x.host())
    }

    /// x·scale + offset.
    public func affine(_ x: Tensor, scale: Float, offset: Float) throws -> Tensor { try weightedSum([(x, scale)], constant: offset) }
}
