import Diffusion
import Foundation

/// A learned upscaler Stockwerk knows by name (presets/upscalers/*.yaml): what it is, the file
/// name it is looked for under in the models folder's upscalers/, where to get it, its licence.
public struct UpscalerPreset: Decodable, Sendable {
    public struct Source: Decodable, Sendable { public var url: String; public var checked: String; public var confidence: String }
    public var id: String
    public var name: String
    public var architecture: String
    public var scale: Int
    public var file: String
    public var get: String
    public var license: String
    public var source: Source

    public static func presets(in presetsFolder: String) throws -> [UpscalerPreset] {
        try ModelLocator.decodeAll(UpscalerPreset.self, in: presetsFolder + "/upscalers", what: "upscaler preset", example: "presets/upscalers/realesrgan-x4plus.yaml")
    }

    /// The files in `modelsFolder`/upscalers that look like models (.safetensors, and pickles,
    /// which are listed to say they must be converted).
    public static func files(in modelsFolder: String) -> [String] {
        let folder = modelsFolder + "/upscalers"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.filter { ["safetensors", "pth", "pt", "ckpt", "bin"].contains(URL(fileURLWithPath: $0).pathExtension.lowercased()) }
            .sorted().map { folder + "/" + $0 }
    }
}
