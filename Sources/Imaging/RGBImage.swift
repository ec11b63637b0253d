import AtomicFiles
import CVips
import Foundation

/// 8-bit sRGB pixels in memory, interleaved RGB, top row first: what the diffusion engine reads
/// (init images) and writes (generated images).
public struct RGBImage: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * 3, "RGBImage: \(pixels.count) bytes for \(width)x\(height)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Reads any image libvips opens: EXIF orientation applied, transparency flattened on white,
    /// converted to 8-bit sRGB, and resized to `size` (Lanczos 3 down, the finisher's
    /// default bicubic up) when one is given and differs.
    public static func read(_ path: String, size: (width: Int, height: Int)? = nil) throws -> RGBImage {
        var image = try VipsImageRef.open(path, sequential: false)
        image = try image.apply("auto-rotation", path: path) { sw_autorotate($0, $1) }
        image = try image.apply("removing transparency", path: path) { sw_flatten_on_white($0, $1) }
        image = try image.apply("conversion to sRGB", path: path) { sw_to_srgb($0, $1) }
        if let size, size.width != image.width || size.height != image.height {
            if size.width <= image.width && size.height <= image.height {
                image = try image.apply("shrinking", path: path) { sw_shrink($0, $1, Int32(size.width), Int32(size.height), FinishSettings.ShrinkKernel.lanczos3.vipsValue) }
            } else if size.width >= image.width && size.height >= image.height {
                image = try image.apply("enlarging", path: path) { sw_enlarge($0, $1, Int32(size.width), Int32(size.height), FinishSettings.Interpolator.bicubic.rawValue) }
            } else {
                throw ImagingError.operationFailed(operation: "resizing", path: path,
                                                   reason: "\(image.width)x\(image.height) cannot become \(size.width)x\(size.height) without distortion; crop it to that aspect ratio first")
            }
        }
        guard sw_bands(image.pointer) == 3 else {
            throw ImagingError.operationFailed(operation: "reading pixels", path: path, reason: "expected 3 colour bands after conversion, got \(sw_bands(image.pointer))")
        }
        var length = 0
        guard let bytes = sw_to_rgb_bytes(image.pointer, &length) else {
            throw ImagingError.operationFailed(operation: "reading pixels", path: path, reason: Vips.lastError())
        }
        defer { sw_free_bytes(bytes) }
        return RGBImage(width: image.width, height: image.height, pixels: Array(UnsafeBufferPointer(start: bytes, count: length)))
    }

    /// The PNG text chunk `key` of a file (nil when it has none, or is not a PNG).
    public static func pngText(_ path: String, key: String) throws -> String? {
        let image = try VipsImageRef.open(path, sequential: true)
        guard let text = sw_png_text(image.pointer, key) else { return nil }
        defer { sw_free_bytes(text) }
        return String(cString: text)
    }

    /// Writes a PNG (or any format by extension) through a temporary name and a rename.
    /// `pngText` becomes PNG text chunks (key → text), e.g. AUTOMATIC1111's `parameters`.
    public func write(to path: String, pngText: [String: String] = [:]) throws {
        try Vips.ensureStarted()
        var output: UnsafeMutablePointer<VipsImage>?
        let status = pixels.withUnsafeBufferPointer { sw_from_rgb_bytes($0.baseAddress, Int32(width), Int32(height), &output) }
        guard status == 0, let pointer = output else { throw ImagingError.operationFailed(operation: "making an image", path: path, reason: Vips.lastError()) }
        let image = VipsImageRef(pointer)
        for (index, (key, text)) in pngText.sorted(by: { $0.key < $1.key }).enumerated() {
            sw_set_string(image.pointer, "png-comment-\(index)-\(key)", text)
        }
        try AtomicFile.produce(path) { temporary in
            guard sw_save_by_extension(image.pointer, temporary) == 0 else {
                throw ImagingError.operationFailed(operation: "saving", path: path, reason: Vips.lastError())
            }
        }
    }
}
