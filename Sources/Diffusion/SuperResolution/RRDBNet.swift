import Neural

/// ESRGAN's generator (BasicSR's RRDBNet): a first convolution, residual-in-residual dense
/// blocks, a body convolution added back, ×2 nearest enlargements each with a convolution and
/// LeakyReLU(0.2), then the HR and last convolutions. Real-ESRGAN's x2 and x1 models pixel-unshuffle
/// the image first (the same network then enlarges 4×).
struct RRDBNet: Sendable {
    let shape: UpscalerArchitecture.RRDBShape
    let first: Conv2d
    let blocks: [[DenseBlock]]
    let body: Conv2d
    let enlargements: [Conv2d]
    let highResolution: Conv2d, last: Conv2d
    let unshuffle: PreparedPixelUnshuffle?
    let backend: any Backend
    /// LeakyReLU's 0.2 for each width it meets (the growth and the features), for the fused PReLU op.
    let leak: [Int: Tensor]

    /// ResidualDenseBlock: five convolutions, each reading the input and every earlier output.
    struct DenseBlock: Sendable {
        let convolutions: [Conv2d]
    }

    init(_ w: WeightLoader, _ s: UpscalerArchitecture.RRDBShape) throws {
        shape = s
        backend = w.backend
        let (f, g) = (s.features, s.growth)
        func conv(_ name: String, _ inputs: Int, _ outputs: Int) throws -> Conv2d {
            try Conv2d(w, name, inputs: inputs, outputs: outputs, kernel: 3)
        }
        // Layer names in either layout.
        let names: (first: String, block: (Int, Int, Int) -> String, body: String, up: (Int) -> String, hr: String, last: String)
        if s.originalLayout {
            let n = s.enlargements
            names = ("model.0", { "model.1.sub.\($0).RDB\($1).conv\($2).0" }, "model.1.sub.\(s.blocks)", { "model.\(3 + 3 * $0)" },
                     "model.\(3 * n + 2)", "model.\(3 * n + 4)")
        } else {
            names = ("conv_first", { "body.\($0).rdb\($1).conv\($2)" }, "conv_body", { "conv_up\($0 + 1)" }, "conv_hr", "conv_last")
        }
        let inputs = s.inChannels * s.unshuffle * s.unshuffle
        first = try conv(names.first, inputs, f)
        blocks = try (0..<s.blocks).map { b in
            try (1...3).map { r in
                DenseBlock(convolutions: try (1...5).map { c in try conv(names.block(b, r, c), f + (c - 1) * g, c == 5 ? f : g) })
            }
        }
        body = try conv(names.body, f, f)
        enlargements = try (0..<s.enlargements).map { try conv(names.up($0), f, f) }
        highResolution = try conv(names.hr, f, f)
        last = try conv(names.last, f, s.outChannels)
        unshuffle = s.unshuffle > 1 ? try PreparedPixelUnshuffle(channels: s.inChannels, factor: s.unshuffle, backend: w.backend) : nil
        leak = Dictionary(uniqueKeysWithValues: Set([f, g]).map { ($0, w.backend.tensor([Float](repeating: 0.2, count: $0), shape: [$0])) })
    }

    /// [N, C, H, W] in [0, 1] → [N, C, H·scale, W·scale] (not clamped).
    func callAsFunction(_ image: Tensor) throws -> Tensor {
        let input = try unshuffle?(image) ?? image
        let features = try first(input)
        var x = features
        for rrdb in blocks {
            var y = x
            for block in rrdb { y = try dense(block, y) }
            x = try backend.weightedSum([(y, 0.2), (x, 1)])
        }
        x = try body(x, adding: features)
        for conv in enlargements {
            x = try leakyReLU(try conv(try backend.resize(x, height: 2 * x.shape[2], width: 2 * x.shape[3], mode: .nearest)))
        }
        return try last(try leakyReLU(try highResolution(x)))
    }

    func dense(_ block: DenseBlock, _ x: Tensor) throws -> Tensor {
        var inputs = [x]
        for conv in block.convolutions.dropLast() { inputs.append(try leakyReLU(try conv(try backend.concat(inputs, axis: 1)))) }
        let out = try block.convolutions[4](try backend.concat(inputs, axis: 1))
        return try backend.weightedSum([(out, 0.2), (x, 1)])
    }

    /// LeakyReLU(0.2): a PReLU whose slopes are all 0.2.
    func leakyReLU(_ x: Tensor) throws -> Tensor {
        guard let slopes = leak[x.shape[1]] else { throw NeuralError.shapeMismatch("LeakyReLU of \(x.shape) in an RRDBNet of \(shape.features) features") }
        return try backend.preLU(x, slopes: slopes)
    }
}
