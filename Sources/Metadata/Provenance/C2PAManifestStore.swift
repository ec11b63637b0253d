import Foundation

/// What a C2PA manifest store says about how the image was made: each manifest's claim
/// generator and the digital source types its actions declare. Read from the JUMBF boxes
/// (ISO/IEC 19566-5) with CBOR assertions; the signature is not validated.
public struct C2PAManifestStore: Sendable {
    public struct Manifest: Sendable {
        public var label: String
        public var generator: String?
        /// (action, digitalSourceType URI, software agent) for every action that names a source type.
        public var sourceTypes: [(action: String, type: String, agent: String?)] = []
    }

    /// In store order; the last one is the active manifest (C2PA 2.1 §11.1.4.1).
    public var manifests: [Manifest] = []

    struct Box {
        var type: String
        var payload: ArraySlice<UInt8>
    }

    public struct ReadError: Error, CustomStringConvertible, Sendable { public let description: String }

    /// A `jumb` superbox read once: the label of its description box and the boxes after it.
    struct Superbox {
        var label: String?
        var children: [Box]

        init(_ box: Box) throws {
            let boxes = try C2PAManifestStore.boxes(in: box.payload)
            guard let description = boxes.first, description.type == "jumd" else {
                throw ReadError(description: "a JUMBF superbox does not start with its description box")
            }
            label = try C2PAManifestStore.label(inDescription: description.payload)
            children = Array(boxes.dropFirst())
        }

        /// The child superboxes. The store is walked to a fixed depth (store, manifest, assertion
        /// store, assertion), so hostile nesting cannot recurse.
        func superboxes() throws -> [Superbox] { try children.filter { $0.type == "jumb" }.map(Superbox.init) }

        /// The CBOR content box of an assertion or claim.
        func cbor() throws -> CBORValue? {
            guard let content = children.first(where: { $0.type == "cbor" }) else { return nil }
            do { return try CBORValue.decode(Array(content.payload)) } catch { throw ReadError(description: "\(error)") }
        }
    }

    public init(jumbf: [UInt8]) throws {
        guard let top = try Self.boxes(in: jumbf[...]).first(where: { $0.type == "jumb" }), case let store = try Superbox(top), store.label == "c2pa" else {
            throw ReadError(description: "the JUMBF data holds no C2PA manifest store")
        }
        for manifestBox in try store.superboxes() {
            var manifest = Manifest(label: manifestBox.label ?? "")
            for part in try manifestBox.superboxes() {
                let label = part.label ?? ""
                if label.hasPrefix("c2pa.claim"), let claim = try part.cbor() {
                    manifest.generator = Self.generatorName(claim)
                } else if label == "c2pa.assertions" {
                    for assertion in try part.superboxes() where assertion.label?.hasPrefix("c2pa.actions") == true {
                        guard let actions = try assertion.cbor() else { continue }
                        for action in actions["actions"]?.array ?? [] {
                            guard let type = action["digitalSourceType"]?.text else { continue }
                            let agent = action["softwareAgent"]?.text ?? action["softwareAgent"]?["name"]?.text
                            manifest.sourceTypes.append((action["action"]?.text ?? "?", type, agent))
                        }
                    }
                }
            }
            manifests.append(manifest)
        }
    }

    /// claim_generator (1.x claims) or the first claim_generator_info name (2.x), with its version.
    static func generatorName(_ claim: CBORValue) -> String? {
        if let info = claim["claim_generator_info"] {
            let first = info.array?.first ?? info
            if let name = first["name"]?.text { return [name, first["version"]?.text].compactMap { $0 }.joined(separator: " ") }
        }
        return claim["claim_generator"]?.text
    }

    /// The boxes laid end to end in `data`.
    static func boxes(in data: ArraySlice<UInt8>) throws -> [Box] {
        var result: [Box] = []
        var offset = data.startIndex
        while offset < data.endIndex {
            guard data.endIndex - offset >= 8 else { throw ReadError(description: "a JUMBF box header is cut off") }
            func number(_ at: Int, _ count: Int) -> UInt64 { data[at..<(at + count)].reduce(0) { $0 << 8 | UInt64($1) } }
            var length = number(offset, 4)
            let type = String(decoding: data[(offset + 4)..<(offset + 8)], as: UTF8.self)
            var header = 8
            if length == 1 {
                guard data.endIndex - offset >= 16 else { throw ReadError(description: "a JUMBF box's extended length is cut off") }
                length = number(offset + 8, 8)
                header = 16
            } else if length == 0 {
                length = UInt64(data.endIndex - offset)
            }
            guard length >= UInt64(header), length <= UInt64(data.endIndex - offset) else {
                throw ReadError(description: "the JUMBF box `\(type)` claims \(length) bytes, but \(data.endIndex - offset) are left")
            }
            result.append(Box(type: type, payload: data[(offset + header)..<(offset + Int(length))]))
            offset += Int(length)
        }
        return result
    }

    /// The label in a description box (`jumd` payload: 16-byte type, toggles, label when bit 2 is set).
    static func label(inDescription bytes: ArraySlice<UInt8>) throws -> String? {
        guard bytes.count >= 17, bytes[bytes.startIndex + 16] & 0x02 != 0 else { return nil }
        let labelStart = bytes.startIndex + 17
        guard let end = bytes[labelStart...].firstIndex(of: 0) else { throw ReadError(description: "a JUMBF label is not terminated") }
        return String(decoding: bytes[labelStart..<end], as: UTF8.self)
    }

    /// The JUMBF bytes from a JPEG's APP11 segments: "JP", box instance, sequence number, then
    /// the box; continuation segments repeat the box header, which is dropped when joining.
    public static func jumbf(fromAPP11 payloads: [Data]) -> [UInt8]? {
        var pieces: [UInt16: [(sequence: UInt32, bytes: ArraySlice<UInt8>)]] = [:]
        for payload in payloads {
            let bytes = [UInt8](payload)
            guard bytes.count > 16, bytes[0] == 0x4A, bytes[1] == 0x50 else { continue }
            let instance = UInt16(bytes[2]) << 8 | UInt16(bytes[3])
            let sequence = bytes[4..<8].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            pieces[instance, default: []].append((sequence, bytes[8...]))
        }
        for (_, parts) in pieces.sorted(by: { $0.key < $1.key }) {
            let ordered = parts.sorted { $0.sequence < $1.sequence }
            guard let first = ordered.first else { continue }
            let head = first.bytes
            guard head.count >= 8, String(decoding: head[(head.startIndex + 4)..<(head.startIndex + 8)], as: UTF8.self) == "jumb" else { continue }
            let headerLength = head.prefix(4).elementsEqual([0, 0, 0, 1]) ? 16 : 8
            var joined = Array(head)
            for part in ordered.dropFirst() where part.bytes.count >= headerLength { joined += part.bytes.dropFirst(headerLength) }
            // The store's description box is labelled "c2pa"; other JUMBF (e.g. JPEG 360) is skipped.
            // Boxes that do not parse are returned too, so the reader warns about them.
            guard let store = try? boxes(in: joined[...]).first, store.type == "jumb", let superbox = try? Superbox(store) else { return joined }
            if superbox.label == "c2pa" { return joined }
        }
        return nil
    }
}
