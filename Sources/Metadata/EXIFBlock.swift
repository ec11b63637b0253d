import CExif
import Foundation

/// The EXIF fields Stockwerk owns, edited through libexif; all other EXIF data is kept.
public enum EXIFBlock {
    /// Updates (or creates) an EXIF block ("Exif\0\0" + TIFF) with our fields. Returns the block
    /// and the names of the camera fields it dropped (`options.dropCameraFields`).
    public static func update(_ existing: Data?, with metadata: StockMetadata, options: WriteOptions = WriteOptions(),
                              sRGBProfile: Bool = false) throws -> (block: Data, dropped: [String]) {
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
        if let date = metadata.dateCreated.flatMap(DateCreated.init), !options.dropCameraFields {
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

        // Agencies read EXIF ColorSpace; "Uncalibrated" (libvips' default) next to an sRGB profile misleads them.
        if sRGBProfile { sw_exif_set_short(exif, EXIF_IFD_EXIF, EXIF_TAG_COLOR_SPACE, 1) }
        if let dpi = options.resolution {
            sw_exif_set_rational(exif, EXIF_IFD_0, EXIF_TAG_X_RESOLUTION, UInt32(clamping: dpi), 1)
            sw_exif_set_rational(exif, EXIF_IFD_0, EXIF_TAG_Y_RESOLUTION, UInt32(clamping: dpi), 1)
            sw_exif_set_short(exif, EXIF_IFD_0, EXIF_TAG_RESOLUTION_UNIT, 2)  // inches
        }
        var dropped: [String] = []
        if options.dropCameraFields {
            for (ifd, tag, name) in cameraFields where sw_exif_has(exif, ifd, tag) != 0 {
                sw_exif_remove(exif, ifd, tag)
                dropped.append(name)
            }
            if sw_exif_clear_ifd(exif, EXIF_IFD_GPS) > 0 { dropped.append("GPS") }
        }

        var bytes: UnsafeMutablePointer<UInt8>?
        var length: UInt32 = 0
        guard sw_exif_save(exif, &bytes, &length) == 0, let bytes else {
            throw MetadataError.exifFailed(reason: "libexif could not serialise the block")
        }
        defer { free(bytes) }
        return (Data(bytes: bytes, count: Int(length)), dropped)
    }

    /// What a camera records about itself and the shot: wrong on an AI image made from a photo.
    static let cameraFields: [(ExifIfd, ExifTag, String)] = [
        (EXIF_IFD_0, EXIF_TAG_MAKE, "Make"), (EXIF_IFD_0, EXIF_TAG_MODEL, "Model"),
        (EXIF_IFD_EXIF, EXIF_TAG_DATE_TIME_ORIGINAL, "DateTimeOriginal"), (EXIF_IFD_EXIF, EXIF_TAG_DATE_TIME_DIGITIZED, "DateTimeDigitized"),
        (EXIF_IFD_EXIF, EXIF_TAG_EXPOSURE_TIME, "ExposureTime"), (EXIF_IFD_EXIF, EXIF_TAG_FNUMBER, "FNumber"),
        (EXIF_IFD_EXIF, EXIF_TAG_EXPOSURE_PROGRAM, "ExposureProgram"), (EXIF_IFD_EXIF, EXIF_TAG_ISO_SPEED_RATINGS, "ISO"),
        (EXIF_IFD_EXIF, EXIF_TAG_SHUTTER_SPEED_VALUE, "ShutterSpeedValue"), (EXIF_IFD_EXIF, EXIF_TAG_APERTURE_VALUE, "ApertureValue"),
        (EXIF_IFD_EXIF, EXIF_TAG_BRIGHTNESS_VALUE, "BrightnessValue"), (EXIF_IFD_EXIF, EXIF_TAG_EXPOSURE_BIAS_VALUE, "ExposureBiasValue"),
        (EXIF_IFD_EXIF, EXIF_TAG_MAX_APERTURE_VALUE, "MaxApertureValue"), (EXIF_IFD_EXIF, EXIF_TAG_SUBJECT_DISTANCE, "SubjectDistance"),
        (EXIF_IFD_EXIF, EXIF_TAG_METERING_MODE, "MeteringMode"), (EXIF_IFD_EXIF, EXIF_TAG_LIGHT_SOURCE, "LightSource"),
        (EXIF_IFD_EXIF, EXIF_TAG_FLASH, "Flash"), (EXIF_IFD_EXIF, EXIF_TAG_FOCAL_LENGTH, "FocalLength"),
        (EXIF_IFD_EXIF, EXIF_TAG_FOCAL_LENGTH_IN_35MM_FILM, "FocalLengthIn35mmFormat"), (EXIF_IFD_EXIF, EXIF_TAG_WHITE_BALANCE, "WhiteBalance"),
        (EXIF_IFD_EXIF, EXIF_TAG_MAKER_NOTE, "MakerNote"), (EXIF_IFD_EXIF, EXIF_TAG_BODY_SERIAL_NUMBER, "SerialNumber"),
        (EXIF_IFD_EXIF, EXIF_TAG_CAMERA_OWNER_NAME, "OwnerName"), (EXIF_IFD_EXIF, EXIF_TAG_LENS_SPECIFICATION, "LensInfo"),
        (EXIF_IFD_EXIF, EXIF_TAG_LENS_MAKE, "LensMake"), (EXIF_IFD_EXIF, EXIF_TAG_LENS_MODEL, "LensModel"),
        (EXIF_IFD_EXIF, EXIF_TAG_LENS_SERIAL_NUMBER, "LensSerialNumber"), (EXIF_IFD_EXIF, EXIF_TAG_SUBJECT_DISTANCE_RANGE, "SubjectDistanceRange"),
    ]

    /// Opens an EXIF block ("Exif\0\0" + TIFF) with libexif for `body`; nil when it cannot be parsed.
    static func withBlock<T>(_ data: Data, _ body: (UnsafeMutablePointer<ExifData>) -> T) -> T? {
        let exif: UnsafeMutablePointer<ExifData>? = data.withUnsafeBytes { raw in
            sw_exif_open(raw.bindMemory(to: UInt8.self).baseAddress, UInt32(data.count))
        }
        guard let exif else { return nil }
        defer { sw_exif_close(exif) }
        return body(exif)
    }

    static func ascii(_ exif: UnsafeMutablePointer<ExifData>, _ tag: ExifTag, ifd: ExifIfd = EXIF_IFD_0) -> String? {
        var buffer = [CChar](repeating: 0, count: 65_536)
        let length = sw_exif_get_ascii(exif, ifd, tag, &buffer, UInt32(buffer.count))
        guard length > 0 else { return nil }
        let bytes = buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }
        return String(bytes: bytes, encoding: .utf8) ?? String(bytes: bytes, encoding: .isoLatin1)
    }

    /// Reads our fields back from an EXIF block.
    public static func read(_ data: Data) -> StockMetadata {
        withBlock(data) { exif in
            var metadata = StockMetadata()
            metadata.description = ascii(exif, EXIF_TAG_IMAGE_DESCRIPTION)
            if let artist = ascii(exif, EXIF_TAG_ARTIST) { metadata.creators = [artist] }
            metadata.copyright = ascii(exif, EXIF_TAG_COPYRIGHT)
            metadata.software = ascii(exif, EXIF_TAG_SOFTWARE)
            metadata.dateCreated = EXIFBlock.isoDate(fromEXIF: ascii(exif, EXIF_TAG_DATE_TIME_ORIGINAL, ifd: EXIF_IFD_EXIF))
            if let text = userComment(exif) { metadata.generation = GenerationParameters.fromA1111(text) }
            return metadata
        } ?? StockMetadata()
    }

    /// What generators write into EXIF, for provenance: the UserComment text and IFD0 Software
    /// (Fooocus names itself there). Both nil when the block cannot be parsed.
    public static func generatorText(_ data: Data) -> (comment: String?, software: String?) {
        withBlock(data) { exif in (userComment(exif), ascii(exif, EXIF_TAG_SOFTWARE)) } ?? (nil, nil)
    }

    static func userComment(_ exif: UnsafeMutablePointer<ExifData>) -> String? {
        // An APP1 segment holds at most 64 KiB, so no comment is longer. Fooocus (through
        // Pillow's Image.Exif) puts its UserComment in IFD0 instead of the EXIF IFD.
        var comment = [UInt8](repeating: 0, count: 65_536)
        for ifd in [EXIF_IFD_EXIF, EXIF_IFD_0] {
            let length = sw_exif_get_undefined(exif, ifd, EXIF_TAG_USER_COMMENT, &comment, UInt32(comment.count))
            if length > 0 { return UserComment.decode(Data(comment.prefix(Int(length))), bigEndian: sw_exif_is_big_endian(exif) != 0) }
        }
        return nil
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
        let prefix = Array(bytes[0..<8])
        let known = [asciiPrefix, unicodePrefix, Array("JIS".utf8) + [0, 0, 0, 0, 0], [UInt8](repeating: 0, count: 8)]
        // Without a character-code prefix (Fooocus writes bare text), the whole value is the text.
        guard known.contains(prefix) else {
            return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: CharacterSet(charactersIn: "\0 "))
        }
        let body = Array(bytes[8...])
        if prefix == unicodePrefix {
            func units(bigEndian: Bool) -> [UInt16] {
                var result: [UInt16] = []
                var i = 0
                while i + 1 < body.count {
                    let high: UInt16 = UInt16(bigEndian ? body[i] : body[i + 1]), low: UInt16 = UInt16(bigEndian ? body[i + 1] : body[i])
                    result.append(high << 8 | low)
                    i += 2
                }
                return result
            }
            // Writers disagree on the byte order (piexif, which A1111 uses, always writes UTF-16BE;
            // ExifTool follows the block's order): a byte-order mark decides, else the order that
            // reads as more ASCII, else the block's.
            var chosen = units(bigEndian: bigEndian)
            let other = units(bigEndian: !bigEndian)
            func asciiCount(_ text: [UInt16]) -> Int { text.reduce(0) { count, unit in count + ((unit >= 0x20 && unit < 0x7F) || unit == 0x0A ? 1 : 0) } }
            if chosen.first == 0xFFFE || (chosen.first != 0xFEFF && asciiCount(other) > asciiCount(chosen)) { chosen = other }
            if chosen.first == 0xFEFF { chosen.removeFirst() }
            while chosen.last == 0 { chosen.removeLast() }
            return String(decoding: chosen, as: UTF16.self)
        }
        let text = String(decoding: body, as: UTF8.self)
        return text.trimmingCharacters(in: CharacterSet(charactersIn: "\0 "))
    }
}
