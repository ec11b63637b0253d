import Foundation

/// Extended XMP (XMP spec part 3): a packet too large for one APP1 segment, split over APP1
/// segments that each hold the signature, the 32-character MD5 GUID of the whole packet, its
/// total length and this chunk's offset (both 4 bytes, big-endian), then the chunk.
enum ExtendedXMP {
    static let headerBytes = 32 + 4 + 4

    /// The reassembled extended packet of `jpeg`: the GUID the main packet names
    /// (xmpNote:HasExtendedXMP), else the only one present. Nil when there is none.
    static func packet(in jpeg: JPEGFile) throws -> Data? {
        let signature = JPEGFile.extendedXMPSignature
        let chunks = jpeg.segments.filter { $0.marker == JPEGFile.app1 && $0.starts(with: signature) }.map { Data($0.payload.dropFirst(signature.count)) }
        guard !chunks.isEmpty else { return nil }
        var byGUID: [String: [(total: Int, offset: Int, data: Data)]] = [:]
        for chunk in chunks {
            let bytes = [UInt8](chunk)
            guard bytes.count >= headerBytes else { throw MetadataError.malformedSegment(kind: "Extended XMP", reason: "a chunk of \(bytes.count) bytes has no full header") }
            let guid = String(decoding: bytes[0..<32], as: UTF8.self)
            let total = bytes[32..<36].reduce(0) { $0 << 8 | Int($1) }
            let offset = bytes[36..<40].reduce(0) { $0 << 8 | Int($1) }
            byGUID[guid, default: []].append((total, offset, Data(bytes[headerBytes...])))
        }
        let mainGUID = jpeg.body(JPEGFile.app1, signature: JPEGFile.xmpSignature).flatMap(XMPPacket.extendedGUID)
        guard let guid = mainGUID.flatMap({ byGUID[$0] != nil ? $0 : nil }) ?? (byGUID.count == 1 ? byGUID.keys.first : nil),
              let parts = byGUID[guid] else { return nil }
        let total = parts[0].total
        guard total <= 100_000_000, parts.allSatisfy({ $0.total == total }) else {
            throw MetadataError.malformedSegment(kind: "Extended XMP", reason: "chunks of \(guid) disagree on the total length or claim more than 100 MB")
        }
        var packet = Data(count: total)
        var covered = 0
        for part in parts.sorted(by: { $0.offset < $1.offset }) {
            guard part.offset + part.data.count <= total else {
                throw MetadataError.malformedSegment(kind: "Extended XMP", reason: "a chunk at offset \(part.offset) runs past the total length \(total)")
            }
            packet.replaceSubrange(part.offset..<(part.offset + part.data.count), with: part.data)
            covered += part.data.count
        }
        guard covered == total else {
            throw MetadataError.malformedSegment(kind: "Extended XMP", reason: "its chunks cover \(covered) of \(total) bytes (a chunk is missing)")
        }
        return packet
    }
}
