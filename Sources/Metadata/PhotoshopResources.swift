import Crypto
import Foundation

/// Photoshop image resource blocks ("8BIM"), the container of IPTC IIM in JPEG APP13.
public struct PhotoshopResources: Sendable, Equatable {
    public struct Resource: Sendable, Equatable {
        public var signature: Data  // "8BIM" (rarely other)
        public var id: UInt16
        public var name: Data  // Pascal string bytes, without the length byte
        public var data: Data
    }

    public static let iptcID: UInt16 = 0x0404
    public static let iptcDigestID: UInt16 = 0x0425

    public var resources: [Resource]

    public init(resources: [Resource] = []) { self.resources = resources }

    public init(parsing data: Data) throws {
        let bytes = [UInt8](data)
        var list: [Resource] = []
        var offset = 0
        while offset + 12 <= bytes.count {
            let signature = Data(bytes[offset..<(offset + 4)])
            guard signature == Data("8BIM".utf8) || signature == Data("PHUT".utf8) || signature == Data("AgHg".utf8) || signature == Data("DCSR".utf8) else {
                throw MetadataError.malformedSegment(kind: "Photoshop resources", reason: "bad signature at offset \(offset)")
            }
            let id = UInt16(bytes[offset + 4]) << 8 | UInt16(bytes[offset + 5])
            let nameLength = Int(bytes[offset + 6])
            var cursor = offset + 7 + nameLength
            if (nameLength + 1) % 2 == 1 { cursor += 1 }  // name field padded to even length
            guard cursor + 4 <= bytes.count else {
                throw MetadataError.malformedSegment(kind: "Photoshop resources", reason: "resource 0x\(String(id, radix: 16)) cut off")
            }
            let name = Data(bytes[(offset + 7)..<(offset + 7 + nameLength)])
            let size = bytes[cursor..<(cursor + 4)].reduce(0) { $0 << 8 | Int($1) }
            cursor += 4
            guard size >= 0, cursor + size <= bytes.count else {
                throw MetadataError.malformedSegment(kind: "Photoshop resources", reason: "resource 0x\(String(id, radix: 16)) claims \(size) bytes, past the end")
            }
            list.append(Resource(signature: signature, id: id, name: name, data: Data(bytes[cursor..<(cursor + size)])))
            offset = cursor + size + (size % 2)
        }
        resources = list
    }

    public func serialized() -> Data {
        var output = Data()
        for resource in resources {
            output.append(resource.signature)
            output.append(contentsOf: [UInt8(resource.id >> 8), UInt8(resource.id & 0xFF)])
            output.append(UInt8(resource.name.count))
            output.append(resource.name)
            if (resource.name.count + 1) % 2 == 1 { output.append(0) }
            let size = resource.data.count
            output.append(contentsOf: [UInt8(size >> 24 & 0xFF), UInt8(size >> 16 & 0xFF), UInt8(size >> 8 & 0xFF), UInt8(size & 0xFF)])
            output.append(resource.data)
            if size % 2 == 1 { output.append(0) }
        }
        return output
    }

    public func data(for id: UInt16) -> Data? { resources.first { $0.id == id }?.data }

    /// Sets the IPTC IIM and refreshes the IPTC digest (an MD5 of the IIM bytes), so readers that
    /// follow the Metadata Working Group rule trust the XMP and IIM alike.
    public mutating func setIPTC(_ iim: Data) {
        set(Self.iptcID, iim)
        set(Self.iptcDigestID, IPTCDigest.of(iim))
    }

    mutating func set(_ id: UInt16, _ data: Data) {
        let fresh = Resource(signature: Data("8BIM".utf8), id: id, name: Data(), data: data)
        guard let index = resources.firstIndex(where: { $0.id == id }) else { resources.append(fresh); return }
        resources.removeAll { $0.id == id }
        resources.insert(fresh, at: min(index, resources.count))
    }
}

/// The IPTC digest (Photoshop resource 0x0425): MD5 of the IIM bytes.
enum IPTCDigest {
    static func of(_ iim: Data) -> Data { Data(Insecure.MD5.hash(data: iim)) }
}
