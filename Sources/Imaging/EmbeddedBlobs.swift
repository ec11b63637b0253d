import CVips
import Foundation

/// Raw metadata blocks as libvips finds them in any format it reads (JPEG, PNG, TIFF, WebP).
public struct EmbeddedBlobs: Sendable {
    /// EXIF starting with "Exif\0\0" (libvips adds the prefix for formats that lack it).
    public var exif: Data?
    /// The XMP packet (XML).
    public var xmp: Data?
    /// Photoshop image resources (the APP13 payload minus its "Photoshop 3.0" header), or raw IIM.
    public var iptc: Data?

    public static func read(_ path: String) throws -> EmbeddedBlobs {
        let image = try VipsImageRef.open(path, sequential: true)
        func blob(_ name: String) -> Data? {
            var length = 0
            guard let bytes = sw_blob(image.pointer, name, &length), length > 0 else { return nil }
            return Data(bytes: bytes, count: length)
        }
        return EmbeddedBlobs(exif: blob("exif-data"), xmp: blob("xmp-data"), iptc: blob("iptc-data"))
    }
}
