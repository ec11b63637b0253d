import Agencies
import AtomicFiles
import ArgumentParser
import Catalog
import Diffusion
import Foundation
import Imaging
import Metadata
import Neural
import VulkanBackend
import Workflow

/// Prints an error as `error: what (where)` + `hint:` and returns the exit code for it.
enum ErrorReporting {
    static func exit(for error: Error) -> ExitCode {
        let (text, code) = message(for: error)
        stderr(text)
        return ExitCode(code)
    }

    static func message(for error: Error) -> (String, Int32) {
        let (text, code): (String, Int32)
        switch error {
        case let failure as FileFailure:
            let (inner, code) = message(for: failure.underlying)
            // Name the file unless the message already does.
            if inner.contains(failure.file) { return (inner, code) }
            return (inner.hasPrefix("error: ") ? "error: \(failure.file): " + inner.dropFirst(7) : "\(failure.file): " + inner, code)
        case let error as WorkflowValidationError: (text, code) = (error.description, 2)
        case let error as ImagingError: (text, code) = ("error: \(error)\nhint: \(error.hint)", 2)
        case let error as MetadataError: (text, code) = ("error: \(error)\nhint: \(error.hint)", 2)
        case let error as AgencyError: (text, code) = ("error: \(error)\nhint: \(error.hint)", 2)
        case let error as DiffusionError: (text, code) = ("error: \(error)\nhint: \(error.hint)", 2)
        case let error as NeuralError: (text, code) = ("error: \(error)\nhint: \(error.hint)", 2)
        case let error as OutputBusyError: (text, code) = (error.description, 2)
        case let error as OutputFolder.Refused: (text, code) = (error.description, 2)
        case let error as ModelLookupError: (text, code) = (error.description, 2)
        case let error as EngineDeviceError: (text, code) = (error.description, 2)
        case let error as UpscalerError: (text, code) = ("error: \(error)\nhint: use an ESRGAN (RRDBNet) or Real-ESRGAN compact (SRVGGNetCompact) model as .safetensors (docs/upscaling.md)", 2)
        // The GPU failed (no memory, lost device): the message names the device and says what to do.
        case let error as VulkanError: (text, code) = ("error: \(error)", 2)
        case let error as BadOption: (text, code) = ("error: \(error.message)\nhint: see --help", 2)
        case let error as EditableFile.Refused: (text, code) = ("error: \(error)\nhint: \(error.hint)", 2)
        case let error as AtomicFile.WriteError: (text, code) = ("error: \(error)\nhint: check the folder's permissions and free space", 2)
        case let error as ReviewError: (text, code) = (error.description, 2)
        case let error as StageFailure: (text, code) = (error.description, 3)
        case let error as CatalogError:
            // A catalog that cannot be opened or is damaged is bad input; one failing mid-run is ours.
            let ours: Bool
            if case .failed = error { ours = true } else { ours = false }
            (text, code) = ("error: \(error)\nhint: \(error.hint)", ours ? 3 : 2)
        default: (text, code) = ("error: \(error)\nhint: this is a bug in Stockwerk; please report it with the command you ran", 3)
        }
        return (text, code)
    }

    static func printJSON<T: Encodable>(_ value: T) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        if let data = try? encoder.encode(value) { print(String(decoding: data, as: UTF8.self)) }
    }

    /// Writes lines to stderr; text from files inside them cannot drive the terminal.
    static func stderr(_ text: String) {
        let safe = text.split(separator: "\n", omittingEmptySubsequences: false).map { TerminalText.escaped(String($0)) }.joined(separator: "\n")
        FileHandle.standardError.write(Data((safe + "\n").utf8))
    }
}

/// An error met while working on one file, so the message can name it.
struct FileFailure: Error {
    var file: String
    var underlying: Error

    /// Runs `body`, naming `file` in whatever it throws.
    static func naming<T>(_ file: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as FileFailure { throw error } catch { throw FileFailure(file: file, underlying: error) }
    }
}
