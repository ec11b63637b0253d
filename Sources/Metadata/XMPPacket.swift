import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Writes and reads the XMP packet for `StockMetadata` (Dublin Core, Photoshop, IPTC Extension).
public enum XMPPacket {
    static let namespaces: [(prefix: String, uri: String)] = [
        ("dc", "http://purl.org/dc/elements/1.1/"),
        ("photoshop", "http://ns.adobe.com/photoshop/1.0/"),
        ("Iptc4xmpExt", "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"),
        ("xmp", "http://ns.adobe.com/xap/1.0/"),
        ("stockwerk", stockwerkNamespace),
    ]
    /// Our namespace: stockwerk:Generation holds GenerationParameters as JSON.
    public static let stockwerkNamespace = "http://ns.stockwerk.app/1.0/"
    static let rdf = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"

    /// The packet as UTF-8, with padding so other tools can edit it in place.
    public static func build(_ metadata: StockMetadata) -> Data {
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
        alt("dc:title", metadata.title)
        alt("dc:description", metadata.description)
        list("dc:subject", "Bag", metadata.keywords)
        list("dc:creator", "Seq", metadata.creators)
        alt("dc:rights", metadata.copyright)
        simple("photoshop:Headline", metadata.title)
        simple("Iptc4xmpExt:DigitalSourceType", metadata.digitalSourceType?.uri)
        simple("xmp:CreatorTool", metadata.software)
        simple("stockwerk:Generation", metadata.generation?.json)

        let declarations = namespaces.map { "\n    xmlns:\($0.prefix)=\"\($0.uri)\"" }.joined()
        var packet = "<?xpacket begin=\"\u{FEFF}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n"
        packet += "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\" x:xmptk=\"Stockwerk\">\n"
        packet += " <rdf:RDF xmlns:rdf=\"\(rdf)\">\n"
        packet += "  <rdf:Description rdf:about=\"\"\(declarations)>\n"
        packet += body
        packet += "  </rdf:Description>\n </rdf:RDF>\n</x:xmpmeta>\n"
        packet += String(repeating: String(repeating: " ", count: 99) + "\n", count: 20)
        packet += "<?xpacket end=\"w\"?>"
        return Data(packet.utf8)
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

    /// Reads the fields Stockwerk knows from an XMP packet; unknown properties are ignored.
    public static func parse(_ packet: Data) throws -> StockMetadata {
        let reader = XMPReader()
        let parser = XMLParser(data: packet)
        parser.shouldProcessNamespaces = true
        parser.delegate = reader
        guard parser.parse() else {
            let reason = parser.parserError.map { "\($0)" } ?? "not well-formed XML"
            throw MetadataError.malformedSegment(kind: "XMP", reason: reason)
        }
        return reader.metadata
    }
}

/// SAX reader collecting dc/photoshop/Iptc4xmpExt values, in element and attribute form.
private final class XMPReader: NSObject, XMLParserDelegate {
    var metadata = StockMetadata()
    private var property: (namespace: String, name: String)?
    private var text = ""
    private var items: [String] = []
    private var inItem = false

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                qualifiedName qName: String?, attributes: [String: String] = [:]) {
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
        switch (namespace, name) {
        case ("http://purl.org/dc/elements/1.1/", "title"): metadata.title = first
        case ("http://purl.org/dc/elements/1.1/", "description"): metadata.description = first
        case ("http://purl.org/dc/elements/1.1/", "subject"): metadata.keywords = values
        case ("http://purl.org/dc/elements/1.1/", "creator"): metadata.creators = values
        case ("http://purl.org/dc/elements/1.1/", "rights"): metadata.copyright = first
        case ("http://ns.adobe.com/photoshop/1.0/", "Headline"):
            if metadata.title == nil { metadata.title = first }
        case ("http://iptc.org/std/Iptc4xmpExt/2008-02-29/", "DigitalSourceType"):
            metadata.digitalSourceType = first.flatMap(DigitalSourceType.init(uri:))
        case ("http://ns.adobe.com/xap/1.0/", "CreatorTool"): metadata.software = first
        case (XMPPacket.stockwerkNamespace, "Generation"): metadata.generation = first.flatMap(GenerationParameters.fromJSON)
        default: break
        }
    }
}
