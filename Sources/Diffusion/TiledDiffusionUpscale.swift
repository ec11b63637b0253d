import Foundation
import Neural

/// A1111's "SD upscale": an image already enlarged (by a learned upscaler or lanczos) is redrawn
/// tile by tile with img2img at a low strength, with the job's model, prompt and seed, so the model
/// adds the detail of its native size at every place of a 6K image. Tiles overlap and are blended
/// with linear ramps (VAETiling's blend); an optional seam-fix pass then redraws bands centred on
/// the seams between tiles and fades them in, as Ultimate SD Upscale's "band pass" does.
///
/// Every tile starts from the job's seed, as in A1111, so a run is deterministic. Finished tiles go
/// through `TileStore`, so a killed run resumes without redrawing them.
public struct TiledDiffusionUpscale: Sendable, Equatable {
    /// Tile side in image pixels (the model's native size: 512 for SD 1.5, 1024 for SDXL).
    public var tile: Int
    /// Overlap between neighbouring tiles, in image pixels.
    public var overlap: Int
    /// img2img strength of each tile (A1111's "denoising strength"; 0.2–0.4 keeps the composition).
    public var strength: Double
    /// Steps of the full schedule; int(steps × strength) of them run per tile.
    public var steps: Int
    /// Strength of the seam-fix pass; nil: no seam fix.
    public var seamFixStrength: Double?

    public init(tile: Int = 512, overlap: Int = 64, strength: Double = 0.3, steps: Int = 20, seamFixStrength: Double? = 0.3) {
        self.tile = tile
        self.overlap = overlap
        self.strength = strength
        self.steps = steps
        self.seamFixStrength = seamFixStrength
    }

    /// Where finished tiles are kept between runs, by a name unique within one image's pass
    /// ("tile-3", "columns-1-2"…). `nil` from `load` means not made yet.
    public struct TileStore {
        public var load: (String) throws -> HostTensor?
        public var save: (String, HostTensor) throws -> Void

        public init(load: @escaping (String) throws -> HostTensor?, save: @escaping (String, HostTensor) throws -> Void) {
            self.load = load
            self.save = save
        }

        /// Keeps nothing: every tile is drawn.
        public static var none: TileStore { TileStore(load: { _ in nil }, save: { _, _ in }) }
    }

    /// How many img2img calls `run` makes for an image of `width` × `height`.
    public func tileCount(width: Int, height: Int, multiple: Int) -> Int {
        let grid = tiling(multiple: multiple)
        let (rows, columns) = (grid.spans(height / multiple).count, grid.spans(width / multiple).count)
        guard seamFixStrength != nil else { return rows * columns }
        return rows * columns + (columns - 1) * rows + (rows - 1) * columns
    }

    /// Checks the settings against the model's size multiple; an error says what to change.
    public func validate(multiple: Int) throws {
        func check(_ ok: Bool, _ message: String) throws { if !ok { throw DiffusionError.request(message) } }
        try check(tile >= 2 * multiple && tile % (2 * multiple) == 0, "tile \(tile) must be a positive multiple of \(2 * multiple) (the model's size multiple, twice)")
        try check(overlap >= 0 && overlap % multiple == 0 && overlap <= tile / 2, "overlap \(overlap) must be a multiple of \(multiple) between 0 and half the tile (\(tile / 2))")
        try check(strength > 0 && strength <= 1, "strength must be in (0, 1], not \(strength)")
        try check(Int(Double(steps) * strength) >= 1, "strength \(strength) with \(steps) steps runs no step; raise the strength or the steps")
        if let seam = seamFixStrength {
            try check(seam > 0 && seam <= 1 && Int(Double(steps) * seam) >= 1, "seam-fix strength \(seam) must be in (0, 1] and run at least one of the \(steps) steps")
        }
    }

    func tiling(multiple: Int) -> VAETiling { VAETiling(tileSize: tile / multiple, overlap: overlap / multiple, wholeUpTo: 0) }

    /// `image` ([1, 3, H, W] in [0, 1], H and W multiples of the model's size multiple) redrawn
    /// with `base`'s prompt, seed, sampler and guidance; `progress(done, total)` after each tile.
    public func run(_ image: Tensor, base: GenerationRequest, pipeline: Pipeline, store: TileStore = .none,
                    progress: (Int, Int) -> Void = { _, _ in }) throws -> Tensor {
        let multiple = pipeline.model.sizeMultiple
        try validate(multiple: multiple)
        guard image.shape.count == 4, image.shape[0] == 1, image.shape[1] == 3, image.shape[2] % multiple == 0, image.shape[3] % multiple == 0 else {
            throw DiffusionError.request("a tiled redraw takes one RGB image whose sides are multiples of \(multiple), not \(image.shape)")
        }
        let backend = pipeline.model.backend
        let image = try backend.adopting(image)
        let (height, width) = (image.shape[2], image.shape[3])
        let total = tileCount(width: width, height: height, multiple: multiple)
        var done = 0
        func redraw(_ crop: Tensor, _ name: String, strength: Double) throws -> Tensor {
            defer { done += 1; progress(done, total) }
            if let kept = try store.load(name), kept.shape == crop.shape { return backend.tensor(kept) }
            var request = base
            (request.width, request.height) = (crop.shape[3], crop.shape[2])
            request.steps = steps
            request.strength = strength
            request.initLatents = nil
            request.denoisingStart = nil
            request.denoisingEnd = nil
            request.tiling = .standard
            request.initImage = try backend.affine(try backend.clamp(crop, min: 0, max: 1), scale: 2, offset: -1)
            let drawn = try pipeline.generate(request).image
            try store.save(name, try drawn.host())
            return drawn
        }

        let grid = tiling(multiple: multiple)
        var index = 0
        var result = try grid.apply(image, inputScale: multiple, outputScale: multiple) { crop in
            defer { index += 1 }
            return try redraw(crop, "tile-\(index)", strength: strength)
        }
        guard let seamStrength = seamFixStrength else { return result }
        let rows = grid.spans(height / multiple), columns = grid.spans(width / multiple)
        // Vertical seams (between columns), then horizontal ones (between rows) on that result.
        result = try fixSeams(result, across: columns, along: rows, axis: 3, multiple: multiple, grid: grid) { crop, seam, span in
            try redraw(crop, "columns-\(seam)-\(span)", strength: seamStrength)
        }
        result = try fixSeams(result, across: rows, along: columns, axis: 2, multiple: multiple, grid: grid) { crop, seam, span in
            try redraw(crop, "rows-\(seam)-\(span)", strength: seamStrength)
        }
        return result
    }

    /// One seam-fix pass: for each seam between consecutive `across` spans (on `axis`, 3 for
    /// columns), a band one tile wide centred on it is redrawn tile by tile along the other axis
    /// (`along` spans, blended as the first pass), then faded in with a triangle that is 1 on the
    /// seam and 0 half a tile step either side, so the bands' own edges carry no weight.
    func fixSeams(_ image: Tensor, across: [Range<Int>], along: [Range<Int>], axis: Int, multiple: Int, grid: VAETiling,
                  redraw: (Tensor, Int, Int) throws -> Tensor) throws -> Tensor {
        guard across.count > 1 else { return image }
        let backend = image.backend
        let length = image.shape[axis], otherAxis = axis == 3 ? 2 : 3
        // Each seam's centre: the middle of the overlap, on the size multiple. A band fades over
        // half the distance to its neighbours at most (the last tile, flush with the edge, may be closer).
        let centres = zip(across, across.dropFirst()).map { before, after in (after.lowerBound + before.upperBound) * multiple / 2 / multiple * multiple }
        var segments: [Tensor] = []
        var position = 0
        for (seam, centre) in centres.enumerated() {
            let neighbours = [seam > 0 ? centre - centres[seam - 1] : nil, seam + 1 < centres.count ? centres[seam + 1] - centre : nil].compactMap { $0 }
            let halfWidth = ([(tile - overlap) / 2] + neighbours.map { $0 / 2 }).min()!
            let bandStart = min(max(centre - tile / 2, 0), length - tile)
            let (fadeStart, fadeEnd) = (centre - halfWidth, centre + halfWidth)
            // (Seams a tile step apart always fade inside their band; anything else is not redrawn.)
            guard halfWidth > 0, fadeStart >= max(bandStart, position), fadeEnd <= bandStart + tile else { continue }
            let band = try backend.slice(image, axis: axis, range: bandStart..<(bandStart + tile))
            var pieces: [Tensor] = []
            for (span, range) in along.enumerated() {
                let crop = try backend.slice(band, axis: otherAxis, range: range.lowerBound * multiple..<range.upperBound * multiple)
                pieces.append(try redraw(crop, seam, span))
            }
            let redrawn = try grid.blend(pieces, spans: along, length: image.shape[otherAxis] / multiple, scale: multiple, axis: otherAxis)
            if fadeStart > position { segments.append(try backend.slice(image, axis: axis, range: position..<fadeStart)) }
            let weights = (fadeStart..<fadeEnd).map { 1 - abs(Float($0) + 0.5 - Float(centre)) / Float(halfWidth) }
            let shape = axis == 3 ? [1, 1, 1, weights.count] : [1, 1, weights.count, 1]
            let old = try backend.slice(image, axis: axis, range: fadeStart..<fadeEnd)
            let new = try backend.slice(redrawn, axis: axis, range: (fadeStart - bandStart)..<(fadeEnd - bandStart))
            segments.append(try backend.add(try backend.multiply(old, backend.tensor(weights.map { 1 - $0 }, shape: shape)),
                                            try backend.multiply(new, backend.tensor(weights, shape: shape))))
            position = fadeEnd
        }
        if position < length { segments.append(try backend.slice(image, axis: axis, range: position..<length)) }
        return try backend.concat(segments, axis: axis)
    }
}
