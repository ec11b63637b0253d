import AtomicFiles
import Foundation

/// Writes `StockMetadata` into a JPEG: EXIF (libexif), XMP (APP1) and IPTC IIM (APP13) together.
/// The ICC profile and every segment we do not own stay as they were, byte for byte.
public enum MetadataWriter {
    /// Returns the new file bytes and any warnings (values cut to IIM limits).
    public static func embed(_ metadata: StockMetadata, into data: Data, path: String = "image") throws
        -> (data: Data, warnings: [MetadataWarning]) {
        var jpeg = try JPEGFile(data: data, path: path)
        var warnings: [MetadataWarning] = []

        let exifBody = jpeg.body(JPEGFile.app1, signature: JPEGFile.exifSignature)
        let exif = try EXIFBlock.update(exifBody.map { Data(JPEGFile.exifSignature) + $0 }, with: metadata)
        jpeg.replace(JPEGFile.app1, signature: JPEGFile.exifSignature, with: exif)

        // Foreign properties of the old packet (and of its Extended XMP, folded in) are kept.
        let oldPackets = [jpeg.body(JPEGFile.app1, signature: JPEGFile.xmpSignature), try ExtendedXMP.packet(in: jpeg)].compactMap { $0 }
        jpeg.removeAll(JPEGFile.app1, signature: JPEGFile.extendedXMPSignature)
        let xmp = try XMPPacket.build(metadata, merging: oldPackets)
        guard xmp.count + JPEGFile.xmpSignature.count <= JPEGFile.maxPayload else {
            throw MetadataError.segmentTooLarge(kind: "XMP", bytes: xmp.count)
        }
        jpeg.replace(JPEGFile.app1, signature: JPEGFile.xmpSignature, with: Data(JPEGFile.xmpSignature) + xmp)

        var resources = PhotoshopResources()
        if let existing = jpeg.body(JPEGFile.app13, signature: JPEGFile.photoshopSignature) {
            resources = try PhotoshopResources(parsing: existing)
        }
        let oldIIM = try resources.data(for: PhotoshopResources.iptcID).map(IPTCIIM.init(parsing:)) ?? IPTCIIM()
        resources.setIPTC(IPTCIIM.build(from: metadata, keeping: oldIIM, warnings: &warnings).serialized())
        jpeg.replace(JPEGFile.app13, signature: JPEGFile.photoshopSignature,
                     with: Data(JPEGFile.photoshopSignature) + resources.serialized())
        return (try jpeg.serialized(), warnings)
    }

    /// Reads `source`, embeds the metadata and writes `destination` atomically (they may be the same).
    @discardableResult
    public static func write(_ metadata: StockMetadata, source: String, destination: String) throws -> [MetadataWarning] {
        guard let data = FileManager.default.contents(atPath: source) else {
            throw MetadataError.cannotRead(path: source, reason: "file missing or unreadable")
        }
        let result = try embed(metadata, into: data, path: source)
        try AtomicFile.write(result.data, to: destination)
        return result.warnings
    }
}
