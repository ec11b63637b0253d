import Diffusion
import ArgumentParser
import Foundation
import CPUBackend
import VulkanBackend
import Workflow

struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List model presets, the x2 latent upscaler and learned upscalers: settings, whether each is on disk, and where to get it.")
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
                print("\(column(preset.id)) \(preset.name)")
                print("    \(r.sampler), \(r.steps) steps, guidance \(r.guidance), \(r.size)   licence: \(preset.license)")
                print("    " + (onDisk.map { "on disk: \(models)/\($0)" } ?? "not on disk: get \(preset.files.joined(separator: " or ")) from \(preset.get)"))
            }
            printUpscaler(models: models)
            printLearnedUpscalers(models: models, presetsFolder: folder)
            printEngine()
        } catch let error as ModelLookupError {
            ErrorReporting.stderr(error.description)
            throw ExitCode(2)
        }
    }

    /// The engine and what `--precision auto` picks on this CPU (measured on first use, then cached).
    private func printEngine() {
        let (measurement, cached) = EngineBackend.autoMeasurement()
        func milliseconds(_ seconds: Double?) -> String { seconds.map { $0.isFinite ? String(format: "%.1f ms", $0 * 1000) : "fails" } ?? "not available" }
        print("engine: \(EngineBackend.current.name) on \(PrecisionProbe.cpuModel)")
        print("    --precision auto = \(measurement.choice.name)" + (cached ? " (measured before, cached)" : " (measured now)"))
        print("    linear 4096x320x1280: fp32 \(milliseconds(measurement.linearF32)), bf16 \(milliseconds(measurement.linearBF16))")
        print("    convolution 3x3 2x320x64x64: fp32 \(milliseconds(measurement.convolutionF32)), bf16 \(milliseconds(measurement.convolutionBF16))")
        // The Vulkan devices the GPU backend can use (docs/gpu.md).
        if let reason = VulkanDevices.unavailableReason() {
            print("vulkan: not available: \(reason)")
        } else {
            let devices = VulkanDevices.all()
            print("vulkan: \(devices.isEmpty ? "no devices" : "")")
            for device in devices {
                let features = [device.float16 ? "fp16" : nil, device.cooperativeMatrix ? "cooperative matrices" : nil].compactMap { $0 }
                print("    gpu:\(device.index)  \(device.summary)" + (features.isEmpty ? "" : ", " + features.joined(separator: ", ")))
            }
        }
    }

    /// A name padded to 20 columns (padding(toLength:) would cut longer ones).
    private func column(_ name: String) -> String { name.count >= 20 ? name : name.padding(toLength: 20, withPad: " ", startingAt: 0) }

    /// The learned upscalers in the models folder's upscalers/ (architecture and scale from their
    /// tensors), then the known ones not there, with where to get them and their licence.
    private func printLearnedUpscalers(models: String, presetsFolder: String?) {
        print("learned upscalers (\(models)/upscalers, for `stockwerk upscale` and `upscale:`):")
        let found = UpscalerPreset.files(in: models)
        for path in found {
            let name = URL(fileURLWithPath: path).lastPathComponent
            do { print("    \(column(name)) \(try SuperResolutionModel.architecture(of: path))") } catch {
                print("    \(column(name)) not usable: \(error)")
            }
        }
        let presets = (presetsFolder.flatMap { try? UpscalerPreset.presets(in: $0) }) ?? []
        for preset in presets where !found.contains(where: { URL(fileURLWithPath: $0).lastPathComponent == preset.file }) {
            print("    \(column(preset.id)) \(preset.name), x\(preset.scale), \(preset.architecture); licence: \(preset.license)")
            print("        not on disk: get \(preset.get) into \(models)/upscalers/\(preset.file)")
        }
        if found.isEmpty && presets.isEmpty { print("    none") }
    }

    /// The model `refine: {mode: x2-upscaler}` looks for by default.
    private func printUpscaler(models: String) {
        let name = WorkflowSpec.RefineSettings.defaultUpscalerModel, path = models + "/" + name
        print("\(column(name)) SD x2 latent upscaler, for refine: {mode: x2-upscaler}")
        print("    \(WorkflowSpec.RefineSettings.defaultUpscalerSteps) steps, guidance 0, doubles any SD 1.x/2.x image's latents")
        guard FileManager.default.fileExists(atPath: path) else {
            print("    not on disk: get \(ModelLocator.upscalerSource) into \(path)")
            return
        }
        do {
            _ = try ModelLocator.resolveUpscaler(path, baseFolder: "/", modelsFolder: models)
            print("    on disk: \(path)")
        } catch {
            print("    on disk but not usable: \(error)")
        }
    }
}
