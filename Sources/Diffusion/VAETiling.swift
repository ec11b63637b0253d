import Foundation
import Neural

/// Decoding and encoding large images in overlapping tiles, so memory stays bounded whatever the
/// size: a 2048×2048 decode holds the activations of one 512×512 tile (about 1 GB for SD's VAE)
/// instead of 16 times that. Neighbouring tiles overlap and are blended with linear ramps that
/// sum to one across the overlap, so no tile edge shows. Tiles see only their own pixels, so
/// group norms and the mid-block attention differ slightly from a whole-image pass (see
/// docs/upscaling.md for the measured difference).
public struct VAETiling: Sendable, Equatable {
    /// Tile side in latent pixels (64 = 512 image pixels for SD).
    public var tileSize: Int
    /// Overlap between neighbouring tiles, in latent pixels.
    public var overlap: Int
    /// Latents whose longer side is at most this are processed whole (as diffusers does by default).
    public var wholeUpTo: Int

    /// SD's VAE: 512-px tiles overlapping by 128 px; images up to 1024 px are decoded whole.
    public static let standard = VAETiling(tileSize: 64, overlap: 16, wholeUpTo: 128)

    public init(tileSize: Int, overlap: Int, wholeUpTo: Int) {
        self.tileSize = tileSize
        self.overlap = overlap
        self.wholeUpTo = wholeUpTo
    }

    /// Tile origins along one side of `length`: `tileSize - overlap` apart, the last one flush with the end.
    func origins(_ length: Int) -> [Int] {
        guard length > tileSize else { return [0] }
        var origins: [Int] = []
        var position = 0
        while position + tileSize < length {
            origins.append(position)
            position += tileSize - overlap
        }
        origins.append(length - tileSize)
        return origins
    }

    /// Runs `transform` over overlapping tiles of `input` ([1, C, H, W], H and W in latent-grid
    /// units of `inputScale` pixels) and blends the results, which are `outputScale / inputScale`
    /// times the tile's size. Decode: inputScale 1, outputScale 8; encode: the reverse.
    func apply(_ input: Tensor, inputScale: Int, outputScale: Int, _ transform: (Tensor) throws -> Tensor) throws -> Tensor {
        guard input.shape.count == 4, input.shape[0] == 1 else {
            throw NeuralError.shapeMismatch("tiled VAE input \(input.shape): one image at a time")
        }
        let (channels, height, width) = (input.shape[1], input.shape[2], input.shape[3])
        // Tile geometry is set on the latent grid: a tile is tileSize latent pixels.
        let (gridHeight, gridWidth) = (height / inputScale, width / inputScale)
        let rows = origins(gridHeight), columns = origins(gridWidth)
        var output: [Float] = []
        var outputChannels = 0
        var weights = [Float]()
        let (outHeight, outWidth) = (gridHeight * outputScale, gridWidth * outputScale)
        let ramp = overlap * outputScale
        for top in rows {
            for left in columns {
                let tileHeight = min(tileSize, gridHeight - top), tileWidth = min(tileSize, gridWidth - left)
                let tile = try transform(crop(input, channels: channels, top: top * inputScale, left: left * inputScale,
                                              height: tileHeight * inputScale, width: tileWidth * inputScale))
                let (th, tw) = (tileHeight * outputScale, tileWidth * outputScale)
                guard tile.shape.count == 4, tile.shape[2] == th, tile.shape[3] == tw else {
                    throw NeuralError.shapeMismatch("tile came back \(tile.shape), expected [1, C, \(th), \(tw)]")
                }
                if output.isEmpty {
                    outputChannels = tile.shape[1]
                    output = [Float](repeating: 0, count: outputChannels * outHeight * outWidth)
                    weights = [Float](repeating: 0, count: outHeight * outWidth)
                }
                // Ramps only on sides that face another tile; image borders keep full weight.
                let rowWeights = Self.ramp(th, ramp: ramp, fadeStart: top > 0, fadeEnd: top + tileHeight < gridHeight)
                let columnWeights = Self.ramp(tw, ramp: ramp, fadeStart: left > 0, fadeEnd: left + tileWidth < gridWidth)
                let (y0, x0) = (top * outputScale, left * outputScale)
                tile.storage.withUnsafeBufferPointer { t in
                    output.withUnsafeMutableBufferPointer { o in
                        for y in 0..<th {
                            for x in 0..<tw {
                                let w = rowWeights[y] * columnWeights[x]
                                weights[(y0 + y) * outWidth + x0 + x] += w
                                for c in 0..<outputChannels {
                                    o[(c * outHeight + y0 + y) * outWidth + x0 + x] += w * t[(c * th + y) * tw + x]
                                }
                            }
                        }
                    }
                }
            }
        }
        let plane = outHeight * outWidth
        for c in 0..<outputChannels {
            for i in 0..<plane { output[c * plane + i] /= weights[i] }
        }
        return Tensor(shape: [1, outputChannels, outHeight, outWidth], storage: output)
    }

    /// Weights along one side: rising over `ramp` pixels at a faded start, falling at a faded end.
    /// Two tiles overlapping by exactly `ramp` get weights that sum to one.
    static func ramp(_ length: Int, ramp: Int, fadeStart: Bool, fadeEnd: Bool) -> [Float] {
        (0..<length).map { i in
            var w: Float = 1
            if fadeStart, i < ramp { w = min(w, (Float(i) + 0.5) / Float(ramp)) }
            if fadeEnd, length - 1 - i < ramp { w = min(w, (Float(length - 1 - i) + 0.5) / Float(ramp)) }
            return w
        }
    }

    func crop(_ x: Tensor, channels: Int, top: Int, left: Int, height: Int, width: Int) -> Tensor {
        let (fullHeight, fullWidth) = (x.shape[2], x.shape[3])
        var out = [Float](repeating: 0, count: channels * height * width)
        for c in 0..<channels {
            for y in 0..<height {
                let source = (c * fullHeight + top + y) * fullWidth + left
                let target = (c * height + y) * width
                for i in 0..<width { out[target + i] = x.storage[source + i] }
            }
        }
        return Tensor(shape: [1, channels, height, width], storage: out)
    }
}

extension VAEDecoder {
    /// The latent grid's scale: 2 per up block (8 for SD).
    public var scaleFactor: Int { 1 << (config.blockOutChannels.count - 1) }

    /// Decodes SD latents whole when small, in blended tiles when larger than `tiling.wholeUpTo`.
    public func decode(latents: Tensor, tiling: VAETiling) throws -> Tensor {
        guard latents.shape.count == 4, max(latents.shape[2], latents.shape[3]) > tiling.wholeUpTo else { return try decode(latents: latents) }
        var images: [Float] = []
        var shape: [Int] = []
        for n in 0..<latents.shape[0] {
            let one = latents.item(n)
            let single = Tensor(shape: [1] + one.shape, storage: one.storage)
            let image = try tiling.apply(single, inputScale: 1, outputScale: scaleFactor) { try decode(latents: $0) }
            images += image.storage
            shape = [latents.shape[0]] + Array(image.shape.dropFirst())
        }
        return Tensor(shape: shape, storage: images)
    }
}

extension VAEEncoder {
    public var scaleFactor: Int { 1 << (config.blockOutChannels.count - 1) }

    /// The latent distribution's mean and log-variance, whole or in blended tiles (each tile's
    /// moments blended as the decoder blends pixels).
    public func encode(_ image: Tensor, tiling: VAETiling) throws -> (mean: Tensor, logVariance: Tensor) {
        let scale = scaleFactor
        guard image.shape.count == 4, image.shape[0] == 1, max(image.shape[2], image.shape[3]) > tiling.wholeUpTo * scale,
              image.shape[2] % scale == 0, image.shape[3] % scale == 0 else { return try encode(image) }
        let latent = config.latentChannels
        let moments = try tiling.apply(image, inputScale: scale, outputScale: 1) { tile in
            let (mean, logVariance) = try encode(tile)
            return Tensor(shape: [1, 2 * latent, mean.shape[2], mean.shape[3]], storage: mean.storage + logVariance.storage)
        }
        let half = latent * moments.shape[2] * moments.shape[3]
        let shape = [1, latent, moments.shape[2], moments.shape[3]]
        return (Tensor(shape: shape, storage: Array(moments.storage[..<half])), Tensor(shape: shape, storage: Array(moments.storage[half...])))
    }

    /// `sampleLatents` with the moments from `encode(_:tiling:)`.
    public func sampleLatents(_ image: Tensor, tiling: VAETiling, generator: inout TorchGenerator) throws -> Tensor {
        try sampleLatents(moments: try encode(image, tiling: tiling), generator: &generator)
    }
}
