import CVips
import Foundation

/// Small derived images: contact-sheet thumbnails and the perceptual hash.
public enum Thumbnails {
    /// A JPEG of `path` whose longer side is at most `size` px (metadata stripped).
    public static func jpeg(_ path: String, size: Int = 320, quality: Int = 80) throws -> Data {
        try Vips.ensureStarted()
        var buffer: UnsafeMutableRawPointer?
        var length = 0
        guard sw_thumbnail_jpeg(path, Int32(size), Int32(quality), &buffer, &length) == 0, let buffer else {
            throw ImagingError.operationFailed(operation: "making a thumbnail", path: path, reason: Vips.lastError())
        }
        defer { sw_free_bytes(buffer) }
        return Data(bytes: buffer, count: length)
    }

    /// The area left, top, width × height of the image at `path` at 100 %, as JPEG bytes.
    public static func crop(_ path: String, left: Int, top: Int, width: Int, height: Int, quality: Int = 85) throws -> Data {
        try Vips.ensureStarted()
        var buffer: UnsafeMutableRawPointer?
        var length = 0
        guard sw_crop_jpeg(path, Int32(left), Int32(top), Int32(width), Int32(height), Int32(quality), &buffer, &length) == 0, let buffer else {
            throw ImagingError.operationFailed(operation: "cropping", path: path, reason: Vips.lastError())
        }
        defer { sw_free_bytes(buffer) }
        return Data(bytes: buffer, count: length)
    }

    /// The 64-bit difference hash (dHash): the image shrunk to 9×8 grey pixels, one bit per pair
    /// of horizontal neighbours (is the left one brighter?). Resizing, re-encoding and mild colour
    /// changes keep it within a few bits; different pictures differ in about half of them.
    public static func differenceHash(_ path: String) throws -> UInt64 {
        try Vips.ensureStarted()
        var pixels = [UInt8](repeating: 0, count: 9 * 8)
        guard sw_gray_thumbnail(path, 9, 8, &pixels) == 0 else {
            throw ImagingError.operationFailed(operation: "hashing", path: path, reason: Vips.lastError())
        }
        var hash: UInt64 = 0
        for row in 0..<8 {
            for column in 0..<8 where pixels[row * 9 + column] > pixels[row * 9 + column + 1] {
                hash |= 1 << UInt64(row * 8 + column)
            }
        }
        return hash
    }

    /// A small sRGB copy of the image for analysis (longest side at most `size`).
    public static func rgb(_ path: String, size: Int = 96) throws -> RGBImage {
        try Vips.ensureStarted()
        var width: Int32 = 0, height: Int32 = 0
        var bytes: UnsafeMutablePointer<UInt8>?
        guard sw_rgb_thumbnail(path, Int32(size), &width, &height, &bytes) == 0, let bytes else {
            throw ImagingError.operationFailed(operation: "making a thumbnail", path: path, reason: Vips.lastError())
        }
        defer { sw_free_bytes(bytes) }
        return RGBImage(width: Int(width), height: Int(height), pixels: Array(UnsafeBufferPointer(start: bytes, count: Int(width * height) * 3)))
    }

    /// Bits that differ between two hashes.
    public static func distance(_ a: UInt64, _ b: UInt64) -> Int { (a ^ b).nonzeroBitCount }
}
