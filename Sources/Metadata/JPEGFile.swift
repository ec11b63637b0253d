import AtomicFiles
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A JPEG split into its marker segments up to the start of scan, plus the rest (scan data) as is.
/// Only the segments we own are changed; everything else is written back byte for byte.
public struct JPEGFile: Sendable {
    public struct Segment: Sendable, Equatable {
        public var marker: UInt8
        public var payload: Data

        public init(marker: UInt8, payload: Data) { self.marker = marker; self.payload = payload }

        public func starts(with signature: [UInt8]) -> Bool {
            payload.count >= signature.count && payload.prefix(signature.count).elementsEqual(signature)
        }
    }

    public static let app1: UInt8 = 0xE1, app2: UInt8 = 0xE2, app13: UInt8 = 0xED, sos: UInt8 = 0xDA
    public static let exifSignature: [UInt8] = Array("Exif\0\0".utf8)
    public static let xmpSignature: [UInt8] = Array("http://ns.adobe.com/xap/1.0/\0".utf8)
    public static let extendedXMPSignature: [UInt8] = Array("http://ns.adobe.com/xmp/extension/\0".utf8)
    public static let photoshopSignature: [UInt8] = Array("Photoshop 3.0\0".utf8)
    public static let iccSignature: [UInt8] = Array("ICC_PROFILE\0".utf8)
    /// The largest payload one segment can hold (its 16-bit length counts itself).
    public static let maxPayload = 65_533

    public var segments: [Segment]
    /// From the SOS marker to the end of the data parsed (the file, or the prefix read).
    public var scan: Data
    /// Where the SOS marker starts in the data parsed: what follows is copied, never changed.
    public private(set) var scanOffset = 0

    public init(data: Data, path: String = "image") throws {
        let bytes = [UInt8](data)
        guard bytes.count >= 4, bytes[0] == 0xFF, bytes[1] == 0xD8 else { throw MetadataError.notJPEG(path: path) }
        var segments: [Segment] = []
        var offset = 2
        while true {
            guard offset + 1 < bytes.count else {
                throw MetadataError.malformedJPEG(path: path, reason: "ends before the image data (offset \(offset))")
            }
            guard bytes[offset] == 0xFF else {
                throw MetadataError.malformedJPEG(path: path, reason: String(format: "expected a marker at offset %d, found 0x%02X", offset, bytes[offset]))
            }
            var markerOffset = offset + 1
            while markerOffset < bytes.count, bytes[markerOffset] == 0xFF { markerOffset += 1 }  // fill bytes
            guard markerOffset < bytes.count else { throw MetadataError.malformedJPEG(path: path, reason: "ends inside a marker") }
            let marker = bytes[markerOffset]
            if marker == Self.sos || marker == 0xD9 {
                scan = data.subdata(in: (data.startIndex + offset)..<data.endIndex)
                scanOffset = offset
                break
            }
            if (0xD0...0xD7).contains(marker) || marker == 0x01 {  // markers without a length
                segments.append(Segment(marker: marker, payload: Data()))
                offset = markerOffset + 1
                continue
            }
            guard markerOffset + 2 < bytes.count else {
                throw MetadataError.malformedJPEG(path: path, reason: "segment length cut off at offset \(markerOffset)")
            }
            let length = Int(bytes[markerOffset + 1]) << 8 | Int(bytes[markerOffset + 2])
            guard length >= 2, markerOffset + 1 + length <= bytes.count else {
                throw MetadataError.malformedJPEG(path: path, reason: String(format: "segment 0x%02X at offset %d claims %d bytes, past the end of the file", marker, markerOffset, length))
            }
            let start = data.startIndex + markerOffset + 3
            segments.append(Segment(marker: marker, payload: data.subdata(in: start..<(start + length - 2))))
            offset = markerOffset + 1 + length
        }
        self.segments = segments
    }

    public init(contentsOf path: String) throws {
        guard let data = RegularFile.contents(atPath: path) else {
            throw MetadataError.cannotRead(path: path, reason: "file missing or unreadable")
        }
        try self.init(data: data, path: path)
    }

    /// Reads only as much of the file as its segments take (the image data is not read), for
    /// rewriting the header and copying the rest. Returns the parsed header, the open file and its size.
    public static func header(of path: String) throws -> (jpeg: JPEGFile, fd: Int32, size: Int) {
        let (fd, info): (Int32, stat)
        switch RegularFile.openForReading(path) {
        case .success(let opened): (fd, info) = opened
        case .failure(let failure): throw MetadataError.cannotRead(path: path, reason: failure.reason)
        }
        let size = Int(info.st_size)
        var want = min(size, 256 * 1024)
        while true {
            var prefix = Data(count: want)
            let got = prefix.withUnsafeMutableBytes { pread(fd, $0.baseAddress, want, 0) }
            guard got == want else { close(fd); throw MetadataError.cannotRead(path: path, reason: "short read") }
            do {
                return (try JPEGFile(data: prefix, path: path), fd, size)
            } catch {
                // The segments may continue past the prefix: read more, up to the whole file.
                guard want < size else { close(fd); throw error }
                want = min(size, want * 4)
            }
        }
    }

    /// The marker segments as file bytes, from SOI up to (not including) the SOS marker.
    public func serializedHeader() throws -> Data {
        var output = Data([0xFF, 0xD8])
        for segment in segments {
            output.append(contentsOf: [0xFF, segment.marker])
            if segment.payload.isEmpty && ((0xD0...0xD7).contains(segment.marker) || segment.marker == 0x01) { continue }
            guard segment.payload.count <= Self.maxPayload else {
                throw MetadataError.segmentTooLarge(kind: String(format: "APP%d", Int(segment.marker) - 0xE0), bytes: segment.payload.count)
            }
            let length = segment.payload.count + 2
            output.append(contentsOf: [UInt8(length >> 8), UInt8(length & 0xFF)])
            output.append(segment.payload)
        }
        return output
    }

    public func serialized() throws -> Data {
        var output = try serializedHeader()
        output.append(scan)
        return output
    }

    public func first(_ marker: UInt8, signature: [UInt8]) -> Segment? {
        segments.first { $0.marker == marker && $0.starts(with: signature) }
    }

    /// The payload after the signature of the first matching segment.
    public func body(_ marker: UInt8, signature: [UInt8]) -> Data? {
        first(marker, signature: signature).map { Data($0.payload.dropFirst(signature.count)) }
    }

    /// Replaces the first matching segment (dropping any further ones), or inserts it after the
    /// segments that must come first (APP0 JFIF, then EXIF).
    public mutating func replace(_ marker: UInt8, signature: [UInt8], with payload: Data?) {
        let matches = segments.indices.filter { segments[$0].marker == marker && segments[$0].starts(with: signature) }
        if let first = matches.first {
            for index in matches.dropFirst().reversed() { segments.remove(at: index) }
            if let payload { segments[first].payload = payload } else { segments.remove(at: first) }
            return
        }
        guard let payload else { return }
        var position = 0
        while position < segments.count {
            let segment = segments[position]
            let leading = segment.marker == 0xE0
                || (segment.marker == Self.app1 && (segment.starts(with: Self.exifSignature) || segment.starts(with: Self.xmpSignature)))
            guard leading else { break }
            position += 1
        }
        segments.insert(Segment(marker: marker, payload: payload), at: position)
    }

    public mutating func removeAll(_ marker: UInt8, signature: [UInt8]) {
        segments.removeAll { $0.marker == marker && $0.starts(with: signature) }
    }
}

extension JPEGFile {
    /// Sets the JFIF APP0 density to whole dots per inch (libvips writes pixels per mm there,
    /// which readers show as 72.009 or 299.999 dpi). Files without JFIF are left alone.
    mutating func setJFIFDensity(dotsPerInch: Int) {
        guard let index = segments.firstIndex(where: { $0.marker == 0xE0 && $0.starts(with: Array("JFIF\0".utf8)) }),
              segments[index].payload.count >= 12 else { return }
        var payload = [UInt8](segments[index].payload)
        let value = UInt16(clamping: dotsPerInch)
        payload[7] = 1  // units: dots per inch
        payload[8] = UInt8(value >> 8); payload[9] = UInt8(value & 0xFF)
        payload[10] = UInt8(value >> 8); payload[11] = UInt8(value & 0xFF)
        segments[index].payload = Data(payload)
    }
}
