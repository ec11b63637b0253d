import ArgumentParser
import Foundation
import Neural
import Imaging
import Metadata
import Workflow

struct RerunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rerun",
        abstract: "Generate an image again from the parameters embedded in it.",
        discussion: """
        Reads the generation parameters Stockwerk wrote into IMAGE (XMP, EXIF UserComment or PNG text; \
        AUTOMATIC1111's `parameters` text is read too) and runs the same prompt, seed, sampler, steps, \
        guidance and size again. The model is taken from --model, else from where the image was made, \
        else by its recorded name as a preset. Same model and settings: the same pixels.
        """)

    @Argument(help: "A JPEG or PNG with embedded generation parameters.") var image: String
    @Option(help: "The model to use instead of the recorded one (folder, .safetensors file or preset name).") var model: String?
    @Option(help: "Where to write the new image (default: IMAGE-rerun.png beside it).") var output: String?
    @Option(help: "auto, fp32 or bf16 instead of the recorded precision (auto: the faster per op kind on this CPU).") var precision: String?
    @Option(help: WeightsOption.help) var weights = "auto"
    @Option(help: DeviceOption.help) var device = "cpu"
    @Flag(help: "Print the parameters and stop.") var dryRun = false
    @Flag(help: "Print nothing but errors.") var quiet = false

    func run() throws {
        do {
            let parameters = try Rerun.parameters(of: image)
            note(parameters.a1111Text)
            // Everything that cannot be made again is named before any work.
            let assessment = Rerun.assess(parameters, presetsFolder: PresetLocator.locate(), modelsFolder: ModelLocator.defaultModelsFolder())
            for difference in assessment.differences { ErrorReporting.stderr("warning: the image will differ: " + difference) }
            guard assessment.blocking.isEmpty else {
                throw ModelLookupError(message: "this image cannot be made again here; it needs " + assessment.blocking.joined(separator: "; "),
                                       hint: "put the missing files in place (LoRAs in $STOCKWERK_LORAS or the models folder's loras/, VAEs in its vae/)")
            }
            if dryRun { return }
            let resolved = try Rerun.model(for: parameters, override: model, presetsFolder: PresetLocator.locate(),
                                           modelsFolder: ModelLocator.defaultModelsFolder())
            let started = Date()
            let ops = try precision.map { try EngineBackend.resolve(PrecisionOption.parse($0)) } ?? Rerun.recordedPrecision(parameters)
            let (result, warning) = try Rerun.generate(parameters, model: resolved, precision: ops, weights: try WeightsOption.parse(weights),
                                                       device: try DeviceOption.parse(device).vulkanDevice(),
                                                       presetsFolder: PresetLocator.locate()) { done, total in
                note(String(format: "step %d/%d  %.1f s", done, total, Date().timeIntervalSince(started)))
            }
            if let warning { ErrorReporting.stderr("warning: " + warning) }
            let destination = output ?? URL(fileURLWithPath: image).deletingPathExtension().path + "-rerun.png"
            var record = parameters
            record.modelPath = URL(fileURLWithPath: resolved.path).standardizedFileURL.path
            record.precision = ops == .fp32 ? nil : ops.name
            record.device = try DeviceOption.parse(device).vulkanDevice().map { GenerationParameters.deviceName($0.name) }
            record.otherSettings = nil  // the new image is Stockwerk's: CPU noise, none of the other tool's extras
            try result.write(to: destination, pngText: ["parameters": record.a1111Text, "stockwerk": record.json])
            note("wrote \(destination)")
        } catch let error as ModelLookupError {
            ErrorReporting.stderr(error.description)
            throw ExitCode(2)
        } catch { throw ErrorReporting.exit(for: error) }
    }

    private func note(_ line: String) { if !quiet { ErrorReporting.stderr(line) } }
}
