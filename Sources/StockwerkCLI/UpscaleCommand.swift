import ArgumentParser
import Diffusion
import Foundation
import Imaging
import Neural
import Workflow

/// `stockwerk upscale`: a learned super-resolution model (ESRGAN / Real-ESRGAN family) on one
/// image, in tiles so memory stays bounded. The input is only read; the result goes to --output.
struct UpscaleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upscale",
        abstract: "Enlarge an image with a learned super-resolution model (ESRGAN, Real-ESRGAN, compact).",
        discussion: "The model is a .safetensors file (pickled .pth files are refused; the error gives the one-line conversion) or its name in the models folder's upscalers/. Its architecture and scale are read from its tensors. docs/upscaling.md")

    @Argument(help: "The image to enlarge (any format libvips reads; it is never written to).") var input: String
    @Option(help: "A .safetensors super-resolution model, or its name in the models folder's upscalers/.") var model: String
    @Option(help: "Where to write the result (.png, .jpg, .tif); never the input.") var output: String
    @Option(help: "Tile side in input pixels: larger images run in overlapping tiles, so memory stays bounded.") var tile = UpscalerTiling.standard.size
    @Option(help: "Overlap between tiles, in input pixels.") var overlap = UpscalerTiling.standard.overlap
    @Option(help: DeviceOption.help) var device = "cpu"
    @Flag(help: "Print nothing but errors.") var quiet = false

    func run() throws {
        do {
            guard tile >= 16, overlap >= 0, overlap < tile / 2 else { throw BadOption("--tile must be at least 16 and --overlap under half of it") }
            let path = try Self.locate(model, modelsFolder: ModelLocator.defaultModelsFolder(),
                                       presets: (PresetLocator.locate().flatMap { try? UpscalerPreset.presets(in: $0) }) ?? [])
            try Self.refuseOverwriting(input, with: output)
            let started = Date()
            let gpu = try DeviceOption.parse(device).vulkanDevice()
            let upscaler = try SuperResolutionModel(path: path, backend: EngineBackend.backend(.fp32, halfWeights: false, on: gpu))
            if let gpu { note("on \(gpu.summary) (Vulkan)") }
            note("\(URL(fileURLWithPath: path).lastPathComponent): \(upscaler.architecture)")
            let source = try RGBImage.read(input)
            let image = ImagePixels.unitTensor(fromRGB: source.pixels, width: source.width, height: source.height, on: upscaler.backend)
            let result = try upscaler.upscale(image, tiles: UpscalerTiling(size: tile, overlap: overlap, wholeUpTo: tile))
            let (width, height) = (result.shape[3], result.shape[2])
            try RGBImage(width: width, height: height, pixels: try ImagePixels.rgb(from: result)).write(to: output)
            note(String(format: "wrote %@ (%dx%d → %dx%d) in %.1f s", output, source.width, source.height, width, height, Date().timeIntervalSince(started)))
        } catch let error as BadOption {
            ErrorReporting.stderr("error: \(error.message)\nhint: see `stockwerk upscale --help`")
            throw ExitCode(2)
        } catch { throw ErrorReporting.exit(for: error) }
    }

    private func note(_ line: String) { if !quiet { ErrorReporting.stderr(line) } }

    /// A file path as given, else NAME, NAME.safetensors or a preset's file in `modelsFolder`/upscalers.
    static func locate(_ model: String, modelsFolder: String, presets: [UpscalerPreset]) throws -> String {
        if FileManager.default.fileExists(atPath: model) { return model }
        let folder = modelsFolder + "/upscalers/"
        let preset = presets.first { $0.id == model }
        for candidate in [folder + model, folder + model + ".safetensors"] + (preset.map { [folder + $0.file] } ?? [])
        where FileManager.default.fileExists(atPath: candidate) { return candidate }
        if let preset { throw BadOption("\(preset.name) is not in \(folder): get \(preset.get) into \(folder)\(preset.file) (licence: \(preset.license))") }
        throw BadOption("no upscaler '\(model)': not a file, nor in \(folder) (put NAME.safetensors there, or give its path)")
    }

    /// The result must not replace the image it is made from (Stockwerk never writes to a file it imported).
    static func refuseOverwriting(_ input: String, with output: String) throws {
        let (a, b) = (URL(fileURLWithPath: input).resolvingSymlinksInPath().path, URL(fileURLWithPath: output).resolvingSymlinksInPath().path)
        var first = stat(), second = stat()
        let sameFile = stat(a, &first) == 0 && stat(b, &second) == 0 && first.st_dev == second.st_dev && first.st_ino == second.st_ino
        if a == b || sameFile { throw BadOption("--output \(output) is the input image; Stockwerk never writes to the file it reads: choose another path") }
    }
}
