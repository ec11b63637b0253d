import Agencies
import ArgumentParser
import Foundation
import Imaging
import Metadata

struct TagCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tag",
        abstract: "Write metadata into JPEG files (EXIF, IPTC IIM and XMP together), outside workflows.",
        discussion: """
        Each file keeps what it has; options replace single fields (an empty value clears one). \
        Everything Stockwerk does not own (other XMP properties, IPTC datasets, ICC profile, maker \
        notes, thumbnails) stays as it was. Files are rewritten through a temporary name, all or none: a \
        symlink is followed to its file, and a read-only or hard-linked file is refused before any is changed.
        """)

    @Argument(help: "JPEG files to change in place.") var files: [String]
    @Option(help: "Title (XMP dc:title, IPTC ObjectName, photoshop:Headline).") var title: String?
    @Option(help: "Description (dc:description, IPTC Caption-Abstract, EXIF ImageDescription).") var description: String?
    @Option(help: "Keywords replacing the file's, comma-separated: \"lake, dusk, calm water\".") var keywords: String?
    @Option(help: "One keyword to add (repeat it; use this for keywords holding commas).") var keyword: [String] = []
    @Option(help: "Creator (repeat for several).") var creator: [String] = []
    @Option(help: "Copyright notice.") var copyright: String?
    @Option(help: "Credit line.") var credit: String?
    @Option(help: "Source.") var source: String?
    @Option(help: "Instructions.") var instructions: String?
    @Option(help: "City.") var city: String?
    @Option(help: "Country.") var country: String?
    @Option(help: "Date created: YYYY-MM-DD or YYYY-MM-DDThh:mm:ss[±hh:mm].") var dateCreated: String?
    @Option(help: "AI system used (IPTC 2025.1).") var aiSystem: String?
    @Option(help: "AI prompt information (IPTC 2025.1).") var aiPrompt: String?
    @Option(help: "Data mining: \(DataMining.allCases.map(\.rawValue).joined(separator: ", ")).") var dataMining: String?
    @Flag(help: "Mark as made by generative AI (Digital Source Type trainedAlgorithmicMedia).") var ai = false
    @Flag(help: "Mark as a photo edited with generative AI (compositeWithTrainedAlgorithmicMedia).") var aiEdited = false
    @Flag(help: "Print nothing but errors and warnings.") var quiet = false

    func run() throws {
        var edit = MetadataEdit()
        let texts: [(String, String?)] = [("title", title), ("description", description), ("copyright", copyright), ("credit", credit),
                                          ("source", source), ("instructions", instructions), ("city", city), ("country", country),
                                          ("AI system", aiSystem), ("AI prompt", aiPrompt)]
        for (label, value) in texts { if let value { edit.texts[label] = value } }
        if let keywords { edit.keywords = keywords.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
        edit.addedKeywords = keyword
        if !creator.isEmpty { edit.creators = creator }
        do {
            if let dateCreated {
                guard dateCreated.isEmpty || MetadataEdit.isValidDate(dateCreated) else {
                    throw BadOption("--date-created '\(dateCreated)' is not a date as YYYY-MM-DD or YYYY-MM-DDThh:mm:ss[±hh:mm]")
                }
                edit.dateCreated = dateCreated
            }
            if let dataMining {
                guard let value = DataMining(rawValue: dataMining) else {
                    throw BadOption("--data-mining '\(dataMining)' is not one of \(DataMining.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                edit.dataMining = value
            }
            guard !(ai && aiEdited) else { throw BadOption("--ai and --ai-edited exclude each other: choose what the image is") }
            if ai { edit.digitalSourceType = .trainedAlgorithmicMedia }
            if aiEdited { edit.digitalSourceType = .compositeWithTrainedAlgorithmicMedia }
            // Check every file before changing any.
            let targets = try EditTargets.resolve(files, command: "tag")
            let changes = try targets.map { target in
                let (file, info) = (target.path, target.info)
                let (embedded, provenance) = try FileFailure.naming(target.given) { try readEmbedded(of: file, info: info) }
                let existing = embedded.reconciled
                let labelled = existing.labelled(from: provenance)
                if labelled.digitalSourceType != existing.digitalSourceType, let evidence = provenance.aiEvidence.first, !quiet {
                    ErrorReporting.stderr("note: \(target.given): labelled as AI-generated (\(labelled.digitalSourceType!.rawValue)): \(evidence.description)")
                }
                return (edit.applied(to: labelled), file, file)
            }
            let warnings = try MetadataWriter.write(changes)
            for (file, fileWarnings) in zip(targets.map(\.given), warnings) {
                for warning in fileWarnings { ErrorReporting.stderr("warning: \(file): \(warning)") }
                if !quiet { ErrorReporting.stderr("tagged \(file)") }
            }
        } catch let error as BadOption {
            ErrorReporting.stderr("error: \(error.message)\nhint: see `stockwerk tag --help`")
            throw ExitCode(2)
        } catch { throw ErrorReporting.exit(for: error) }
    }
}
