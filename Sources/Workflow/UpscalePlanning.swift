import Diffusion
import Foundation
import Metadata
import Neural
import VulkanBackend

/// The `upscale:` stage's plan: the model found and its architecture read from its header once,
/// before any job runs; the device and precision it runs with; and the identity its results are
/// cached under (with each source's content).
public struct UpscalePlan: Sendable {
    public var name: String
    public var path: String
    public var architecture: UpscalerArchitecture
    public var tiling: UpscalerTiling
    public var device: VulkanDevices.Device?
    public var precision: OpPrecisions
    /// Everything besides the source that decides the pixels: the model's content, tiles, device, precision.
    public var identity: String
    /// The tiled diffusion redraw of generated images that follows (`upscale.redraw:`).
    public var redraw: WorkflowSpec.RedrawSettings?

    public var scale: Int { architecture.scale }
}

enum UpscalePlanning {
    /// `upscale.model` as a path (relative to the workflow file's folder) or NAME(.safetensors)
    /// in the models folder's upscalers/; problems go to `issue` with the line they come from.
    static func plan(_ settings: WorkflowSpec.UpscaleSettings, spec: WorkflowSpec, modelsFolder: String, remember: Bool,
                     issue: (String, WorkflowSpec.Location, String) -> Void) -> UpscalePlan? {
        let base = URL(fileURLWithPath: spec.file).deletingLastPathComponent().path
        let given = settings.model.hasPrefix("/") ? settings.model : base + "/" + settings.model
        let folder = modelsFolder + "/upscalers/"
        let preset = PresetLocator.locate(explicit: nil, near: spec.file).flatMap { try? UpscalerPreset.presets(in: $0) }?.first { $0.id == settings.model }
        guard let path = [given, folder + settings.model, folder + settings.model + ".safetensors", preset.map { folder + $0.file }]
            .compactMap({ $0 }).first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            issue("no upscaler `\(settings.model)`: not a file next to the workflow, nor in \(folder)", settings.modelLocation,
                  preset.map { "get \($0.get) into \(folder)\($0.file) (licence: \($0.license))" }
                      ?? "put NAME.safetensors into \(folder), or give its path; `stockwerk models` lists the upscalers found (docs/upscaling.md)")
            return nil
        }
        let architecture: UpscalerArchitecture
        do { architecture = try SuperResolutionModel.architecture(of: path) } catch let error as DiffusionError {
            issue("\(error)", settings.modelLocation, error.hint)
            return nil
        } catch {
            issue("cannot use \(path) as an upscaler: \(error)", settings.modelLocation,
                  "use an ESRGAN (RRDBNet) or Real-ESRGAN compact (SRVGGNetCompact) model as .safetensors (docs/upscaling.md)")
            return nil
        }
        if let redraw = settings.redraw, spec.generate == nil {
            issue("upscale.redraw redraws generated images with their model and prompt, and this workflow generates none", redraw.location,
                  "remove `redraw:` (imported photos are enlarged by the learned model alone), or add a `generate:` section")
        }
        let device: VulkanDevices.Device?
        do { device = try spec.device.vulkanDevice() } catch {
            // (a generate section reports the same device problem; one report is enough)
            if spec.generate == nil {
                let failure = error as? EngineDeviceError
                issue(failure?.message ?? "\(error)", spec.deviceLocation ?? settings.location, failure?.hint ?? "use `engine: {device: cpu}`")
            }
            return nil
        }
        let precision = device == nil ? EngineBackend.resolve(spec.precision, remember: remember) : .fp32
        let hash: String
        do { hash = try ModelLocator.hashes(path, remember: remember).identity } catch {
            issue("cannot read \(path): \(error)", settings.modelLocation, "check the file")
            return nil
        }
        let tiling = UpscalerTiling(size: settings.tileSize, overlap: settings.tileOverlap, wholeUpTo: settings.tileSize)
        let identity = Hashing.of(["upscale-v1", hash, "\(tiling.size)/\(tiling.overlap)", device.map { GenerationParameters.deviceName($0.name) } ?? "cpu",
                                   precision.name])
        return UpscalePlan(name: URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent, path: path, architecture: architecture,
                           tiling: tiling, device: device, precision: precision, identity: identity, redraw: settings.redraw)
    }
}
