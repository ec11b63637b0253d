import AtomicFiles
import CVips
import Foundation

/// What an agency check needs to know about an image file, read from its header only.
public struct ImageInfo: Sendable, Equatable, Codable {
    public enum Format: String, Sendable, Codable { case jpeg, png, tiff, webp, other }

    public var width: Int
    public var height: Int
    public var format: Format
    public var bands: Int
    public var fileSize: Int64
    /// The embedded ICC profile's description, nil when there is none.
    public var iccDescription: String?
    /// The colour space the pixels are in: "srgb" when sRGB (by profile, or untagged RGB), else a name.
    public var colorSpace: String
    /// Why the file is not whole (cut off), or nil: see `ImageIntegrity`.
    public var damage: String?

    public init(width: Int, height: Int, format: Format, bands: Int, fileSize: Int64, iccDescription: String?, colorSpace: String) {
        self.width = width; self.height = height; self.format = format; self.bands = bands
        self.fileSize = fileSize; self.iccDescription = iccDescription; self.colorSpace = colorSpace
    }

    public var megapixels: Double { Double(width * height) / 1_000_000 }
    public var longEdge: Int { max(width, height) }

    public static func read(_ path: String) throws -> ImageInfo {
        // Only regular files: a FIFO would block the reader, a device (/dev/zero) would never end.
        if let problem = RegularFile.check(path) { throw ImagingError.cannotOpen(path: path, reason: problem) }
        let image = try VipsImageRef.open(path, sequential: true)
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        let size = (attributes?[.size] as? NSNumber)?.int64Value ?? 0
        let loader = String(cString: sw_loader(image.pointer))
        var iccLength = 0
        var description: String?
        if let bytes = sw_icc_profile(image.pointer, &iccLength), iccLength > 0 {
            let data = Data(bytes: bytes, count: iccLength)
            description = ICCProfile.description(of: data) ?? "unnamed ICC profile"
        }
        let bands = Int(sw_bands(image.pointer))
        // A rotated JPEG is displayed with swapped sides; agencies see the displayed size.
        let orientation = Int(sw_orientation(image.pointer))
        var width = image.width, height = image.height
        if orientation >= 5 { swap(&width, &height) }
        let format = Format(loader: loader)
        var info = ImageInfo(width: width, height: height, format: format, bands: bands,
                             fileSize: size, iccDescription: description,
                             colorSpace: ImageInfo.colorSpace(description: description, bands: bands,
                                                              interpretation: sw_interpretation(image.pointer)))
        info.damage = ImageIntegrity.damage(of: path, format: format)
        return info
    }

    static func colorSpace(description: String?, bands: Int, interpretation: Int32) -> String {
        if let description {
            let lower = description.lowercased()
            if lower.contains("srgb") || lower.contains("iec61966-2") { return "srgb" }
            if lower.contains("adobe rgb") { return "adobe-rgb" }
            if lower.contains("p3") { return "display-p3" }  // "Display P3", vips' compact "sP3C"
            if lower.contains("prophoto") { return "prophoto-rgb" }
            return "icc:" + description
        }
        if interpretation == Int32(VIPS_INTERPRETATION_CMYK.rawValue) { return "cmyk" }
        if bands <= 2 { return "grey" }
        return "srgb"  // untagged RGB is taken as sRGB, as browsers and agencies do
    }
}

extension ImageInfo.Format {
    init(loader: String) {
        if loader.hasPrefix("jpeg") { self = .jpeg }
        else if loader.hasPrefix("png") { self = .png }
        else if loader.hasPrefix("tiff") { self = .tiff }
        else if loader.hasPrefix("webp") { self = .webp }
        else { self = .other }
    }
}
