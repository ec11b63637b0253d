import ArgumentParser
import Foundation

// Entry point: parse arguments and map errors to exit codes (0 ok, 1 rejected/failed, 2 bad input, 3 internal).
// Argument errors exit 2 like every other kind of bad input (ArgumentParser's own code is 64).
do {
    var command = try Stockwerk.parseAsRoot()
    try command.run()
} catch {
    if Stockwerk.exitCode(for: error) == .validationFailure {
        FileHandle.standardError.write(Data((Stockwerk.fullMessage(for: error) + "\nhint: see `stockwerk --help` or `stockwerk help COMMAND`\n").utf8))
        Stockwerk.exit(withError: ExitCode(2))
    }
    Stockwerk.exit(withError: error)
}
