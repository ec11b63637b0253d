import CExif
import Foundation

/// The EXIF fields Stockwerk owns, edited through libexif; all other EXIF data is kept.
public enum EXIFBlock {
    /// Updates (or creates) an EXIF block ("Exif\0\0" + TIFF) with our fields.
    public static func update(_ existing: Data?, with metadata: StockMetadata) throws -> Data {
        let exif: UnsafeMutablePointer<ExifData>? = existing.flatMap { data in
            data.withUnsafeBytes { raw in
                sw_exif_open(raw.bindMemory(to: UInt8.self).baseAddress, UInt32(data.count))
            }
        } ?? sw_exif_open(nil, 0)
        guard let exif else { throw MetadataError.exifFailed(reason: "libexif could not allocate or parse the block") }
        defer { sw_exif_close(exif) }

        func set(_ tag: ExifTag, _ value: String?) throws {
            guard let value, !value.isEmpty else { return }
            guard sw_exif_set_ascii(exif, EXIF_IFD_0, tag, value) == 0 else {
                throw MetadataError.exifFailed(reason: "cannot set tag 0x\(String(tag.rawValue, radix: 16))")
            }
        }
        try set(EXIF_TAG_IMAGE_DESCRIPTION, metadata.description ?? metadata.title)
        try set(EXIF_TAG_ARTIST, metadata.creators.isEmpty ? nil : metadata.creators.joined(separator: "; "))
        try set(EXIF_TAG_COPYRIGHT, metadata.copyright)
        try set(EXIF_TAG_SOFTWARE, metadata.software)

        var bytes: UnsafeMutablePointer<UInt8>?
        var length: UInt32 = 0
        guard sw_exif_save(exif, &bytes, &length) == 0, let bytes else {
            throw MetadataError.exifFailed(reason: "libexif could not serialise the block")
        }
        defer { free(bytes) }
        return Data(bytes: bytes, count: Int(length))
    }

    /// Reads our fields back from an EXIF block.
    public static func read(_ data: Data) -> StockMetadata {
        let exif: UnsafeMutablePointer<ExifData>? = data.withUnsafeBytes { raw in
            sw_exif_open(raw.bindMemory(to: UInt8.self).baseAddress, UInt32(data.count))
        }
        guard let exif else { return StockMetadata() }
        defer { sw_exif_close(exif) }
        func get(_ tag: ExifTag) -> String? {
            var buffer = [CChar](repeating: 0, count: 65_536)
            let length = sw_exif_get_ascii(exif, EXIF_IFD_0, tag, &buffer, UInt32(buffer.count))
            guard length > 0 else { return nil }
            let bytes = buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }
            return String(bytes: bytes, encoding: .utf8) ?? String(bytes: bytes, encoding: .isoLatin1)
        }
        var metadata = StockMetadata()
        metadata.description = get(EXIF_TAG_IMAGE_DESCRIPTION)
        if let artist = get(EXIF_TAG_ARTIST) { metadata.creators = [artist] }
        metadata.copyright = get(EXIF_TAG_COPYRIGHT)
        metadata.software = get(EXIF_TAG_SOFTWARE)
        return metadata
    }
}
