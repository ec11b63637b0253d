import AtomicFiles
import CVips
import Foundation

/// What the finish stage did to one image.
public struct FinishResult: Codable, Sendable, Equatable {
    public var sourceWidth: Int
    public var sourceHeight: Int
    public var width: Int
    public var height: Int
    /// Output long edge / source long edge (> 1 means enlarged).
    public var scale: Double
    /// Detail against a plain bicubic enlargement, measured after an enlarging finish.
    public var sharpness: SharpnessReport?
}

/// The finish stage: source image → sRGB JPEG at agency size, through libvips, streaming.
public enum Finisher {
    /// Checks the size change without touching pixels, so a plan can refuse early.
    public static func plan(sourceWidth: Int, sourceHeight: Int, settings: FinishSettings,
                            path: String) throws -> FinishResult {
        let size = settings.outputSize(width: sourceWidth, height: sourceHeight)
        let scale = Double(max(size.width, size.height)) / Double(max(sourceWidth, sourceHeight))
        if scale > settings.maxEnlargement + 1e-9 {
            throw ImagingError.enlargementTooLarge(path: path, factor: scale, limit: settings.maxEnlargement,
                                                   source: "\(sourceWidth)x\(sourceHeight)",
                                                   target: "\(size.width)x\(size.height)")
        }
        return FinishResult(sourceWidth: sourceWidth, sourceHeight: sourceHeight,
                            width: size.width, height: size.height, scale: scale)
    }

    /// Finishes `source` into a JPEG at `destination` (written atomically).
    @discardableResult
    public static func finish(source: String, destination: String, settings: FinishSettings) throws -> FinishResult {
        guard (1...100).contains(settings.quality) else {
            throw ImagingError.invalidSettings("JPEG quality \(settings.quality) is outside 1…100")
        }
        // A rotated JPEG needs random access for the rotation; everything else streams.
        var image = try VipsImageRef.open(source, sequential: true)
        if sw_orientation(image.pointer) != 1 {
            image = try VipsImageRef.open(source, sequential: false)
            image = try image.apply("auto-rotation", path: source) { sw_autorotate($0, $1) }
        }
        let result = try plan(sourceWidth: image.width, sourceHeight: image.height, settings: settings, path: source)

        image = try image.apply("removing transparency", path: source) { sw_flatten_on_white($0, $1) }
        image = try image.apply("conversion to sRGB", path: source) { sw_to_srgb($0, $1) }
        if result.width != image.width || result.height != image.height {
            if result.width <= image.width && result.height <= image.height {
                let kernel = settings.shrinkKernel.vipsValue
                image = try image.apply("shrinking", path: source) {
                    sw_shrink($0, $1, Int32(result.width), Int32(result.height), kernel)
                }
            } else {
                let interpolator = settings.enlargeInterpolator.rawValue
                image = try image.apply("enlarging", path: source) {
                    sw_enlarge($0, $1, Int32(result.width), Int32(result.height), interpolator)
                }
            }
        }
        if let sharpen = settings.sharpen {
            image = try image.apply("sharpening", path: source) {
                sw_sharpen($0, $1, sharpen.sigma, sharpen.threshold, sharpen.flatAmount, sharpen.amount)
            }
        }
        let finalImage = image
        try AtomicFile.produce(destination) { temporary in
            guard sw_save_jpeg(finalImage.pointer, temporary, Int32(settings.quality),
                               settings.chromaSubsampling.vipsValue, settings.progressive ? 1 : 0) == 0 else {
                throw ImagingError.operationFailed(operation: "saving JPEG", path: destination, reason: Vips.lastError())
            }
        }
        return result
    }
}
