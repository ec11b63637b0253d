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
    /// Grid pixels at each tile edge that face another tile and get no weight: the part a network
    /// sees zero padding from. 0 for the VAE (its blends ramp over the whole overlap); learned
    /// upscalers, whose receptive field is smaller than the overlap, blend only past it.
    public var margin = 0

    /// SD's VAE: 512-px tiles overlapping by 128 px; images up to 1024 px are decoded whole.
    public static let standard = VAETiling(tileSize: 64, overlap: 16, wholeUpTo: 128)

    public init(tileSize: Int, overlap: Int, wholeUpTo: Int, margin: Int = 0) {
        self.tileSize = tileSize
        self.overlap = overlap
        self.wholeUpTo = wholeUpTo
        self.margin = min(margin, overlap / 2)
    }

    /// This tiling on a device of `deviceMemory` bytes (nil: the CPU, which keeps the plan's):
    /// whole images and tiles no larger than a quarter of the device's memory holds, at
    /// `bytesPerPixel` of activations per image pixel (measured with stockwerk-gpu-check
    /// vae-memory: 2.6 kB for SD's VAE, 20 bytes per channel of its first block, once each
    /// tensor's memory is reused as soon as it goes). An 8 GB card then decodes SDXL's 1024² in
    /// 512-pixel tiles beside the UNet's weights; 12 GB and more decode it whole. The device is
    /// part of an image's identity, so the same device always makes the same choice.
    public func fitting(deviceMemory: UInt64?, bytesPerPixel: Int, scale: Int) -> VAETiling {
        guard let deviceMemory else { return self }
        let budget = Double(deviceMemory) / 4
        func fits(_ latentSide: Int) -> Bool { Double(latentSide * scale) * Double(latentSide * scale) * Double(bytesPerPixel) <= budget }
        var fitted = self
        while fitted.wholeUpTo > 8, !fits(fitted.wholeUpTo) { fitted.wholeUpTo /= 2 }
        while fitted.tileSize > 16, !fits(fitted.tileSize) {
            fitted.tileSize /= 2
            fitted.overlap = max(1, fitted.overlap / 2)
        }
        return fitted
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
        let backend = input.backend
        let (height, width) = (input.shape[2], input.shape[3])
        // Tile geometry is set on the latent grid: a tile is tileSize latent pixels.
        let (gridHeight, gridWidth) = (height / inputScale, width / inputScale)
        let tiles = origins(gridHeight).flatMap { top in origins(gridWidth).map { left in
            Tile(top: top, left: left, height: min(tileSize, gridHeight - top), width: min(tileSize, gridWidth - left))
        } }
        let (outHeight, outWidth) = (gridHeight * outputScale, gridWidth * outputScale)
        let blend = blendWeights(tiles, outHeight: outHeight, outWidth: outWidth, gridHeight: gridHeight, gridWidth: gridWidth, scale: outputScale)
        var output: Tensor?
        for (tile, weights) in zip(tiles, blend) {
            let crop = try backend.slice(try backend.slice(input, axis: 2, range: (tile.top * inputScale)..<((tile.top + tile.height) * inputScale)),
                                         axis: 3, range: (tile.left * inputScale)..<((tile.left + tile.width) * inputScale))
            let result = try transform(crop)
            let (th, tw) = (tile.height * outputScale, tile.width * outputScale)
            guard result.shape.count == 4, result.shape[0] == 1, result.shape[2] == th, result.shape[3] == tw else {
                throw NeuralError.shapeMismatch("tile came back \(result.shape), expected [1, C, \(th), \(tw)]")
            }
            let (y0, x0) = (tile.top * outputScale, tile.left * outputScale)
            let placed = try backend.pad(try backend.multiply(result, backend.tensor(weights, shape: [1, 1, th, tw])),
                                         top: y0, left: x0, bottom: outHeight - y0 - th, right: outWidth - x0 - tw)
            output = try output.map { try backend.add($0, placed) } ?? placed
        }
        return output!
    }

    struct Tile { let top, left, height, width: Int }

    /// Each tile's blend weights: ramps on sides that face another tile (image borders keep full
    /// weight), divided by the sum of every tile's weight at that pixel, so they sum to one.
    func blendWeights(_ tiles: [Tile], outHeight: Int, outWidth: Int, gridHeight: Int, gridWidth: Int, scale: Int) -> [[Float]] {
        let (ramp, dead) = (overlap * scale, margin * scale)
        var total = [Float](repeating: 0, count: outHeight * outWidth)
        let raw = tiles.map { tile -> [Float] in
            let (th, tw) = (tile.height * scale, tile.width * scale)
            let rows = Self.ramp(th, ramp: ramp, dead: dead, fadeStart: tile.top > 0, fadeEnd: tile.top + tile.height < gridHeight)
            let columns = Self.ramp(tw, ramp: ramp, dead: dead, fadeStart: tile.left > 0, fadeEnd: tile.left + tile.width < gridWidth)
            var weights = [Float](repeating: 0, count: th * tw)
            for y in 0..<th {
                for x in 0..<tw {
                    weights[y * tw + x] = rows[y] * columns[x]
                    total[(tile.top * scale + y) * outWidth + tile.left * scale + x] += rows[y] * columns[x]
                }
            }
            return weights
        }
        return zip(tiles, raw).map { tile, weights in
            let tw = tile.width * scale
            return weights.enumerated().map { i, w in w / total[(tile.top * scale + i / tw) * outWidth + tile.left * scale + i % tw] }
        }
    }

    /// Weights along one side: at a faded start, 0 over the first `dead` pixels, then rising over
    /// the rest of the `ramp` pixels but the last `dead`; the same mirrored at a faded end. Two tiles
    /// overlapping by exactly `ramp` get weights that sum to one.
    static func ramp(_ length: Int, ramp: Int, dead: Int = 0, fadeStart: Bool, fadeEnd: Bool) -> [Float] {
        let rising = Float(max(ramp - 2 * dead, 1))
        func weight(_ distance: Int) -> Float { min(1, max(0, (Float(distance - dead) + 0.5) / rising)) }
        return (0..<length).map { i in
            var w: Float = 1
            if fadeStart, i < ramp { w = min(w, weight(i)) }
            if fadeEnd, length - 1 - i < ramp { w = min(w, weight(length - 1 - i)) }
            return w
        }
    }
}

extension VAEDecoder {
    /// The latent grid's scale: 2 per up block (8 for SD).
    public var scaleFactor: Int { 1 << (config.blockOutChannels.count - 1) }

    /// Decodes SD latents whole when small, in blended tiles when larger than `tiling.wholeUpTo`.
    public func decode(latents: Tensor, tiling planned: VAETiling) throws -> Tensor {
        let tiling = planned.fitting(deviceMemory: backend.deviceMemoryBytes, bytesPerPixel: 20 * (config.blockOutChannels.first ?? 128), scale: scaleFactor)
        guard latents.shape.count == 4, max(latents.shape[2], latents.shape[3]) > tiling.wholeUpTo else { return try decode(latents: latents) }
        let latents = try backend.adopting(latents)
        let images = try (0..<latents.shape[0]).map { n in
            try tiling.apply(try latents.item(n, keepingAxis: true), inputScale: 1, outputScale: scaleFactor) { try decode(latents: $0) }
        }
        return images.count == 1 ? images[0] : try backend.concat(images, axis: 0)
    }
}

extension VAEEncoder {
    public var scaleFactor: Int { 1 << (config.blockOutChannels.count - 1) }

    /// The latent distribution's mean and log-variance, whole or in blended tiles (each tile's
    /// moments blended as the decoder blends pixels).
    public func encode(_ image: Tensor, tiling planned: VAETiling) throws -> (mean: Tensor, logVariance: Tensor) {
        let scale = scaleFactor
        let tiling = planned.fitting(deviceMemory: backend.deviceMemoryBytes, bytesPerPixel: 20 * (config.blockOutChannels.first ?? 128), scale: scale)
        guard image.shape.count == 4, image.shape[0] == 1, max(image.shape[2], image.shape[3]) > tiling.wholeUpTo * scale,
              image.shape[2] % scale == 0, image.shape[3] % scale == 0 else { return try encode(image) }
        let image = try backend.adopting(image)
        let latent = config.latentChannels
        let moments = try tiling.apply(image, inputScale: scale, outputScale: 1) { tile in
            let (mean, logVariance) = try encode(tile)
            return try backend.concat([mean, logVariance], axis: 1)
        }
        return (try backend.slice(moments, axis: 1, range: 0..<latent), try backend.slice(moments, axis: 1, range: latent..<(2 * latent)))
    }

    /// `sampleLatents` with the moments from `encode(_:tiling:)`.
    public func sampleLatents(_ image: Tensor, tiling: VAETiling, generator: inout TorchGenerator) throws -> Tensor {
        try sampleLatents(moments: try encode(image, tiling: tiling), generator: &generator)
    }
}
