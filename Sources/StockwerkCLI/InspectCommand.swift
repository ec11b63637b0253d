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
            let info = try ImageInfo.read(file)
            let (embedded, provenance) = try readEmbedded(of: file, info: info)
            report = Report(file: file, image: info, metadata: embedded, reconciled: embedded.reconciled, provenance: provenance,
                            ai: AIDecision.decide(provenance, declared: nil))
        } catch { throw ErrorReporting.exit(for: error) }
        if json { ErrorReporting.printJSON(report); return }
        let info = report.image
        print("\(file)")
        print("  \(info.format.rawValue.uppercased()) \(info.width)x\(info.height) (\(String(format: "%.1f", info.megapixels)) MP), \(info.fileSize) bytes")
        print("  colour: \(info.colorSpace)\(info.iccDescription.map { " (ICC: \($0))" } ?? " (no ICC profile)")")
        func show(_ label: String, _ values: StockMetadata?) {
            guard let values, !values.isEmpty || values.software != nil else { print("  \(label): none"); return }
            print("  \(label):")
            for field in TextField.all { if let value = values[keyPath: field.keyPath] { print("    \(field.label): \(value)") } }
            if !values.keywords.isEmpty { print("    keywords (\(values.keywords.count)): \(values.keywords.joined(separator: ", "))") }
            if !values.creators.isEmpty { print("    creator: \(values.creators.joined(separator: "; "))") }
            if let date = values.dateCreated { print("    date created: \(date)") }
            if let type = values.digitalSourceType { print("    digital source type: \(type.rawValue)") }
            if let mining = values.dataMining { print("    data mining: \(mining.rawValue)") }
            if let generation = values.generation { print("    generation: \(generation.a1111Text.replacingOccurrences(of: "\n", with: " | "))") }
        }
        show("XMP", report.metadata.xmp)
        show("IPTC IIM", report.metadata.iptc)
        if let matches = report.metadata.iptcDigestMatches { print("    IPTC digest: \(matches ? "current" : "stale (XMP may be out of date)")") }
        show("EXIF", report.metadata.exif)
        print("  provenance: \(report.ai.isAI ? "AI-generated" : "no AI evidence")")
        for evidence in report.provenance.evidence { print("    \(evidence.indicatesAI ? "AI" : "  ") \(evidence.description)") }
        if let prompt = report.provenance.prompt { print("    prompt: \(ProvenanceEvidence.excerpt(prompt, limit: 200))") }
        if let model = report.provenance.model { print("    model: \(model)") }
        for warning in report.provenance.warnings { print("    warning: \(warning)") }
    }
}
