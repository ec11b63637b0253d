import Foundation

/// IPTC IIM (Information Interchange Model) datasets, as stored in Photoshop resource 0x0404.
public struct IPTCIIM: Sendable, Equatable {
    public struct DataSet: Sendable, Equatable {
        public var record: UInt8
        public var number: UInt8
        public var value: Data
    }

    /// Datasets Stockwerk writes, with their byte limits (ExifTool IPTC.pm, exiv2 iptc.xml).
    public enum Field: UInt8, CaseIterable, Sendable {
        case objectName = 5, instructions = 40, dateCreated = 55, timeCreated = 60, keywords = 25, byline = 80, city = 90
        case country = 101, headline = 105, credit = 110, source = 115, copyright = 116, caption = 120

        public var maxBytes: Int {
            switch self {
            case .objectName, .keywords, .country: return 64
            case .byline, .city, .credit, .source: return 32
            case .headline, .instructions: return 256
            case .copyright: return 128
            case .caption: return 2000
            case .dateCreated: return 8
            case .timeCreated: return 11
            }
        }

        public var name: String {
            let names: [Field: String] = [.objectName: "ObjectName", .instructions: "SpecialInstructions", .dateCreated: "DateCreated",
                                          .timeCreated: "TimeCreated", .keywords: "Keywords", .byline: "By-line", .city: "City",
                                          .country: "Country-PrimaryLocationName", .headline: "Headline", .credit: "Credit",
                                          .source: "Source", .copyright: "CopyrightNotice", .caption: "Caption-Abstract"]
            return "IPTC \(names[self]!) (2:\(String(format: "%02d", rawValue)))"
        }
    }

    /// ESC % G: the value of 1:90 that declares UTF-8.
    static let utf8CharacterSet = Data([0x1B, 0x25, 0x47])

    public var dataSets: [DataSet]

    public init(dataSets: [DataSet] = []) { self.dataSets = dataSets }

    /// Builds the IIM for `metadata`: the datasets Stockwerk owns from its values, cut to their
    /// byte limits on UTF-8 boundaries, after every foreign dataset of `existing` (kept as found).
    public static func build(from metadata: StockMetadata, keeping existing: IPTCIIM = IPTCIIM(), warnings: inout [MetadataWarning]) -> IPTCIIM {
        let owned = Set(Field.allCases.map(\.rawValue))
        var sets: [DataSet] = [
            DataSet(record: 1, number: 90, value: utf8CharacterSet),
            DataSet(record: 2, number: 0, value: Data([0x00, 0x04])),  // record version 4
        ]
        sets += existing.dataSets.filter { set in
            !(set.record == 1 && set.number == 90) && !(set.record == 2 && (set.number == 0 || owned.contains(set.number)))
        }
        func add(_ field: Field, _ text: String?) {
            guard let text, !text.isEmpty else { return }
            let fitted = fit(text, maxBytes: field.maxBytes)
            if fitted.count < text.utf8.count {
                warnings.append(MetadataWarning(field: field.name, message:
                    "\"\(text)\" is \(text.utf8.count) bytes; IIM allows \(field.maxBytes), so it was cut to \"\(String(decoding: fitted, as: UTF8.self))\" (XMP keeps the full text)"))
            }
            sets.append(DataSet(record: 2, number: field.rawValue, value: fitted))
        }
        for field in TextField.all { if let iim = field.iim { add(iim, metadata[keyPath: field.keyPath]) } }
        for keyword in metadata.keywords { add(.keywords, keyword) }
        for creator in metadata.creators { add(.byline, creator) }
        add(.headline, metadata.title)
        if let date = metadata.dateCreated.flatMap(DateCreated.init) {
            add(.dateCreated, date.iimDate)
            add(.timeCreated, date.iimTime)
        }
        return IPTCIIM(dataSets: sets)
    }

    /// The longest prefix of `text` that fits in `maxBytes` bytes without splitting a character.
    public static func fit(_ text: String, maxBytes: Int) -> Data {
        var result = Data()
        for character in text {
            let bytes = Array(String(character).utf8)
            if result.count + bytes.count > maxBytes { break }
            result.append(contentsOf: bytes)
        }
        return result
    }

    public func serialized() -> Data {
        var data = Data()
        for set in dataSets {
            data.append(contentsOf: [0x1C, set.record, set.number])
            let length = min(set.value.count, 0x7FFF)
            data.append(contentsOf: [UInt8(length >> 8), UInt8(length & 0xFF)])
            data.append(set.value.prefix(length))
        }
        return data
    }

    public init(parsing data: Data) throws {
        let bytes = [UInt8](data)
        var sets: [DataSet] = []
        var offset = 0
        while offset < bytes.count {
            if bytes[offset] == 0 { break }  // padding at the end of the resource
            guard bytes[offset] == 0x1C, offset + 5 <= bytes.count else {
                throw MetadataError.malformedSegment(kind: "IPTC IIM", reason: "bad dataset tag at offset \(offset)")
            }
            var length = Int(bytes[offset + 3]) << 8 | Int(bytes[offset + 4])
            var start = offset + 5
            if length & 0x8000 != 0 {  // extended length: the next N bytes hold it
                let count = length & 0x7FFF
                guard count <= 4, start + count <= bytes.count else {
                    throw MetadataError.malformedSegment(kind: "IPTC IIM", reason: "bad extended length at offset \(offset)")
                }
                length = bytes[start..<(start + count)].reduce(0) { $0 << 8 | Int($1) }
                start += count
            }
            guard start + length <= bytes.count else {
                throw MetadataError.malformedSegment(kind: "IPTC IIM", reason: "dataset \(bytes[offset + 1]):\(bytes[offset + 2]) runs past the end")
            }
            sets.append(DataSet(record: bytes[offset + 1], number: bytes[offset + 2], value: Data(bytes[start..<(start + length)])))
            offset = start + length
        }
        dataSets = sets
    }

    /// Values of one record-2 dataset, decoded as UTF-8 when 1:90 says so, else as Latin-1.
    public func strings(_ field: Field) -> [String] {
        let isUTF8 = dataSets.contains { $0.record == 1 && $0.number == 90 && $0.value == Self.utf8CharacterSet }
        return dataSets.filter { $0.record == 2 && $0.number == field.rawValue }.map { set in
            if isUTF8, let text = String(data: set.value, encoding: .utf8) { return text }
            return String(data: set.value, encoding: .isoLatin1) ?? ""
        }
    }
}
