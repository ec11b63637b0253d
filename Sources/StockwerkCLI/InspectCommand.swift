import Agencies
import ArgumentParser
import Foundation
import Imaging
import Metadata

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect", abstract: "Show the image facts and the metadata embedded in a file (EXIF, IPTC, XMP).")

    @Argument(help: "An image file.") var file: String
    @Flag(name: .long, help: "Print as JSON.") var json = false

    struct Report: Encodable {
        var file: String
        var image: ImageInfo
        var metadata: EmbeddedMetadata
        var reconciled: StockMetadata
        /// Every sign of how the image was made, and the AI decision every command makes from it.
        var provenance: Provenance
        var ai: AIStatus
    }

    func run() throws {
        let report: Report
        do {
            let info = try FileFailure.naming(file) { try ImageInfo.read(file) }
            let (embedded, provenance) = try FileFailure.naming(file) { try readEmbedded(of: file, info: info) }
            report = Report(file: file, image: info, metadata: embedded, reconciled: embedded.reconciled, provenance: provenance,
                            ai: AIDecision.decide(provenance, declared: nil))
        } catch { throw ErrorReporting.exit(for: error) }
        if json { ErrorReporting.printJSON(report); return }
        let info = report.image
        say("\(file)")
        say("  \(info.format.rawValue.uppercased()) \(info.width)x\(info.height) (\(String(format: "%.1f", info.megapixels)) MP), \(info.fileSize) bytes")
        if let damage = info.damage { say("  DAMAGED: \(damage)") }
        say("  colour: \(info.colorSpace)\(info.iccDescription.map { " (ICC: \($0))" } ?? " (no ICC profile)")")
        func show(_ label: String, _ values: StockMetadata?) {
            guard let values, !values.isEmpty || values.software != nil else { say("  \(label): none"); return }
            say("  \(label):")
            for field in TextField.all { if let value = values[keyPath: field.keyPath] { say("    \(field.label): \(value)") } }
            if !values.keywords.isEmpty { say("    keywords (\(values.keywords.count)): \(values.keywords.joined(separator: ", "))") }
            if !values.creators.isEmpty { say("    creator: \(values.creators.joined(separator: "; "))") }
            if let date = values.dateCreated { say("    date created: \(date)") }
            if let type = values.digitalSourceType { say("    digital source type: \(type.rawValue)") }
            if let mining = values.dataMining { say("    data mining: \(mining.rawValue)") }
            if let generation = values.generation { say("    generation: \(generation.a1111Text.replacingOccurrences(of: "\n", with: " | "))") }
        }
        show("XMP", report.metadata.xmp)
        show("IPTC IIM", report.metadata.iptc)
        if let matches = report.metadata.iptcDigestMatches { say("    IPTC digest: \(matches ? "current" : "stale (XMP may be out of date)")") }
        show("EXIF", report.metadata.exif)
        say("  provenance: \(report.ai.isAI ? "AI-generated" : "no AI evidence")")
        for evidence in report.provenance.evidence { say("    \(evidence.indicatesAI ? "AI" : "  ") \(evidence.description)") }
        if let prompt = report.provenance.prompt { say("    prompt: \(ProvenanceEvidence.excerpt(prompt, limit: 200))") }
        if let model = report.provenance.model { say("    model: \(model)") }
        for warning in report.provenance.warnings { say("    warning: \(warning)") }
    }
}

/// Prints text read from a file with its control characters escaped (no terminal escape sequences).
private func say(_ line: String) { print(TerminalText.escaped(line)) }
