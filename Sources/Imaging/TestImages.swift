import AtomicFiles
import CVips
import Foundation

/// Deterministic synthetic images for tests and benchmarks (no sample files needed).
public enum TestImages {
    public enum Profile: String { case srgb, p3 }

    /// Writes a width×height test pattern; the format follows the extension (.jpg, .png, .tif, .webp).
    public static func write(width: Int, height: Int, to path: String, profile: Profile? = nil) throws {
        try Vips.ensureStarted()
        var output: UnsafeMutablePointer<VipsImage>?
        let status = profile.map { sw_test_pattern(Int32(width), Int32(height), $0.rawValue, &output) }
            ?? sw_test_pattern(Int32(width), Int32(height), nil, &output)
        guard status == 0, let pointer = output else {
            throw ImagingError.operationFailed(operation: "test pattern", path: path, reason: Vips.lastError())
        }
        let image = VipsImageRef(pointer)
        try AtomicFile.produce(path) { temporary in
            let ok = path.lowercased().hasSuffix(".png")
                ? sw_save_png(image.pointer, temporary) == 0
                : vipsSave(image.pointer, temporary)
            guard ok else {
                throw ImagingError.operationFailed(operation: "saving", path: path, reason: Vips.lastError())
            }
        }
    }

    private static func vipsSave(_ image: UnsafeMutablePointer<VipsImage>, _ path: String) -> Bool {
        if path.lowercased().hasSuffix(".jpg") || path.lowercased().hasSuffix(".jpeg") {
            return sw_save_jpeg(image, path, 90, 0, 0) == 0
        }
        return sw_save_by_extension(image, path) == 0
    }
}

/// Simple pixel statistics, used to check that an image has real content.
public enum ImageStatistics {
    public static func meanAndDeviation(of path: String) throws -> (mean: Double, deviation: Double) {
        let image = try VipsImageRef.open(path, sequential: false)  // two passes over the pixels
        var mean = 0.0, deviation = 0.0
        guard sw_stats(image.pointer, &mean, &deviation) == 0 else {
            throw ImagingError.operationFailed(operation: "statistics", path: path, reason: Vips.lastError())
        }
        return (mean, deviation)
    }
}
