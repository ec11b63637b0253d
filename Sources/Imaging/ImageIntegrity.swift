import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Whether an image file is whole: a copy cut off part-way (an interrupted transfer, a full disk)
/// still has a readable header, and decoders fill the missing part with grey, so agencies refuse
/// it — or worse, accept a broken picture. Checked from the file's structure, without decoding:
/// a JPEG must reach its end-of-image marker, a PNG its IEND chunk, a WebP its RIFF length.
public enum ImageIntegrity {
    /// Why the file is not whole, or nil when it is (or the format has no end to check).
    public static func damage(of path: String, format: ImageInfo.Format) -> String? {
        if format == .jpeg {
            // Mapped, not read: the walk touches the header's pages and the tail's, not the scan data.
            guard let data = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else { return nil }
            return jpegDamage(data)
        }
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        switch format {
        case .png:
            let size = (try? handle.seekToEnd()) ?? 0
            try? handle.seek(toOffset: size > 4096 ? size - 4096 : 0)
            let tail = (try? handle.readToEnd()) ?? Data()
            return tail.range(of: Data("IEND".utf8)) == nil ? "it ends before its IEND chunk (the file was cut off)" : nil
        case .webp:
            guard let head = try? handle.read(upToCount: 12), head.count == 12 else { return "it is shorter than a WebP header" }
            let declared = UInt64(head[4]) | UInt64(head[5]) << 8 | UInt64(head[6]) << 16 | UInt64(head[7]) << 24
            let size = (try? handle.seekToEnd()) ?? 0
            return size < declared + 8 ? "it holds \(size) of the \(declared + 8) bytes its header declares (the file was cut off)" : nil
        case .jpeg, .tiff, .other:
            return nil
        }
    }

    /// A JPEG is whole when an end-of-image marker (FF D9) follows its first scan. Inside scans a
    /// data byte FF is always followed by 00 or a restart marker, so FF D9 there is the real end;
    /// the header is walked segment by segment so a thumbnail's own FF D9 does not count.
    static func jpegDamage(_ data: Data) -> String? {
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> String? in
            let bytes = raw.bindMemory(to: UInt8.self)
            guard bytes.count >= 4, bytes[0] == 0xFF, bytes[1] == 0xD8 else { return "it does not start like a JPEG" }
            var offset = 2
            while offset + 4 <= bytes.count {
                guard bytes[offset] == 0xFF else { return "its header is broken at byte \(offset)" }
                let marker = bytes[offset + 1]
                if marker == 0xFF { offset += 1; continue }  // fill bytes
                if marker == 0xD9 { return "it ends before its image data" }
                let length = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
                guard length >= 2 else { return "its header is broken at byte \(offset)" }
                offset += 2 + length
                if marker == 0xDA { break }
            }
            guard offset < bytes.count else { return "it was cut off inside its header" }
            // Most files end right at the marker; otherwise look for it (memchr finds each FF fast).
            if bytes[bytes.count - 2] == 0xFF && bytes[bytes.count - 1] == 0xD9 { return nil }
            var index = offset
            while index + 1 < bytes.count, let found = memchr(raw.baseAddress! + index, 0xFF, bytes.count - index - 1) {
                index = raw.baseAddress!.distance(to: UnsafeRawPointer(found))
                if bytes[index + 1] == 0xD9 { return nil }
                index += 1
            }
            return "it ends without its end-of-image marker (the file was cut off at \(bytes.count) bytes)"
        }
    }
}
