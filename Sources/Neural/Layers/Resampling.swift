/// diffusers' Upsample2D: nearest enlargement, then a 3×3 convolution. (Tried for the VAE
/// decoder: the same as four 2×2 convolutions of the input, one per output pixel phase; once 3×3
/// convolutions ran on Winograd kernels and nearest doubling became a plain copy, that form was
/// slower, in fp32 and in bf16, and it was removed.)
public struct Upsample: Sendable {
    let conv: Conv2d

    public init(_ w: WeightLoader, _ prefix: String, channels: Int) throws {
        conv = try Conv2d(w, prefix + ".conv", inputs: channels, outputs: channels, kernel: 3)
    }

    /// To `height` × `width` (twice the input, or the size of the skip it meets in a UNet).
    /// `x` is consumed, so a caller handing it over with `consume` lets it go once enlarged.
    public func callAsFunction(_ x: consuming Tensor, height: Int, width: Int) throws -> Tensor {
        let enlarged = try x.backend.resize(x, height: height, width: width, mode: .nearest)
        _ = consume x
        return try conv(enlarged)
    }

    public func callAsFunction(_ x: consuming Tensor) throws -> Tensor {
        let (height, width) = (2 * x.shape[2], 2 * x.shape[3])
        return try self(consume x, height: height, width: width)
    }
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
