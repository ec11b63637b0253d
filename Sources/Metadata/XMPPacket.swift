import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Writes and reads the XMP packet for `StockMetadata` (Dublin Core, Photoshop, IPTC Core and
/// Extension, PLUS, ours). Writing into an existing packet replaces only the properties Stockwerk
/// owns and keeps every other property as it was (Lightroom develop settings, history, ratings…).
public enum XMPPacket {
    static let namespaces: [(prefix: String, uri: String)] = [
        ("dc", TextField.dc),
        ("photoshop", TextField.photoshop),
        ("Iptc4xmpExt", TextField.iptcExt),
        ("xmp", TextField.xmpBasic),
        ("plus", plusNamespace),
        ("stockwerk", stockwerkNamespace),
    ]
    static let rdf = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
    static let xmpNote = "http://ns.adobe.com/xmp/note/"
    /// Our namespace: stockwerk:Generation holds GenerationParameters as JSON.
    public static let stockwerkNamespace = "http://ns.stockwerk.app/1.0/"
    public static let plusNamespace = "http://ns.useplus.org/ldf/xmp/1.0/"

    /// Properties Stockwerk writes (namespace URI + name): replaced on every write.
    static let owned: Set<String> = {
        var names = Set(TextField.all.map { $0.namespace + $0.property })
        names.formUnion([TextField.dc + "subject", TextField.dc + "creator", TextField.photoshop + "Headline",
                         TextField.photoshop + "DateCreated", TextField.iptcExt + "DigitalSourceType",
                         plusNamespace + "DataMining", plusNamespace + "ModelReleaseID", plusNamespace + "PropertyReleaseID",
                         stockwerkNamespace + "Generation", xmpNote + "HasExtendedXMP"])
        return names
    }()

    /// The packet as UTF-8, with padding so other tools can edit it in place. With `existing`,
    /// every property of that packet Stockwerk does not own is kept.
    /// The XMP namespaces of camera facts (EXIF and TIFF tags as XMP, lens data) and their usual
    /// prefixes: what a source photo's camera recorded, wrong on an AI image made from it.
    static let cameraNamespaces: [String: String] = ["http://ns.adobe.com/exif/1.0/": "exif", "http://ns.adobe.com/tiff/1.0/": "tiff",
                                                     "http://ns.adobe.com/exif/1.0/aux/": "aux", "http://cipa.jp/exif/1.0/": "exifEX"]

    public static func build(_ metadata: StockMetadata, merging existing: [Data] = []) throws -> Data {
        try build(metadata, merging: existing, droppingCamera: false).packet
    }

    /// The packet, and the properties of `existing` left out as camera facts (`droppingCamera`),
    /// named `prefix:Name`.
    static func build(_ metadata: StockMetadata, merging existing: [Data], droppingCamera: Bool) throws -> (packet: Data, dropped: [String]) {
        var body = ""
        func alt(_ name: String, _ value: String?) {
            guard let value, !value.isEmpty else { return }
            body += "   <\(name)><rdf:Alt><rdf:li xml:lang=\"x-default\">\(escape(value))</rdf:li></rdf:Alt></\(name)>\n"
        }
        func list(_ name: String, _ kind: String, _ values: [String]) {
            guard !values.isEmpty else { return }
            body += "   <\(name)><rdf:\(kind)>"
            for value in values { body += "<rdf:li>\(escape(value))</rdf:li>" }
            body += "</rdf:\(kind)></\(name)>\n"
        }
        func simple(_ name: String, _ value: String?) {
            guard let value, !value.isEmpty else { return }
            body += "   <\(name)>\(escape(value))</\(name)>\n"
        }
        for field in TextField.all {
            let prefix = namespaces.first { $0.uri == field.namespace }!.prefix
            let value = metadata[keyPath: field.keyPath]
            if field.languageAlternative { alt(prefix + ":" + field.property, value) } else { simple(prefix + ":" + field.property, value) }
        }
        list("dc:subject", "Bag", metadata.keywords)
        list("dc:creator", "Seq", metadata.creators)
        simple("photoshop:Headline", metadata.title)
        simple("photoshop:DateCreated", metadata.dateCreated.flatMap(DateCreated.init)?.iso ?? metadata.dateCreated)
        simple("Iptc4xmpExt:DigitalSourceType", metadata.digitalSourceType?.uri)
        simple("plus:DataMining", metadata.dataMining?.uri)
        list("plus:ModelReleaseID", "Bag", metadata.modelReleases)
        list("plus:PropertyReleaseID", "Bag", metadata.propertyReleases)
        simple("stockwerk:Generation", metadata.generation?.json)

        var outer = Dictionary(uniqueKeysWithValues: namespaces.map { ($0.prefix, $0.uri) })
        outer["rdf"] = rdf
        outer["x"] = "adobe:ns:meta/"
        let extracted = try existing.map { try XMPForeignProperties.extract(from: $0, outer: outer, dropping: droppingCamera ? Set(cameraNamespaces.keys) : []) }
        let kept = extracted.flatMap(\.kept)
        let declarations = namespaces.map { " xmlns:\($0.prefix)=\"\($0.uri)\"" }
        var packet = "<?xpacket begin=\"\u{FEFF}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n"
        packet += "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\" x:xmptk=\"Stockwerk\">\n"
        packet += " <rdf:RDF xmlns:rdf=\"\(rdf)\"\(declarations.joined(separator: "\n   "))>\n"
        packet += "  <rdf:Description rdf:about=\"\">\n"
        packet += body
        packet += "  </rdf:Description>\n"
        for description in kept { packet += "  " + description + "\n" }
        packet += " </rdf:RDF>\n</x:xmpmeta>\n"
        packet += String(repeating: String(repeating: " ", count: 99) + "\n", count: 20)
        packet += "<?xpacket end=\"w\"?>"
        return (Data(packet.utf8), extracted.flatMap(\.dropped).map { (cameraNamespaces[$0.namespace] ?? $0.namespace) + ":" + $0.name })
    }

    /// Escapes XML specials and drops characters XML 1.0 cannot carry (C0 controls but tab/newline).
    public static func escape(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "\t", "\n": result.unicodeScalars.append(scalar)
            case "\r": result += "&#xD;"
            default:
                if scalar.value < 0x20 || (0xFFFE...0xFFFF).contains(scalar.value) { continue }
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// XMP in JPEG is UTF-8. Anything else is refused before parsing: Foundation's XMLParser
    /// traps on invalid UTF-8 in attribute values instead of reporting an error.
    static func requireUTF8(_ packet: Data) throws {
        guard String(validating: packet, as: UTF8.self) != nil else {
            throw MetadataError.malformedSegment(kind: "XMP", reason: "the packet is not valid UTF-8")
        }
    }

    /// Reads the fields Stockwerk knows from an XMP packet; unknown properties are ignored.
    public static func parse(_ packet: Data) throws -> StockMetadata {
        try requireUTF8(packet)
        let reader = XMPReader()
        let parser = XMLParser(data: packet)
        parser.shouldProcessNamespaces = true
        parser.delegate = reader
        guard parser.parse(), reader.depth == 0 else {
            let reason = parser.parserError.map { "\($0)" } ?? "not well-formed XML (elements left open)"
            throw MetadataError.malformedSegment(kind: "XMP", reason: reason)
        }
        return reader.metadata
    }

    /// The text of one property outside Stockwerk's fields (element or attribute form, first
    /// `rdf:li` of a container), for provenance; nil when absent or when the packet does not parse.
    public static func value(namespace: String, property: String, in packet: Data) -> String? {
        guard (try? requireUTF8(packet)) != nil else { return nil }
        let finder = PropertyFinder(namespace: namespace, property: property)
        let parser = XMLParser(data: packet)
        parser.shouldProcessNamespaces = true
        parser.delegate = finder
        _ = parser.parse()
        return finder.value
    }

    /// The GUID of the Extended XMP this packet points to (xmpNote:HasExtendedXMP), if any.
    public static func extendedGUID(_ packet: Data) -> String? {
        let text = String(decoding: packet, as: UTF8.self)
        guard let range = text.range(of: #"HasExtendedXMP(?:="|>)([0-9A-Fa-f]{32})"#, options: .regularExpression) else { return nil }
        return String(text[range].suffix(32))
    }
}

/// SAX reader collecting the values of known properties, in element and attribute form.
private final class XMPReader: NSObject, XMLParserDelegate {
    var metadata = StockMetadata()
    private var property: (namespace: String, name: String)?
    private var text = ""
    private var items: [String] = []
    private var inItem = false
    /// Open elements: 0 again at the end of a well-formed packet.
    private(set) var depth = 0

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                qualifiedName qName: String?, attributes: [String: String] = [:]) {
        depth += 1
        let namespace = namespaceURI ?? ""
        if namespace == XMPPacket.rdf {
            if elementName == "li" { inItem = true; text = "" }
            if elementName == "Description" {
                // Shorthand form: properties as attributes of rdf:Description.
                for (key, value) in attributes { store(qualified: key, value: value) }
            }
            return
        }
        if property == nil, XMPPacket.namespaces.contains(where: { $0.uri == namespace }) {
            property = (namespace, elementName)
            items = []
            text = ""
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
        depth -= 1
        if namespaceURI == XMPPacket.rdf, elementName == "li" {
            if inItem { items.append(text) }
            inItem = false
            text = ""
            return
        }
        guard let current = property, current.namespace == namespaceURI, current.name == elementName else { return }
        let values = items.isEmpty ? [text.trimmingCharacters(in: .whitespacesAndNewlines)].filter { !$0.isEmpty } : items
        apply(namespace: current.namespace, name: current.name, values: values)
        property = nil
        items = []
        text = ""
    }

    private func store(qualified key: String, value: String) {
        let parts = key.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, let uri = XMPPacket.namespaces.first(where: { $0.prefix == parts[0] })?.uri else { return }
        apply(namespace: uri, name: parts[1], values: [value])
    }

    private func apply(namespace: String, name: String, values: [String]) {
        let first = values.first
        if let field = TextField.all.first(where: { $0.namespace == namespace && $0.property == name }) {
            metadata[keyPath: field.keyPath] = first
            return
        }
        switch (namespace, name) {
        case (TextField.dc, "subject"): metadata.keywords = values
        case (TextField.dc, "creator"): metadata.creators = values
        case (TextField.photoshop, "Headline"): if metadata.title == nil { metadata.title = first }
        case (TextField.photoshop, "DateCreated"): metadata.dateCreated = first
        case (TextField.iptcExt, "DigitalSourceType"): metadata.digitalSourceType = first.flatMap(DigitalSourceType.init(uri:))
        case (XMPPacket.plusNamespace, "DataMining"): metadata.dataMining = first.flatMap(DataMining.init(uri:))
        case (XMPPacket.plusNamespace, "ModelReleaseID"): metadata.modelReleases = values
        case (XMPPacket.plusNamespace, "PropertyReleaseID"): metadata.propertyReleases = values
        case (XMPPacket.stockwerkNamespace, "Generation"): metadata.generation = first.flatMap(GenerationParameters.fromJSON)
        default: break
        }
    }
}

/// Finds one property's text in an XMP packet.
private final class PropertyFinder: NSObject, XMLParserDelegate {
    let namespace: String, property: String
    var value: String?
    private var inside = false
    private var text = ""

    init(namespace: String, property: String) { self.namespace = namespace; self.property = property }

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                qualifiedName qName: String?, attributes: [String: String] = [:]) {
        guard value == nil else { return }
        if namespaceURI == namespace, elementName == property { inside = true; text = ""; return }
        if namespaceURI == XMPPacket.rdf, elementName == "Description" {
            // Attribute form: the attribute's prefix must map to the namespace; Draw Things uses `exif:`.
            for (key, attributeValue) in attributes where key.hasSuffix(":" + property) { value = attributeValue }
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { if inside { text += string } }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
        if inside, namespaceURI == namespace, elementName == property {
            inside = false
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if !trimmed.isEmpty { value = trimmed }
        }
    }
}
