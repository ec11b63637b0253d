import Foundation

/// A CBOR (RFC 8949) value, decoded just far enough to read C2PA assertions. Every length is
/// checked against the bytes left and nesting is bounded, so hostile data ends in an error.
public indirect enum CBORValue: Sendable {
    case unsigned(UInt64)
    case negative(UInt64)  // the value is -1 - n
    case bytes([UInt8])
    case text(String)
    case array([CBORValue])
    case map([(CBORValue, CBORValue)])
    case tagged(UInt64, CBORValue)
    case simple(UInt8)
    case float(Double)

    public var text: String? { if case .text(let value) = self { return value } else { return nil } }
    public var array: [CBORValue]? { if case .array(let value) = self { return value } else { return nil } }

    /// The value under a text key of a map (tags around the map are looked through).
    public subscript(key: String) -> CBORValue? {
        switch self {
        case .map(let pairs): return pairs.first { if case .text(let name) = $0.0 { return name == key } else { return false } }?.1
        case .tagged(_, let inner): return inner[key]
        default: return nil
        }
    }

    public struct DecodingError: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// Decodes one value from the start of `bytes` (trailing bytes are ignored).
    public static func decode(_ bytes: [UInt8]) throws -> CBORValue {
        var reader = Reader(bytes: bytes)
        return try reader.value(depth: 0)
    }

    struct Reader {
        static let maxDepth = 64
        let bytes: [UInt8]
        var offset = 0

        mutating func byte() throws -> UInt8 {
            guard offset < bytes.count else { throw DecodingError(description: "CBOR ends early at byte \(offset)") }
            defer { offset += 1 }
            return bytes[offset]
        }

        mutating func take(_ count: UInt64) throws -> [UInt8] {
            guard count <= UInt64(bytes.count - offset) else {
                throw DecodingError(description: "CBOR item at byte \(offset) claims \(count) bytes, more than the \(bytes.count - offset) left")
            }
            defer { offset += Int(count) }
            return Array(bytes[offset..<(offset + Int(count))])
        }

        /// The argument of an initial byte: its low 5 bits, or the 1/2/4/8 bytes after it; nil for indefinite.
        mutating func argument(_ info: UInt8) throws -> UInt64? {
            switch info {
            case 0..<24: return UInt64(info)
            case 24...27: return try take(1 << UInt64(info - 24)).reduce(0) { $0 << 8 | UInt64($1) }
            case 31: return nil
            default: throw DecodingError(description: "CBOR has a reserved length code at byte \(offset - 1)")
            }
        }

        /// Counts of array and map items are bounded by the bytes left (each item takes one or more).
        func checkCount(_ count: UInt64) throws {
            guard count <= UInt64(bytes.count - offset) else {
                throw DecodingError(description: "CBOR container at byte \(offset) claims \(count) items, more than the bytes left")
            }
        }

        mutating func value(depth: Int) throws -> CBORValue {
            guard depth < Self.maxDepth else { throw DecodingError(description: "CBOR nests deeper than \(Self.maxDepth) levels") }
            let initial = try byte()
            let major = initial >> 5, info = initial & 0x1F
            switch major {
            case 0: return .unsigned(try definite(info))
            case 1: return .negative(try definite(info))
            case 2, 3:
                var content: [UInt8] = []
                if let length = try argument(info) {
                    content = try take(length)
                } else {
                    while bytes.count > offset, bytes[offset] != 0xFF {
                        let piece = try value(depth: depth + 1)
                        switch piece {
                        case .bytes(let part) where major == 2: content += part
                        case .text(let part) where major == 3: content += Array(part.utf8)
                        default: throw DecodingError(description: "CBOR indefinite string holds another type at byte \(offset)")
                        }
                    }
                    _ = try byte()
                }
                if major == 2 { return .bytes(content) }
                guard let text = String(validating: content, as: UTF8.self) else { throw DecodingError(description: "CBOR text is not valid UTF-8") }
                return .text(text)
            case 4:
                var items: [CBORValue] = []
                if let count = try argument(info) {
                    try checkCount(count)
                    for _ in 0..<count { items.append(try value(depth: depth + 1)) }
                } else {
                    while try peekNotBreak() { items.append(try value(depth: depth + 1)) }
                }
                return .array(items)
            case 5:
                var pairs: [(CBORValue, CBORValue)] = []
                if let count = try argument(info) {
                    try checkCount(count)
                    for _ in 0..<count { pairs.append((try value(depth: depth + 1), try value(depth: depth + 1))) }
                } else {
                    while try peekNotBreak() { pairs.append((try value(depth: depth + 1), try value(depth: depth + 1))) }
                }
                return .map(pairs)
            case 6:
                return .tagged(try definite(info), try value(depth: depth + 1))
            default:
                switch info {
                case 0..<24: return .simple(info)
                case 24: return .simple(try byte())
                case 25: return .float(Double(Float16(bitPattern: UInt16(try definite(info)))))
                case 26: return .float(Double(Float(bitPattern: UInt32(try definite(info)))))
                case 27: return .float(Double(bitPattern: try definite(info)))
                default: throw DecodingError(description: "CBOR has an unexpected simple value at byte \(offset - 1)")
                }
            }
        }

        mutating func definite(_ info: UInt8) throws -> UInt64 {
            guard let value = try argument(info) else { throw DecodingError(description: "CBOR integer without a value at byte \(offset - 1)") }
            return value
        }

        /// True while an indefinite container goes on; consumes the break byte that ends it.
        mutating func peekNotBreak() throws -> Bool {
            guard offset < bytes.count else { throw DecodingError(description: "CBOR indefinite container is not closed") }
            if bytes[offset] == 0xFF { offset += 1; return false }
            return true
        }
    }
}
