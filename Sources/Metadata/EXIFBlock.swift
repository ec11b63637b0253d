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
        if let date = metadata.dateCreated.flatMap(DateCreated.init) {
            guard sw_exif_set_ascii(exif, EXIF_IFD_EXIF, EXIF_TAG_DATE_TIME_ORIGINAL, date.exif) == 0 else {
                throw MetadataError.exifFailed(reason: "cannot set DateTimeOriginal")
            }
        }
        if let generation = metadata.generation {
            let comment = UserComment.encode(generation.a1111Text, bigEndian: sw_exif_is_big_endian(exif) != 0)
            guard comment.withUnsafeBytes({ sw_exif_set_undefined(exif, EXIF_IFD_EXIF, EXIF_TAG_USER_COMMENT, $0.bindMemory(to: UInt8.self).baseAddress, UInt32($0.count)) }) == 0 else {
                throw MetadataError.exifFailed(reason: "cannot set UserComment")
            }
        }

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
        func get(_ tag: ExifTag, ifd: ExifIfd = EXIF_IFD_0) -> String? {
            var buffer = [CChar](repeating: 0, count: 65_536)
            let length = sw_exif_get_ascii(exif, ifd, tag, &buffer, UInt32(buffer.count))
            guard length > 0 else { return nil }
            let bytes = buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }
            return String(bytes: bytes, encoding: .utf8) ?? String(bytes: bytes, encoding: .isoLatin1)
        }
        var metadata = StockMetadata()
        metadata.description = get(EXIF_TAG_IMAGE_DESCRIPTION)
        if let artist = get(EXIF_TAG_ARTIST) { metadata.creators = [artist] }
        metadata.copyright = get(EXIF_TAG_COPYRIGHT)
        metadata.software = get(EXIF_TAG_SOFTWARE)
        metadata.dateCreated = EXIFBlock.isoDate(fromEXIF: get(EXIF_TAG_DATE_TIME_ORIGINAL, ifd: EXIF_IFD_EXIF))
        var comment = [UInt8](repeating: 0, count: 65_536)
        let length = sw_exif_get_undefined(exif, EXIF_IFD_EXIF, EXIF_TAG_USER_COMMENT, &comment, UInt32(comment.count))
        if length > 0, let text = UserComment.decode(Data(comment.prefix(Int(length))), bigEndian: sw_exif_is_big_endian(exif) != 0) {
            metadata.generation = GenerationParameters.fromA1111(text)
        }
        return metadata
    }
}

extension EXIFBlock {
    /// "YYYY:MM:DD HH:MM:SS" → "YYYY-MM-DDTHH:MM:SS" (nil for blank or malformed values).
    static func isoDate(fromEXIF text: String?) -> String? {
        guard let text, text.count == 19 else { return nil }
        var characters = Array(text)
        characters[4] = "-"; characters[7] = "-"; characters[10] = "T"
        return DateCreated(String(characters))?.iso
    }
}

/// EXIF UserComment: an 8-byte character-code prefix, then the text. Plain ASCII is stored as
/// ASCII; anything else as UNICODE (UTF-16 in the block's byte order, which ExifTool and exiv2 read).
enum UserComment {
    static let asciiPrefix: [UInt8] = Array("ASCII".utf8) + [0, 0, 0]
    static let unicodePrefix: [UInt8] = Array("UNICODE".utf8) + [0]

    static func encode(_ text: String, bigEndian: Bool) -> Data {
        if text.unicodeScalars.allSatisfy(\.isASCII) { return Data(asciiPrefix + Array(text.utf8)) }
        var bytes = unicodePrefix
        for unit in text.utf16 {
            bytes += bigEndian ? [UInt8(unit >> 8), UInt8(unit & 0xFF)] : [UInt8(unit & 0xFF), UInt8(unit >> 8)]
        }
        return Data(bytes)
    }

    static func decode(_ data: Data, bigEndian: Bool) -> String? {
        let bytes = [UInt8](data)
        guard bytes.count >= 8 else { return nil }
        let body = Array(bytes[8...])
        if Array(bytes[0..<8]) == unicodePrefix {
            var units: [UInt16] = []
            for i in stride(from: 0, to: body.count - 1, by: 2) {
                units.append(bigEndian ? UInt16(body[i]) << 8 | UInt16(body[i + 1]) : UInt16(body[i + 1]) << 8 | UInt16(body[i]))
            }
            return String(decoding: units, as: UTF16.self)
        }
        let text = String(decoding: body, as: UTF8.self)
        return text.trimmingCharacters(in: CharacterSet(charactersIn: "\0 "))
    }
}
