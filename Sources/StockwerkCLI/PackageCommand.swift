import ArgumentParser
import Foundation
import Workflow

struct PackageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "package",
        abstract: "Build agency upload packages from a run's finished images.",
        discussion: """
        OUTPUT is the output folder of `stockwerk run`. Each image in OUTPUT/images is checked as it \
        is now against each agency's rules; OUTPUT/packages/AGENCY gets the accepted files, the \
        agency's CSV (split where the agency limits rows or size), report.json and \
        contact-sheet.html. Exit status 1 when an agency refuses any image.
        """)

    @Argument(help: "The output folder of a run.") var output: String
    @Option(help: "An agency preset (repeat for several; `stockwerk agencies` lists them).") var agency: [String]
    @Option(name: .long, help: "The presets folder.") var presets: String?
    @Option(help: "What a soft enlargement is for every agency: reject, warn or off (as a workflow's `checks: {soft: …}`; the presets decide when absent).")
    var soft: String?

    func run() throws {
        guard !agency.isEmpty else {
            ErrorReporting.stderr("error: name at least one agency\nhint: add --agency adobe-stock (see `stockwerk agencies`)")
            throw ExitCode(2)
        }
        guard let folder = PresetLocator.locate(explicit: presets) else {
            ErrorReporting.stderr("error: cannot find the presets folder\nhint: run from the Stockwerk folder, or set STOCKWERK_PRESETS=/path/to/presets")
            throw ExitCode(2)
        }
        var gate: WorkflowSpec.CheckSettings.Gate?
        if let soft {
            guard let choice = WorkflowSpec.CheckSettings.Gate(rawValue: soft) else {
                ErrorReporting.stderr("error: --soft \(soft) is not one of reject, warn, off\nhint: write --soft reject to refuse soft enlargements everywhere")
                throw ExitCode(2)
            }
            gate = choice
        }
        do {
            let reports = try Packaging.package(output: output, agencies: agency, presetsFolder: folder, soft: gate)
            for report in reports {
                print("\(report.agencyName): \(report.accepted) accepted, \(report.rejected) refused → \(output)/packages/\(report.agency)/ (\(report.csvFiles.isEmpty ? "no CSV: nothing to upload" : report.csvFiles.joined(separator: ", ")), contact-sheet.html)")
                for item in report.items where !item.accepted {
                    print("  \(item.file): " + item.reasons.map(\.message).joined(separator: "; "))
                }
            }
            if reports.contains(where: { $0.rejected > 0 }) { throw ExitCode(1) }
        } catch let exit as ExitCode { throw exit } catch { throw ErrorReporting.exit(for: error) }
    }
}
