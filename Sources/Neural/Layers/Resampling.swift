/// diffusers' Upsample2D: nearest enlargement, then a 3×3 convolution.
public struct Upsample: Sendable {
    enum Form: Sendable {
        /// Enlarge, then convolve (any output size: a UNet meets the size of its skip).
        case enlargeThenConvolve(Conv2d)
        /// Exactly 2×: four 2×2 convolutions on the input, one per output phase, interleaved.
        case subPixel([Conv2d])
    }
    let form: Form

    /// `subPixel`: the layer only ever doubles (the VAE decoder). Nearest doubling followed by a
    /// 3×3 convolution is then the same as four 2×2 convolutions of the input, one per output
    /// pixel phase, with the 3×3 taps that land on the same input pixel summed at load: 16 instead
    /// of 36 multiply-adds per output pixel and channel pair, and no 4× enlarged copy.
    public init(_ w: WeightLoader, _ prefix: String, channels: Int, subPixel: Bool = false) throws {
        guard subPixel else {
            form = .enlargeThenConvolve(try Conv2d(w, prefix + ".conv", inputs: channels, outputs: channels, kernel: 3))
            return
        }
        let weight = try w.host(prefix + ".conv.weight", [channels, channels, 3, 3]), bias = try w.host(prefix + ".conv.bias", [channels])
        form = .subPixel(try (0..<4).map { phase in
            try Conv2d(backend: w.backend, weight: Self.phaseKernel(weight, rows: phase / 2, columns: phase % 2), bias: bias, padding: 0)
        })
    }

    /// Output row 2i + a reads the enlarged rows 2i + a − 1 … 2i + a + 1, which are input rows
    /// {i − 1, i} (a = 0: taps {0} and {1, 2}) or {i, i + 1} (a = 1: taps {0, 1} and {2}); columns alike.
    static func phaseKernel(_ weight: HostTensor, rows a: Int, columns b: Int) -> HostTensor {
        let taps = [[[0], [1, 2]], [[0, 1], [2]]]
        let (outputs, inputs) = (weight.shape[0], weight.shape[1])
        var kernel = [Float](repeating: 0, count: outputs * inputs * 4)
        for plane in 0..<(outputs * inputs) {
            for p in 0..<2 {
                for q in 0..<2 {
                    var sum = 0.0
                    for dy in taps[a][p] { for dx in taps[b][q] { sum += Double(weight.storage[plane * 9 + dy * 3 + dx]) } }
                    kernel[plane * 4 + p * 2 + q] = Float(sum)
                }
            }
        }
        return HostTensor(shape: [outputs, inputs, 2, 2], storage: kernel)
    }

    /// To `height` × `width` (twice the input, or the size of the skip it meets in a UNet).
    public func callAsFunction(_ x: Tensor, height: Int, width: Int) throws -> Tensor {
        let backend = x.backend
        switch form {
        case .enlargeThenConvolve(let conv):
            return try conv(try backend.resize(x, height: height, width: width, mode: .nearest))
        case .subPixel(let phases):
            let (inHeight, inWidth) = (x.shape[2], x.shape[3])
            guard height == 2 * inHeight, width == 2 * inWidth else {
                throw NeuralError.shapeMismatch("this upsampler only doubles: \(x.shape) to \(height)x\(width)")
            }
            // Input rows −1 … H (zero outside); phase (a, b) convolves the window from row a, column b.
            let padded = try backend.pad(x, top: 1, left: 1, bottom: 1, right: 1)
            let outputs = try (0..<4).map { phase in
                let (a, b) = (phase / 2, phase % 2)
                let window = try backend.slice(try backend.slice(padded, axis: 2, range: a..<(a + inHeight + 1)), axis: 3, range: b..<(b + inWidth + 1))
                return try phases[phase](window)
            }
            return try backend.depthToSpace(outputs, blockSize: 2)
        }
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor { try self(x, height: 2 * x.shape[2], width: 2 * x.shape[3]) }
}

/// diffusers' Downsample2D: a 3×3 convolution with stride 2. The UNet pads all sides by one; the
/// VAE encoder pads only bottom and right (`asymmetric`).
public struct Downsample: Sendable {
    let conv: Conv2d

    public init(_ w: WeightLoader, _ prefix: String, channels: Int, asymmetric: Bool = false) throws {
        conv = try Conv2d(w, prefix + ".conv", inputs: channels, outputs: channels, kernel: 3, stride: 2,
                          padding: asymmetric ? 0 : 1, paddingEnd: 1)
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor { try conv(x) }
}
