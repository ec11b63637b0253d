import CVips
import Foundation

/// How much detail an enlarged image has against the plainest enlargement of the same source:
/// the variance of the Laplacian of the luminance over a centre crop, for the finished image and
/// for a bicubic enlargement of its source to the same size (its crop JPEG-encoded as the
/// finished file was, since JPEG adds fine noise of its own). The crop is measured after
/// averaging blocks of half the enlargement factor: a ×12 enlargement holds its detail at that
/// scale, and at 100 % both images are smooth and only the JPEG noise differs.
/// A ratio near 1 means the upscale added no detail (soft); a very high one means halos and
/// noise from over-sharpening. Thresholds: docs/upscaling.md.
public struct SharpnessReport: Codable, Sendable, Equatable {
    public enum Verdict: String, Codable, Sendable { case ok, soft, oversharpened }
    /// Laplacian variance of the finished image's centre crop (luminance 0–255).
    public var detail: Double
    /// The same for a plain bicubic enlargement of the source.
    public var bicubicDetail: Double
    public var ratio: Double
    /// Output pixels averaged per measured pixel (a side).
    public var blockSize: Int
    /// Detail at 100 % against the same enlargement without sharpening: where halos and noise show.
    public var pixelRatio: Double
    public var verdict: Verdict
    /// The finished image's long edge over its detail source's (the enlargement judged).
    public var scale: Double?
    /// Where the enlargement added least detail: of a 3×3 grid of crops with texture to keep
    /// (the bicubic reference has at least a quarter of the most detailed crop's detail), the one
    /// with the lowest ratio. The contact sheet shows it at 100 %.
    public var softest: Region?

    public init(detail: Double, bicubicDetail: Double, ratio: Double, blockSize: Int, pixelRatio: Double, verdict: Verdict,
                scale: Double? = nil, softest: Region? = nil) {
        self.detail = detail; self.bicubicDetail = bicubicDetail; self.ratio = ratio; self.blockSize = blockSize
        self.pixelRatio = pixelRatio; self.verdict = verdict; self.scale = scale; self.softest = softest
    }

    /// A square crop of the finished image, in its pixels, and its detail against bicubic there.
    public struct Region: Codable, Sendable, Equatable {
        public var left: Int, top: Int, side: Int
        public var ratio: Double
    }

    /// A warning for the run report, or nil when the figure is in range.
    public var warning: String? {
        switch verdict {
        case .ok: return nil
        case .soft:
            return String(format: "looks soft: %.2f× the detail of a plain bicubic enlargement (%.2f or more expected); add `upscale:` with a learned model (photos too), or `refine:` for a generated image, or choose a smaller finish size",
                          ratio, Sharpness.softBelow)
        case .oversharpened:
            return String(format: "looks over-sharpened: sharpening multiplied the detail at 100 %% by %.1f (above %.1f); lower finish.sharpen",
                          pixelRatio, Sharpness.oversharpenedAbove)
        }
    }
}

public enum Sharpness {
    /// Side of the measured crop after block averaging.
    public static let measuredSide = 256
    /// Below this ratio an enlargement has no more detail than bicubic.
    public static let softBelow = 1.1
    /// Above this, sharpening has made halos and noise.
    public static let oversharpenedAbove = 2.5

    /// The finished image against two references; nil when the finish did not enlarge.
    /// - `detailSource`: what the detail should come from (a generated image's first pass, or the
    ///   photo); a bicubic enlargement of it is the "no detail added" reference.
    /// - `finishSource`: the finish stage's input; its enlargement without sharpening is the
    ///   reference for sharpening halos and noise at 100 %.
    public static func compare(finished: String, finishSource: String, detailSource: String, settings: FinishSettings) throws -> SharpnessReport? {
        let output = try VipsImageRef.open(finished, sequential: false)
        let detailInput = try VipsImageRef.open(detailSource, sequential: false)
        guard output.width > detailInput.width || output.height > detailInput.height else { return nil }
        let scale = Double(max(output.width, output.height)) / Double(max(detailInput.width, detailInput.height))
        let block = max(1, Int(scale / 2))
        let side = min(measuredSide * block, output.width, output.height) / block * block
        let bicubic = try enlarged(detailSource, interpolator: "bicubic", width: output.width, height: output.height)
        // Crops on the 16-px JPEG block grid, so all images are quantised on the same blocks.
        func aligned(_ position: Int) -> Int { position / 16 * 16 }
        func region(left: Int, top: Int) throws -> (region: SharpnessReport.Region, detail: Double, reference: Double) {
            let reference = try jpegArea(bicubic, path: detailSource, left: left, top: top, side: side, settings: settings)
            let detail = try self.detail(output, path: finished, left: left, top: top, side: side, block: block)
            let referenceDetail = try self.detail(reference, path: detailSource, left: 0, top: 0, side: side, block: block)
            return (.init(left: left, top: top, side: side, ratio: detail / max(referenceDetail, 1e-9)), detail, referenceDetail)
        }
        let (centreLeft, centreTop) = (aligned((output.width - side) / 2), aligned((output.height - side) / 2))
        let centre = try region(left: centreLeft, top: centreTop)
        var grid = [centre]
        for top in Set([0, centreTop, aligned(output.height - side)]).sorted() {
            for left in Set([0, centreLeft, aligned(output.width - side)]).sorted() where (left, top) != (centreLeft, centreTop) {
                grid.append(try region(left: left, top: top))
            }
        }
        let mostDetail = grid.map(\.reference).max() ?? 0
        let textured = grid.filter { $0.reference >= 0.25 * mostDetail }
        let softest = textured.min { $0.region.ratio < $1.region.ratio }?.region

        let unsharpened = try jpegArea(try enlarged(finishSource, interpolator: settings.enlargeInterpolator.rawValue, width: output.width, height: output.height),
                                       path: finishSource, left: centreLeft, top: centreTop, side: side, settings: settings)
        let ratio = centre.region.ratio
        let pixelRatio = try self.detail(output, path: finished, left: centreLeft, top: centreTop, side: side, block: 1)
            / max(try self.detail(unsharpened, path: finishSource, left: 0, top: 0, side: side, block: 1), 1e-9)
        let verdict: SharpnessReport.Verdict = pixelRatio > oversharpenedAbove ? .oversharpened : (ratio < softBelow && scale >= 2 ? .soft : .ok)
        return SharpnessReport(detail: centre.detail, bicubicDetail: centre.reference, ratio: ratio, blockSize: block, pixelRatio: pixelRatio,
                               verdict: verdict, scale: scale, softest: softest)
    }

    /// `source` enlarged to width × height with `interpolator`, without sharpening.
    static func enlarged(_ source: String, interpolator: String, width: Int, height: Int) throws -> VipsImageRef {
        var image = try VipsImageRef.open(source, sequential: false)
        image = try image.apply("removing transparency", path: source) { sw_flatten_on_white($0, $1) }
        image = try image.apply("conversion to sRGB", path: source) { sw_to_srgb($0, $1) }
        return try image.apply("enlarging", path: source) { sw_enlarge($0, $1, Int32(width), Int32(height), interpolator) }
    }

    /// A square area of `image` through the finish's JPEG encoding.
    static func jpegArea(_ image: VipsImageRef, path: String, left: Int, top: Int, side: Int, settings: FinishSettings) throws -> VipsImageRef {
        let quality = Int32(settings.quality), subsample = settings.chromaSubsampling.vipsValue
        return try image.apply("JPEG round trip", path: path) {
            sw_jpeg_round_trip_area($0, Int32(left), Int32(top), Int32(side), Int32(side), quality, subsample, $1)
        }
    }

    static func detail(_ image: VipsImageRef, path: String, left: Int, top: Int, side: Int, block: Int) throws -> Double {
        var variance = 0.0
        guard sw_laplacian_variance(image.pointer, Int32(left), Int32(top), Int32(side), Int32(side), Int32(block), &variance) == 0 else {
            throw ImagingError.operationFailed(operation: "measuring detail", path: path, reason: Vips.lastError())
        }
        return variance
    }
}
