import ArgumentParser
import Foundation
import Imaging
import Keywording
import Metadata
import Workflow

struct KeywordCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keyword",
        abstract: "Ranked keywords, a title and a description for images, from their prompt, metadata, name and pixels.",
        discussion: """
        Uses the sentence-embedding model all-MiniLM-L6-v2 that Tools/install-deps.sh installs. With \
        --write, JPEGs get the keywords (replacing theirs: the ranked list starts from them) and a \
        title and description where they have none, in EXIF, IPTC and XMP, as one batch.
        """)

    @Argument(help: "Image files.") var files: [String]
    @Flag(help: "Write the results into the JPEG files.") var write = false
    @Flag(help: "Print the results as JSON.") var json = false
    @Option(help: "The most keywords per image (Adobe Stock takes 49, Shutterstock 50).") var max = 49
    @Option(name: .long, help: "The presets folder.") var presets: String?

    struct Output: Encodable {
        var file: String
        var title: String
        var description: String
        var keywords: [String]
    }

    func run() throws {
        guard let folder = PresetLocator.locate(explicit: presets) else {
            ErrorReporting.stderr("error: cannot find the presets folder\nhint: run from the Stockwerk folder, or set STOCKWERK_PRESETS=/path/to/presets")
            throw ExitCode(2)
        }
        do {
            guard (1...200).contains(max) else { throw BadOption("--max \(max) is not between 1 and 200") }
            // Files to rewrite are checked (and resolved) before any work; others are only read.
            let targets = write ? try EditTargets.resolve(files, command: "keyword --write").map { ($0.given, $0.path) } : files.map { ($0, $0) }
            let keyworder = try FileDescriber.keyworder(presetsFolder: folder)
            var outputs: [Output] = []
            var changes: [(metadata: StockMetadata, source: String, destination: String)] = []
            for (file, path) in targets {
                let (_, metadata) = try FileFailure.naming(file) { try FileDescriber.describe(path, keyworder: keyworder, limit: max) }
                outputs.append(Output(file: file, title: metadata.title ?? "", description: metadata.description ?? "", keywords: metadata.keywords))
                changes.append((metadata, path, path))
            }
            if write {
                for (file, warnings) in zip(targets.map(\.0), try MetadataWriter.write(changes)) {
                    for warning in warnings { ErrorReporting.stderr("warning: \(file): \(warning)") }
                }
            }
            if json { ErrorReporting.printJSON(outputs); return }
            for output in outputs {
                print("\(output.file)\n  title: \(output.title)\n  description: \(output.description)\n  keywords (\(output.keywords.count)): \(output.keywords.joined(separator: ", "))")
            }
        } catch let error as BadOption {
            ErrorReporting.stderr("error: \(error.message)\nhint: see `stockwerk keyword --help`")
            throw ExitCode(2)
        } catch let error as KeywordingError {
            ErrorReporting.stderr("error: \(error)\nhint: \(error.hint)")
            throw ExitCode(2)
        } catch { throw ErrorReporting.exit(for: error) }
    }
}
