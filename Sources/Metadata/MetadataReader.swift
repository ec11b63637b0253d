import Foundation

/// Everything Stockwerk reads back from a file, by location, plus a reconciled view.
public struct EmbeddedMetadata: Codable, Sendable, Equatable {
    public var xmp: StockMetadata?
    public var iptc: StockMetadata?
    public var exif: StockMetadata?
    /// Whether the stored IPTC digest matches the IIM (nil when there is no digest).
    public var iptcDigestMatches: Bool?
    public var hasICCProfile: Bool

    /// One value per field: XMP first, then IPTC IIM, then EXIF (the Metadata Working Group order;
    /// the IIM wins over XMP when its digest shows XMP was not updated with it).
    public var reconciled: StockMetadata {
        let xmpValues = xmp ?? StockMetadata()
        let iimValues = iptc ?? StockMetadata()
        let exifValues = exif ?? StockMetadata()
        if iptcDigestMatches == false {
            return iimValues.filled(from: xmpValues).filled(from: exifValues)
        }
        return xmpValues.filled(from: iimValues).filled(from: exifValues)
    }
}

public enum MetadataReader {
    public static func read(jpeg path: String) throws -> EmbeddedMetadata {
        let jpeg = try JPEGFile(contentsOf: path)
        let iccPresent = jpeg.first(JPEGFile.app2, signature: JPEGFile.iccSignature) != nil
        return try read(exif: jpeg.body(JPEGFile.app1, signature: JPEGFile.exifSignature).map { Data(JPEGFile.exifSignature) + $0 },
                        xmp: jpeg.body(JPEGFile.app1, signature: JPEGFile.xmpSignature),
                        photoshop: jpeg.body(JPEGFile.app13, signature: JPEGFile.photoshopSignature),
                        hasICCProfile: iccPresent)
    }

    /// Reads from raw blocks (as libvips hands them over for PNG, TIFF and WebP too).
    public static func read(exif: Data?, xmp: Data?, photoshop: Data?, hasICCProfile: Bool = false) throws -> EmbeddedMetadata {
        var result = EmbeddedMetadata(hasICCProfile: hasICCProfile)
        if let exif { result.exif = EXIFBlock.read(exif) }
        if let xmp { result.xmp = try XMPPacket.parse(xmp) }
        if var photoshop {
            // libvips hands over JPEG APP13 with its "Photoshop 3.0" header; the resources follow it.
            if photoshop.starts(with: JPEGFile.photoshopSignature) { photoshop = photoshop.dropFirst(JPEGFile.photoshopSignature.count) }
            let iimData: Data?
            if photoshop.first == 0x1C {
                iimData = photoshop  // bare IIM (TIFF stores it so)
            } else {
                let resources = try PhotoshopResources(parsing: photoshop)
                iimData = resources.data(for: PhotoshopResources.iptcID)
                if let iim = iimData, let digest = resources.data(for: PhotoshopResources.iptcDigestID) {
                    result.iptcDigestMatches = digest == IPTCDigest.of(iim)
                }
            }
            if let iimData {
                let iim = try IPTCIIM(parsing: iimData)
                var values = StockMetadata()
                values.title = iim.strings(.objectName).first ?? iim.strings(.headline).first
                values.description = iim.strings(.caption).first
                values.keywords = iim.strings(.keywords)
                values.creators = iim.strings(.byline)
                values.copyright = iim.strings(.copyright).first
                result.iptc = values
            }
        }
        return result
    }
}
