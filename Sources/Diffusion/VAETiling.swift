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
    ///
    /// Tiles form a grid, so their blend weights are products of one ramp down and one across,
    /// normalised on each axis: each row of tiles is blended into a strip, then the strips into
    /// the image, segment by segment, so no tile is ever padded to the whole image's size.
    func apply(_ input: Tensor, inputScale: Int, outputScale: Int, _ transform: (Tensor) throws -> Tensor) throws -> Tensor {
        guard input.shape.count == 4, input.shape[0] == 1 else {
            throw NeuralError.shapeMismatch("tiled VAE input \(input.shape): one image at a time")
        }
        let backend = input.backend
        // Tile geometry is set on the latent grid: a tile is tileSize latent pixels.
        let (gridHeight, gridWidth) = (input.shape[2] / inputScale, input.shape[3] / inputScale)
        let rows = spans(gridHeight), columns = spans(gridWidth)
        var strips: [Tensor] = []
        for row in rows {
            let strip = try backend.slice(input, axis: 2, range: row.lowerBound * inputScale..<row.upperBound * inputScale)
            var tiles: [Tensor] = []
            for column in columns {
                let crop = try backend.slice(strip, axis: 3, range: column.lowerBound * inputScale..<column.upperBound * inputScale)
                let result = try transform(crop)
                let (th, tw) = (row.count * outputScale, column.count * outputScale)
                guard result.shape.count == 4, result.shape[0] == 1, result.shape[2] == th, result.shape[3] == tw else {
                    throw NeuralError.shapeMismatch("tile came back \(result.shape), expected [1, C, \(th), \(tw)]")
                }
                tiles.append(result)
            }
            strips.append(try blend(tiles, spans: columns, length: gridWidth, scale: outputScale, axis: 3))
        }
        return try blend(strips, spans: rows, length: gridHeight, scale: outputScale, axis: 2)
    }

    /// The tiles' extents along one side of `length` grid pixels.
    func spans(_ length: Int) -> [Range<Int>] { origins(length).map { $0..<min($0 + tileSize, length) } }

    /// `parts` (covering `spans` of a side of `length` grid pixels, `scale` output pixels each)
    /// blended into one tensor along `axis`: between consecutive part edges every output segment
    /// is covered by the same parts, summed with their normalised weights (copied where one part
    /// alone covers it).
    func blend(_ parts: [Tensor], spans: [Range<Int>], length: Int, scale: Int, axis: Int) throws -> Tensor {
        guard let first = parts.first else { throw NeuralError.shapeMismatch("tiled pass over an empty image") }
        guard parts.count > 1 else { return first }
        let backend = first.backend
        let weights = blendWeights(spans, length: length, scale: scale)
        let edges = Set(spans.flatMap { [$0.lowerBound * scale, $0.upperBound * scale] }).sorted()
        var segments: [Tensor] = []
        for (start, end) in zip(edges, edges.dropFirst()) {
            var sum: Tensor?
            for (index, span) in spans.enumerated() where span.lowerBound * scale <= start && end <= span.upperBound * scale {
                let offset = span.lowerBound * scale
                let piece = try backend.slice(parts[index], axis: axis, range: (start - offset)..<(end - offset))
                let ramp = Array(weights[index][(start - offset)..<(end - offset)])
                let weighted = ramp.allSatisfy({ $0 == 1 }) ? piece
                    : try backend.multiply(piece, backend.tensor(ramp, shape: axis == 3 ? [1, 1, 1, ramp.count] : [1, 1, ramp.count, 1]))
                sum = try sum.map { try backend.add($0, weighted) } ?? weighted
            }
            guard let sum else { throw NeuralError.shapeMismatch("tiles leave \(start)..<\(end) uncovered") }
            segments.append(sum)
        }
        return try backend.concat(segments, axis: axis)
    }

    /// Each span's blend weights along one side: ramps where it faces another tile (the image's
    /// edges keep full weight), divided by the sum of every span's ramp at that pixel, so they sum
    /// to one. A tile's 2-D weight is the product of its row's and its column's: the sum over a
    /// grid of such products factorises, so this equals normalising the products themselves.
    func blendWeights(_ spans: [Range<Int>], length: Int, scale: Int) -> [[Float]] {
        let (ramp, dead) = (overlap * scale, margin * scale)
        var total = [Float](repeating: 0, count: length * scale)
        let raw = spans.map { span -> [Float] in
            let weights = Self.ramp(span.count * scale, ramp: ramp, dead: dead, fadeStart: span.lowerBound > 0, fadeEnd: span.upperBound < length)
            for (i, w) in weights.enumerated() { total[span.lowerBound * scale + i] += w }
            return weights
        }
        return zip(spans, raw).map { span, weights in weights.enumerated().map { i, w in w / total[span.lowerBound * scale + i] } }
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
