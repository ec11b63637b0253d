import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Copies the properties of an existing XMP packet that Stockwerk does not own, as XML text
/// ready to go into a new packet: one rdf:Description per original Description that still has
/// properties, each declaring the namespaces in scope where it was (so the copy means the same
/// wherever it goes, even if the old packet bound a prefix of ours to another namespace). A streaming (SAX) pass: no DOM, so a
/// hostile packet costs no more than its size and cannot reach a DOM library's edge cases.
final class XMPForeignProperties: NSObject, XMLParserDelegate {
    private(set) var descriptions: [String] = []
    /// Prefix bindings per open element, innermost last; and those announced for the next element.
    private var scopes: [[String: String]] = []
    private var pending: [String: String] = [:]
    private var current = ""
    private var currentHasProperties = false
    /// Depth of the open rdf:Description (nil outside one), and the element depth now.
    private var descriptionDepth: Int?
    private var depth = 0
    /// While skipping an owned property: the depth it started at.
    private var skippingFrom: Int?
    private var failure: String?

    /// Bindings the new packet already has around the copies; not repeated on them.
    private var outer: [String: String] = [:]
    /// Namespaces whose properties are left out too (a source photo's camera facts on an AI image).
    private var droppedNamespaces: Set<String> = []
    /// The properties left out for `droppedNamespaces`, in packet order.
    private(set) var dropped: [(namespace: String, name: String)] = []

    static func extract(from packet: Data, outer: [String: String], dropping namespaces: Set<String> = []) throws
        -> (kept: [String], dropped: [(namespace: String, name: String)]) {
        try XMPPacket.requireUTF8(packet)
        let collector = XMPForeignProperties()
        collector.outer = outer
        collector.droppedNamespaces = namespaces
        let parser = XMLParser(data: packet)
        parser.shouldProcessNamespaces = true
        parser.shouldReportNamespacePrefixes = true
        parser.delegate = collector
        let parsed = parser.parse()
        if !parsed || collector.depth != 0 || collector.failure != nil {
            let reason = collector.failure ?? parser.parserError.map { "\($0)" } ?? "elements are left open"
            throw MetadataError.malformedSegment(kind: "XMP", reason: "the existing packet is not well-formed XML (\(reason))")
        }
        return (collector.descriptions, collector.dropped)
    }

    /// Whether a property of the old packet stays out of the new one: Stockwerk writes it, or its
    /// namespace is dropped.
    private func leavesOut(namespace: String, name: String) -> Bool {
        if XMPPacket.owned.contains(namespace + name) { return true }
        guard droppedNamespaces.contains(namespace) else { return false }
        dropped.append((namespace, name))
        return true
    }

    func parser(_ parser: XMLParser, didStartMappingPrefix prefix: String, toURI namespaceURI: String) {
        pending[prefix] = namespaceURI
    }

    private var inScope: [String: String] { scopes.reduce(into: [:]) { $0.merge($1) { _, inner in inner } } }

    private func declarations(_ bindings: [String: String]) -> String {
        bindings.filter { outer[$0.key] != $0.value }.sorted { $0.key < $1.key }.map { $0.key.isEmpty ? " xmlns=\"\(XMPPacket.escape($0.value))\"" : " xmlns:\($0.key)=\"\(XMPPacket.escape($0.value))\"" }.joined()
    }

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                qualifiedName qName: String?, attributes: [String: String] = [:]) {
        depth += 1
        let introduced = pending
        pending = [:]
        scopes.append(introduced)
        guard skippingFrom == nil else { return }
        let uri = namespaceURI ?? ""
        let name = qName ?? elementName
        if descriptionDepth == nil {
            guard uri == XMPPacket.rdf, elementName == "Description" else { return }
            descriptionDepth = depth
            currentHasProperties = false
            current = "<rdf:Description" + declarations(inScope)
            for (key, value) in attributes.sorted(by: { $0.key < $1.key }) {
                if key.hasPrefix("rdf:") || key.hasPrefix("xml:") { current += " \(key)=\"\(XMPPacket.escape(value))\""; continue }
                guard let (namespace, name) = resolve(key), !leavesOut(namespace: namespace, name: name) else { continue }
                current += " \(key)=\"\(XMPPacket.escape(value))\""
                currentHasProperties = true
            }
            current += ">"
            return
        }
        if depth == descriptionDepth! + 1 {
            if leavesOut(namespace: uri, name: elementName) { skippingFrom = depth; return }
            currentHasProperties = true
        }
        current += "<\(name)" + declarations(introduced)
        for (key, value) in attributes.sorted(by: { $0.key < $1.key }) { current += " \(key)=\"\(XMPPacket.escape(value))\"" }
        current += ">"
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        guard descriptionDepth != nil, skippingFrom == nil, depth > descriptionDepth! else { return }
        current += XMPPacket.escape(string)
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
        defer { depth -= 1; scopes.removeLast() }
        if let start = skippingFrom {
            if depth == start { skippingFrom = nil }
            return
        }
        guard let open = descriptionDepth else { return }
        if depth == open {
            current += "</rdf:Description>"
            if currentHasProperties { descriptions.append(current) }
            descriptionDepth = nil
            current = ""
            return
        }
        current += "</\(qName ?? elementName)>"
    }

    func parser(_ parser: XMLParser, parseErrorOccurred parseError: Error) { failure = "\(parseError)" }

    /// `prefix:name` → (namespace URI, name), from the prefixes seen so far.
    private func resolve(_ qualified: String) -> (String, String)? {
        let parts = qualified.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, let uri = inScope[parts[0]] else { return nil }
        return (uri, parts[1])
    }
}
