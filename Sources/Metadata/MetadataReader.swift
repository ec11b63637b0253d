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
        var exifValues = exif ?? StockMetadata()
        // EXIF has no title, so a file with a title and no description carries the title in
        // ImageDescription (Stockwerk writes it so): that copy is not a description, and reading
        // it as one would make a second `tag` with the same options change the file again.
        if let title = xmpValues.title ?? iimValues.title, exifValues.description == title { exifValues.description = nil }
        if iptcDigestMatches == false {
            return iimValues.filled(from: xmpValues).filled(from: exifValues)
        }
        return xmpValues.filled(from: iimValues).filled(from: exifValues)
    }
}

public enum MetadataReader {
    public static func read(jpeg path: String) throws -> EmbeddedMetadata {
        try read(jpeg: JPEGFile(contentsOf: path))
    }

    public static func read(jpegData data: Data) throws -> EmbeddedMetadata {
        try read(jpeg: JPEGFile(data: data))
    }

    public static func read(jpeg: JPEGFile) throws -> EmbeddedMetadata {
        let iccPresent = jpeg.first(JPEGFile.app2, signature: JPEGFile.iccSignature) != nil
        var result = try read(exif: jpeg.body(JPEGFile.app1, signature: JPEGFile.exifSignature).map { Data(JPEGFile.exifSignature) + $0 },
                              xmp: jpeg.body(JPEGFile.app1, signature: JPEGFile.xmpSignature),
                              photoshop: jpeg.body(JPEGFile.app13, signature: JPEGFile.photoshopSignature),
                              hasICCProfile: iccPresent)
        // Extended XMP adds to the main packet; the main packet's values win.
        if let extended = try ExtendedXMP.packet(in: jpeg) {
            let values = try XMPPacket.parse(extended)
            result.xmp = (result.xmp ?? StockMetadata()).filled(from: values)
        }
        return result
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
                for field in TextField.all { if let dataset = field.iim { values[keyPath: field.keyPath] = iim.strings(dataset).first } }
                values.title = values.title ?? iim.strings(.headline).first
                values.keywords = iim.strings(.keywords)
                values.creators = iim.strings(.byline)
                values.dateCreated = iim.strings(.dateCreated).first.flatMap { DateCreated(iimDate: $0, iimTime: iim.strings(.timeCreated).first)?.iso }
                result.iptc = values
            }
        }
        return result
    }
}
