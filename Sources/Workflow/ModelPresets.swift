import AtomicFiles
import Diffusion
import Foundation
import Yams

/// A model named in presets/models/*.yaml: which files make it, where users get them, and the
/// settings it works best with.
public struct ModelPreset: Decodable, Sendable {
    public struct Recommended: Decodable, Sendable {
        public var sampler: String
        public var steps: Int
        public var guidance: Double
        public var size: String
    }

    public var id: String
    public var name: String
    public var family: String
    /// Any one of these under the models folder: a diffusers folder or a single-file checkpoint.
    public var files: [String]
    public var get: String
    public var license: String
    public var prediction: String?
    public var timestepSpacing: String?
    public var recommended: Recommended

    enum CodingKeys: String, CodingKey {
        case id, name, family, files, get, license, prediction, recommended
        case timestepSpacing = "timestep_spacing"
    }
}

/// A workflow's `model:` resolved to something on disk.
public struct ResolvedModel: Sendable {
    /// The preset id, or the file or folder name.
    public var name: String
    public var path: String
    public var preset: ModelPreset?
    public var options: StableDiffusionModel.LoadOptions
}

/// Why a model could not be found, with what to do about it.
public struct ModelLookupError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var hint: String
    public var description: String { "error: \(message)\nhint: \(hint)" }

    public init(message: String, hint: String) {
        self.message = message
        self.hint = hint
    }
}

/// Finds models: by path, or by preset name in the models folder.
public enum ModelLocator {
    /// `$STOCKWERK_MODELS`, else `$XDG_DATA_HOME/stockwerk/models` (~/.local/share/stockwerk/models).
    public static func defaultModelsFolder() -> String {
        let environment = ProcessInfo.processInfo.environment
        if let folder = environment["STOCKWERK_MODELS"], !folder.isEmpty { return folder }
        let data = environment["XDG_DATA_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (NSHomeDirectory() + "/.local/share")
        return data + "/stockwerk/models"
    }

    public static func presets(in presetsFolder: String) throws -> [ModelPreset] {
        try decodeAll(ModelPreset.self, in: presetsFolder + "/models", what: "model preset", example: "presets/models/sd15.yaml")
    }

    /// Every `*.yaml` in `folder` as a `T`, by name; an unreadable one is an error naming it.
    static func decodeAll<T: Decodable>(_ type: T.Type, in folder: String, what: String, example: String) throws -> [T] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return try names.filter { $0.hasSuffix(".yaml") }.sorted().map { name in
            let path = folder + "/" + name
            do { return try YAMLDecoder().decode(T.self, from: try String(contentsOfFile: path, encoding: .utf8)) } catch {
                throw ModelLookupError(message: "cannot read the \(what) \(path): \(error)", hint: "compare it with \(example)")
            }
        }
    }

    /// `reference` is a path (absolute, or relative to `baseFolder`) to a diffusers folder or a
    /// .safetensors file, or a preset id looked up in `modelsFolder`.
    public static func resolve(_ reference: String, baseFolder: String, presetsFolder: String?, modelsFolder: String) throws -> ResolvedModel {
        let clipMerges = presetsFolder.map { $0 + "/clip/bpe_simple_vocab_16e6.txt.gz" }
        let asPath = reference.hasPrefix("/") ? reference : baseFolder + "/" + reference
        let presets = try presetsFolder.map(presets(in:)) ?? []
        if let preset = presets.first(where: { $0.id == reference }) {
            for file in preset.files {
                let path = modelsFolder + "/" + file
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
                    // A diffusers folder carries its own scheduler config; only single files need the preset's.
                    let options = isDirectory.boolValue ? .init(clipMerges: clipMerges) : options(for: preset, clipMerges: clipMerges)
                    return ResolvedModel(name: preset.id, path: path, preset: preset, options: options)
                }
            }
            let wanted = preset.files.map { modelsFolder + "/" + $0 }.joined(separator: " or ")
            throw ModelLookupError(message: "model `\(preset.id)` (\(preset.name)) is not on disk: looked for \(wanted)",
                                   hint: "get it from \(preset.get); put it in \(modelsFolder) (or set STOCKWERK_MODELS, or `generate.models_folder`). Licence: \(preset.license)")
        }
        if reference.contains("/") || reference.hasSuffix(".safetensors") || FileManager.default.fileExists(atPath: asPath) {
            guard FileManager.default.fileExists(atPath: asPath) else {
                throw ModelLookupError(message: "no such file or folder: \(asPath)", hint: "give a diffusers folder or a .safetensors checkpoint, or a preset name: \(presets.map(\.id).joined(separator: ", "))")
            }
            let name = URL(fileURLWithPath: asPath).deletingPathExtension().lastPathComponent
            return ResolvedModel(name: name, path: asPath, preset: nil, options: .init(clipMerges: clipMerges))
        }
        let suggestion = YAMLNodeReader.closest(to: reference, in: presets.map(\.id)).map { "did you mean `\($0)`? " } ?? ""
        throw ModelLookupError(message: "unknown model `\(reference)`",
                               hint: "\(suggestion)name a preset (\(presets.map(\.id).joined(separator: ", "))) or give a path to a diffusers folder or .safetensors file")
    }

    static func options(for preset: ModelPreset, clipMerges: String?) -> StableDiffusionModel.LoadOptions {
        StableDiffusionModel.LoadOptions(clipMerges: clipMerges, prediction: preset.prediction.flatMap(SchedulerConfig.Prediction.init(rawValue:)),
                                         spacing: preset.timestepSpacing.flatMap(SchedulerConfig.Spacing.init(rawValue:)))
    }

    public static let upscalerSource = "https://huggingface.co/stabilityai/sd-x2-latent-upscaler (diffusers folder: its .safetensors and .json files, not the .bin files; licence CreativeML Open RAIL++-M)"

    /// The x2 latent upscaler's folder: a path (relative to `baseFolder`), or a folder name in the
    /// models folder. Checked to be that pipeline's diffusers folder, not loaded.
    public static func resolveUpscaler(_ reference: String, baseFolder: String, modelsFolder: String) throws -> String {
        var candidates = [reference.hasPrefix("/") ? reference : baseFolder + "/" + reference]
        if !reference.contains("/") { candidates.append(modelsFolder + "/" + reference) }
        guard let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            throw ModelLookupError(message: "the x2 latent upscaler `\(reference)` is not on disk: looked for \(candidates.joined(separator: " and "))",
                                   hint: "get \(upscalerSource) into \(modelsFolder)/\(WorkflowSpec.RefineSettings.defaultUpscalerModel), or give its path in `refine.model`")
        }
        try LatentUpscalerModel.checkFolder(found)
        return found
    }

    /// `WIDTHxHEIGHT` (e.g. `512x768`) as two positive numbers, or nil.
    public static func parseSize(_ text: String) -> (width: Int, height: Int)? {
        let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
        guard parts.count == 2, let width = parts[0], let height = parts[1], width > 0, height > 0 else { return nil }
        return (width, height)
    }
}
