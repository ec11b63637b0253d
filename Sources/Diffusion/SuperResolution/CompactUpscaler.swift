import Neural

/// Real-ESRGAN's SRVGGNetCompact: convolutions with PReLU at the input's size, a last
/// convolution to channels × scale², a pixel shuffle, plus the nearest-enlarged input.
struct CompactUpscaler: Sendable {
    let shape: UpscalerArchitecture.CompactShape
    let convolutions: [Conv2d]
    /// Each PReLU's slopes, one per feature.
    let slopes: [Tensor]
    let backend: any Backend

    init(_ w: WeightLoader, _ s: UpscalerArchitecture.CompactShape) throws {
        shape = s
        backend = w.backend
        let count = s.convolutions + 2
        convolutions = try (0..<count).map { i in
            try Conv2d(w, "body.\(2 * i)", inputs: i == 0 ? s.inChannels : s.features,
                       outputs: i == count - 1 ? s.outChannels * s.scale * s.scale : s.features, kernel: 3)
        }
        slopes = try (0..<(count - 1)).map { i in
            try w.tensor("body.\(2 * i + 1).weight", [s.features])
        }
    }

    func callAsFunction(_ image: Tensor) throws -> Tensor {
        var x = image
        for (conv, slope) in zip(convolutions, slopes) { x = try backend.preLU(try conv(x), slopes: slope) }
        let detail = try backend.pixelShuffle(try convolutions[convolutions.count - 1](x), factor: shape.scale)
        let base = try backend.resize(image, height: image.shape[2] * shape.scale, width: image.shape[3] * shape.scale, mode: .nearest)
        return try backend.add(detail, base)
    }
}
