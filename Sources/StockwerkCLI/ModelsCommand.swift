import ArgumentParser
import Foundation
import Workflow

struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List model presets: recommended settings, whether each is on disk, and where to get it.")
    @Option(name: .long, help: "The presets folder.") var presets: String?
    @Option(name: .long, help: "The models folder (default: $STOCKWERK_MODELS or ~/.local/share/stockwerk/models).") var modelsFolder: String?

    func run() throws {
        guard let folder = PresetLocator.locate(explicit: presets) else {
            ErrorReporting.stderr("error: cannot find the presets folder\nhint: run from the Stockwerk folder, or set STOCKWERK_PRESETS=/path/to/presets")
            throw ExitCode(2)
        }
        let models = modelsFolder ?? ModelLocator.defaultModelsFolder()
        print("models folder: \(models)")
        do {
            for preset in try ModelLocator.presets(in: folder) {
                let r = preset.recommended
                let onDisk = preset.files.first { FileManager.default.fileExists(atPath: models + "/" + $0) }
                print("\(preset.id.padding(toLength: 20, withPad: " ", startingAt: 0)) \(preset.name)")
                print("    \(r.sampler), \(r.steps) steps, guidance \(r.guidance), \(r.size)   licence: \(preset.license)")
                print("    " + (onDisk.map { "on disk: \(models)/\($0)" } ?? "not on disk: get \(preset.files.joined(separator: " or ")) from \(preset.get)"))
            }
        } catch let error as ModelLookupError {
            ErrorReporting.stderr(error.description)
            throw ExitCode(2)
        }
    }
}
