import ArgumentParser
import Foundation

struct Stockwerk: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stockwerk",
        abstract: "Turns a workflow file into finished, agency-ready stock images.",
        version: "stockwerk 0.2.0",
        subcommands: [RunCommand.self, CheckCommand.self, InspectCommand.self, AgenciesCommand.self, GenerateCommand.self, UpscaleCommand.self, RerunCommand.self, ModelsCommand.self, TagCommand.self, PackageCommand.self, ReviewCommand.self, KeywordCommand.self])
}
