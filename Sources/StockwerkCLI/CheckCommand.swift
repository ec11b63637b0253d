import Agencies
import ArgumentParser
import Foundation
import Imaging
import Metadata
import Workflow

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check", abstract: "Check files against an agency's rules; exits 1 when any file is rejected.")

    @Argument(help: "Image files to check.") var files: [String]
    @Option(name: .long, help: "Agency preset name (see `stockwerk agencies`); repeat for several.") var agency: [String]
    @Flag(name: .long, help: "Treat the files as AI-generated even without AI evidence in them (evidence in a file always counts).") var ai = false
    @Flag(name: .long, help: "Print verdicts as JSON.") var json = false
    @Option(name: .long, help: "The presets folder.") var presets: String?

    func run() throws {
        var verdicts: [Verdict] = []
        do {
            guard let folder = PresetLocator.locate(explicit: presets) else {
                throw AgencyError.invalidPreset(path: "presets/", reason: "cannot find the presets folder; pass --presets or set STOCKWERK_PRESETS")
            }
            let catalog = AgencyCatalog(presetsFolder: folder)
            let checkers = try agency.map { AgencyChecker(preset: try catalog.load($0)) }
            for file in files {
                do {
                    let subject = try CheckSubject.read(file, declared: ai ? AIDeclaration(isAI: true, by: "--ai") : nil)
                    for checker in checkers { verdicts.append(checker.check(subject)) }
                } catch let error as ImagingError {
                    verdicts += checkers.map { Verdict.unreadable(file, agency: $0.preset.id, reason: "\(error)") }
                } catch let error as MetadataError {
                    verdicts += checkers.map { Verdict.unreadable(file, agency: $0.preset.id, reason: "\(error)") }
                }
            }
        } catch { throw ErrorReporting.exit(for: error) }

        if json {
            ErrorReporting.printJSON(verdicts)
        } else {
            for verdict in verdicts {
                print(TerminalText.escaped("\(verdict.file): \(verdict.accepted ? "accepted" : "rejected") by \(verdict.agency)"))
                for reason in verdict.reasons { print(TerminalText.escaped("  - \(reason.message) [\(reason.source)]")) }
                for warning in verdict.warnings { print(TerminalText.escaped("  ! \(warning.message) [\(warning.source)]")) }
            }
        }
        if verdicts.contains(where: { !$0.accepted }) { throw ExitCode(1) }
    }
}

struct AgenciesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "agencies", abstract: "List agency presets with their AI policy.")
    @Option(name: .long, help: "The presets folder.") var presets: String?

    func run() throws {
        guard let folder = PresetLocator.locate(explicit: presets) else {
            throw ErrorReporting.exit(for: AgencyError.invalidPreset(path: "presets/", reason: "cannot find the presets folder"))
        }
        let catalog = AgencyCatalog(presetsFolder: folder)
        do {
            let presets = try catalog.names().map(catalog.load)
            let idWidth = presets.map(\.id.count).max() ?? 10, nameWidth = presets.map(\.name.count).max() ?? 10
            for preset in presets {
                let r = preset.rules
                var limits: [String] = []
                if let mp = r.minMegapixels?.value { limits.append("≥\(mp.formatted()) MP") }
                if let side = r.minSidePixels?.value { limits.append("≥\(side) px a side") }
                if let mb = r.maxFileSizeMB?.value { limits.append("≤\(mb.formatted()) MB") }
                if let quality = r.minJPEGQuality?.value { limits.append("JPEG q≥\(quality)") }
                if r.minKeywords != nil || r.maxKeywords != nil {
                    limits.append("keywords \(r.minKeywords.map { String($0.value) } ?? "0")–\(r.maxKeywords.map { String($0.value) } ?? "any")")
                }
                if let title = r.maxTitleCharacters?.value { limits.append("title ≤\(title) chars") }
                let ai = "AI \(preset.ai.accepted ? "accepted" : "refused ") (\(preset.ai.confidence.rawValue))"
                print("\(preset.id.padding(toLength: idWidth, withPad: " ", startingAt: 0))  \(preset.name.padding(toLength: nameWidth, withPad: " ", startingAt: 0))  \(ai.padding(toLength: 26, withPad: " ", startingAt: 0))  \(limits.joined(separator: ", "))")
            }
        } catch { throw ErrorReporting.exit(for: error) }
    }
}
