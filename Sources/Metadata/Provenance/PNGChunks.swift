import CZlib
import Foundation
import Inflate

/// The chunks of a PNG file that carry text and metadata, read without libpng and with every
/// length checked: a chunk that claims more bytes than the file has ends the walk with a warning.
public struct PNGChunks: Sendable {
    public struct Text: Sendable, Equatable {
        /// `tEXt`, `zTXt` or `iTXt`.
        public var chunk: String
        public var keyword: String
        public var text: String
    }

    public static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    /// Compressed text is inflated up to this many bytes; a longer text (a "zip bomb") is skipped.
    public static let maxInflatedText = 16 << 20

    public var texts: [Text] = []
    /// The `eXIf` chunk's TIFF block (without the "Exif\0\0" prefix JPEG uses).
    public var exif: Data?
    /// The C2PA manifest store (`caBX` chunk: JUMBF).
    public var c2pa: Data?
    /// What was skipped, and why (bad CRC, truncated file, oversized compressed text…).
    public var warnings: [String] = []

    public static func isPNG(_ data: Data) -> Bool { data.prefix(8).elementsEqual(signature) }

    /// The chunks this reader looks at; the rest (image data above all) is skipped unread.
    static let wanted: Set<String> = ["tEXt", "zTXt", "iTXt", "eXIf", "caBX", "IEND"]

    /// Reads a PNG file's metadata chunks only, seeking past the others, so a 50 MB PNG costs a
    /// few reads. A chunk that claims more bytes than the file has is passed on as it is, and
    /// reported by the parser.
    public static func read(_ handle: FileHandle) throws -> PNGChunks {
        try handle.seek(toOffset: 0)
        var kept = Data(signature)
        var fileOffsets: [Int: UInt64] = [:]  // where each kept chunk is in the file, for warnings
        guard try handle.read(upToCount: 8) == Data(signature) else { return PNGChunks(data: kept) }
        let size = try handle.seekToEnd()
        var offset: UInt64 = 8
        while offset + 12 <= size {
            try handle.seek(toOffset: offset)
            guard let header = try handle.read(upToCount: 8), header.count == 8 else { break }
            let length = header.prefix(4).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let type = String(decoding: header.suffix(4), as: UTF8.self)
            let end = offset + 12 + length
            if wanted.contains(type) || end > size {
                fileOffsets[kept.count] = offset
                kept.append(header)
                kept.append(try handle.read(upToCount: Int(min(length + 4, size - offset - 8))) ?? Data())
                if type == "IEND" || end > size { break }
            }
            offset = end
        }
        return PNGChunks(data: kept, fileOffsets: fileOffsets)
    }

    /// Parses a whole PNG in memory; `fileOffsets` maps chunk offsets in `data` to the file's
    /// when `data` holds only some of its chunks.
    public init(data: Data, fileOffsets: [Int: UInt64] = [:]) {
        let bytes = [UInt8](data)
        var offset = 8
        while offset + 12 <= bytes.count {
            let length = Int(UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3]))
            let type = String(decoding: bytes[(offset + 4)..<(offset + 8)], as: UTF8.self)
            let start = offset + 8
            guard length <= bytes.count - start - 4 else {
                warnings.append("PNG chunk \(type) at byte \(fileOffsets[offset] ?? UInt64(offset)) claims \(length) bytes, past the end of the file: the rest is ignored")
                return
            }
            let body = bytes[start..<(start + length)]
            let storedCRC = UInt32(bytes[start + length]) << 24 | UInt32(bytes[start + length + 1]) << 16
                | UInt32(bytes[start + length + 2]) << 8 | UInt32(bytes[start + length + 3])
            let computedCRC = bytes[(offset + 4)..<(start + length)].withUnsafeBufferPointer { buffer in
                UInt32(crc32(0, buffer.baseAddress, uInt(buffer.count)))
            }
            if storedCRC != computedCRC {
                warnings.append("PNG chunk \(type) at byte \(fileOffsets[offset] ?? UInt64(offset)) has a wrong checksum: ignored")
            } else {
                read(type: type, body: Array(body))
            }
            if type == "IEND" { return }
            offset = start + length + 4
        }
        if offset < bytes.count { warnings.append("the PNG file ends inside a chunk at byte \(offset): the rest is ignored") }
    }

    private mutating func read(type: String, body: [UInt8]) {
        switch type {
        case "tEXt":
            guard let (keyword, rest) = Self.keyword(body) else { return warnings.append("a tEXt chunk has no keyword: ignored") }
            texts.append(Text(chunk: type, keyword: keyword, text: Self.latin1(rest)))
        case "zTXt":
            guard let (keyword, rest) = Self.keyword(body), rest.first == 0 else { return warnings.append("a zTXt chunk is malformed: ignored") }
            switch Self.inflate(Array(rest.dropFirst())) {
            case .success(let inflated): texts.append(Text(chunk: type, keyword: keyword, text: Self.latin1(inflated)))
            case .failure(let reason): warnings.append("the zTXt chunk `\(keyword)` \(reason): ignored")
            }
        case "iTXt":
            readInternational(body)
        case "eXIf":
            exif = Data(body)
        case "caBX":
            c2pa = Data(body)
        default:
            break
        }
    }

    /// iTXt: keyword, compression flag and method, language tag, translated keyword, UTF-8 text.
    private mutating func readInternational(_ body: [UInt8]) {
        guard let (keyword, rest) = Self.keyword(body), rest.count >= 2 else { return warnings.append("an iTXt chunk is malformed: ignored") }
        let compressed = rest[rest.startIndex] == 1
        var remainder = rest.dropFirst(2)
        for _ in 0..<2 {  // language tag, translated keyword
            guard let end = remainder.firstIndex(of: 0) else { return warnings.append("the iTXt chunk `\(keyword)` is malformed: ignored") }
            remainder = remainder[(end + 1)...]
        }
        var textBytes = Array(remainder)
        if compressed {
            switch Self.inflate(textBytes) {
            case .success(let inflated): textBytes = inflated
            case .failure(let reason): return warnings.append("the iTXt chunk `\(keyword)` \(reason): ignored")
            }
        }
        guard let text = String(validating: textBytes, as: UTF8.self) else {
            return warnings.append("the iTXt chunk `\(keyword)` is not valid UTF-8: ignored")
        }
        texts.append(Text(chunk: "iTXt", keyword: keyword, text: text))
    }

    /// The Latin-1 keyword (1–79 bytes) before the first NUL, and what follows the NUL.
    static func keyword(_ body: [UInt8]) -> (String, ArraySlice<UInt8>)? {
        guard let end = body.firstIndex(of: 0), end > 0, end < 80 else { return nil }
        return (latin1(body[..<end]), body[(end + 1)...])
    }

    /// tEXt and zTXt are Latin-1 by the PNG specification, but generators write UTF-8 there
    /// (A1111 and ComfyUI through Pillow); valid UTF-8 is read as UTF-8.
    static func latin1<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        if let text = String(validating: Array(bytes), as: UTF8.self) { return text }
        return String(bytes.map { Character(Unicode.Scalar($0)) })
    }

    /// zlib inflate, stopping at `maxInflatedText` bytes.
    static func inflate(_ input: [UInt8]) -> Result<[UInt8], Inflate.Failure> {
        Result { try Inflate.decompress(input, format: .zlib, limit: maxInflatedText) }.mapError { ($0 as? Inflate.Failure) ?? .cannotStart }
    }
}
