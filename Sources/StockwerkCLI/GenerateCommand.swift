import ArgumentParser
import Diffusion
import Foundation
import Imaging
import Metadata
import Neural
import Workflow

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate one image with the built-in Stable Diffusion engine (txt2img, or img2img with --init-image).",
        discussion: """
        --model is a diffusers model folder (model_index.json, unet/, vae/, text_encoder/, tokenizer/, \
        scheduler/; SDXL also text_encoder_2/, tokenizer_2/) with .safetensors weights, a single-file \
        SD 1.x/2.x or SDXL .safetensors checkpoint, or a preset name from presets/models/ (looked up in \
        $STOCKWERK_MODELS, default ~/.local/share/stockwerk/models). The prompt is read as AUTOMATIC1111 \
        reads it: (word:1.3), (word), [word], BREAK, any length; <lora:NAME:WEIGHT> applies \
        NAME.safetensors from $STOCKWERK_LORAS (default: loras/ in the models folder). The same seed, steps, sampler and guidance give the same image \
        as diffusers on the CPU. The parameters are written into the image (PNG text chunks \
        `parameters` and `stockwerk`; for JPEG, EXIF UserComment and XMP), so `stockwerk rerun` can \
        make it again.
        """)

    @Option(help: "A diffusers folder, a .safetensors checkpoint, or a preset name (stockwerk models lists them).") var model: String
    @Option(help: "Single files: a diffusers folder whose configs describe the checkpoint (default: inferred from its tensors).") var config: String?
    @Option(help: "Single files: epsilon or v_prediction (SD 2.x files default to v_prediction, the 768-v model).") var prediction: String?
    @Option(help: "Another VAE: a .safetensors file or diffusers VAE folder, or a name in the models folder's vae/.") var vae: String?
    @Option(help: "A1111's Clip skip for SD 1.x models: 2 uses the text encoder's next-to-last layer.") var clipSkip = 1
    @Option(help: "What to draw.") var prompt: String
    @Option(help: "What to steer away from (used when --guidance is above 1).") var negative = ""
    @Option(help: "Random seed (the same seed gives the same image).") var seed: UInt64 = 0
    @Option(help: "Denoising steps.") var steps = 25
    @Option(help: "Classifier-free guidance scale; 0 or 1 turns guidance off (SD-Turbo, LCM).") var guidance: Float = 7.5
    @Option(help: "Sampler: \(Sampler.allCases.map(\.rawValue).joined(separator: ", ")).") var sampler = "dpmpp-2m-karras"
    @Option(help: "Image size WxH, multiples of 8, e.g. 640x480 (default: the model's native size, or the init image's).") var size: String?
    @Option(help: "Where to write the image (.png, .jpg, .tif).") var output: String
    @Option(help: "img2img: the starting image.") var initImage: String?
    @Option(help: "img2img: how much to change the init image, (0, 1].") var strength = 0.75
    @Option(help: "Also write the final latents (before the VAE scaling) as safetensors, key `latents`.") var latentsOut: String?
    @Option(help: "auto, fp32 or bf16 (auto: the faster of the two for each kind of op on this CPU, measured once).") var precision = "fp32"
    @Option(help: WeightsOption.help) var weights = "auto"
    @Option(help: DeviceOption.help) var device = "cpu"
    @Flag(help: "Print nothing but errors.") var quiet = false

    func run() throws {
        do {
            guard let sampler = Sampler(rawValue: sampler) else {
                throw BadOption("unknown sampler '\(self.sampler)'; choose one of \(Sampler.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let requestedSize = try size.map(Self.parseSize)
            let started = Date()
            var resolved = try ModelLocator.resolve(model, baseFolder: FileManager.default.currentDirectoryPath, presetsFolder: PresetLocator.locate(),
                                                    modelsFolder: ModelLocator.defaultModelsFolder())
            if let config { resolved.options.configFolder = config }
            if let prediction {
                guard let value = SchedulerConfig.Prediction(rawValue: prediction) else {
                    throw BadOption("--prediction '\(prediction)' is not epsilon or v_prediction")
                }
                resolved.options.prediction = value
            }
            // <lora:name:weight> in the prompt: NAME.safetensors in $STOCKWERK_LORAS or the models folder's loras/.
            if let vae { resolved.options.vae = try VAEPlanning.resolve(vae, baseFolder: FileManager.default.currentDirectoryPath, modelsFolder: ModelLocator.defaultModelsFolder()) }
            let models = ModelLocator.defaultModelsFolder()
            resolved.options = try resolved.options.with(prompt: prompt, negative: negative, lorasFolder: LoRAPlanning.defaultFolder(modelsFolder: models),
                                                         embeddingsFolder: EmbeddingPlanning.defaultFolder(modelsFolder: models))
            let ops = EngineBackend.resolve(try PrecisionOption.parse(precision))
            let gpu = try DeviceOption.parse(device).vulkanDevice()
            let halfWeights = EngineBackend.keepsHalfWeights(try WeightsOption.parse(weights), modelPath: resolved.path,
                                                             extraPaths: resolved.options.vae.map { [$0] } ?? [], device: gpu)
            let loaded = try StableDiffusionModel(path: resolved.path, options: resolved.options, backend: EngineBackend.backend(ops, halfWeights: halfWeights, on: gpu))
            if let gpu { note("on \(gpu.summary) (Vulkan)") }
            note(String(format: "model loaded in %.1f s", Date().timeIntervalSince(started)))
            var width = requestedSize?.width ?? loaded.unet.config.sampleSize * loaded.vaeScaleFactor
            var height = requestedSize?.height ?? loaded.unet.config.sampleSize * loaded.vaeScaleFactor
            var initTensor: Tensor?
            if let initImage {
                if requestedSize == nil {
                    // Like diffusers: the init image's own size, rounded down to what the model takes.
                    let info = try ImageInfo.read(initImage)
                    width = info.width / loaded.sizeMultiple * loaded.sizeMultiple
                    height = info.height / loaded.sizeMultiple * loaded.sizeMultiple
                }
                let pixels = try RGBImage.read(initImage, size: (width, height))
                initTensor = ImagePixels.tensor(fromRGB: pixels.pixels, width: width, height: height, on: loaded.backend)
            }
            var request = GenerationRequest(prompt: prompt, negativePrompt: negative, seed: seed, steps: steps, guidance: guidance,
                                            sampler: sampler, width: width, height: height, initImage: initTensor, strength: strength)
            request.clipSkip = clipSkip
            let loopStart = Date()
            let result = try Pipeline(model: loaded).generate(request) { done, total in
                note(String(format: "step %d/%d  %.1f s", done, total, Date().timeIntervalSince(loopStart)))
            }
            var parameters = GenerationParameters(
                prompt: prompt, negativePrompt: negative, seed: seed, steps: steps, sampler: sampler.rawValue, guidance: Double(guidance),
                width: width, height: height, model: resolved.name, modelHash: try ModelLocator.modelHash(resolved.path),
                modelPath: URL(fileURLWithPath: resolved.path).standardizedFileURL.path, prediction: resolved.options.prediction?.rawValue,
                precision: ops == .fp32 ? nil : ops.name)
            parameters.clipSkip = clipSkip == 1 ? nil : clipSkip
            parameters.device = gpu.map { GenerationParameters.deviceName($0.name) }
            if let path = resolved.options.vae { (parameters.vae, parameters.vaeHash) = (URL(fileURLWithPath: path).lastPathComponent, try VAEPlanning.hash(path)) }
            let image = RGBImage(width: width, height: height, pixels: try ImagePixels.rgb(from: result.image))
            // img2img results depend on the init image too, so only txt2img records how to rerun.
            let record = initImage == nil ? parameters : nil
            try image.write(to: output, pngText: record.map { ["parameters": $0.a1111Text, "stockwerk": $0.json] } ?? [:])
            if let record, ["jpg", "jpeg"].contains(URL(fileURLWithPath: output).pathExtension.lowercased()) {
                let metadata = StockMetadata(digitalSourceType: .trainedAlgorithmicMedia, software: "Stockwerk", generation: record)
                try MetadataWriter.write(metadata, source: output, destination: output)
            }
            if let latentsOut { try SafeTensorsWriter.write([("latents", try result.latents.host())], to: latentsOut) }
            note(String(format: "wrote %@ (%dx%d, seed %llu) in %.1f s", output, width, height, seed, Date().timeIntervalSince(started)))
        } catch let error as BadOption {
            ErrorReporting.stderr("error: \(error.message)\nhint: see `stockwerk generate --help`")
            throw ExitCode(2)
        } catch { throw ErrorReporting.exit(for: error) }
    }

    private func note(_ line: String) { if !quiet { ErrorReporting.stderr(line) } }

    static func parseSize(_ text: String) throws -> (width: Int, height: Int) {
        guard let size = ModelLocator.parseSize(text) else { throw BadOption("--size '\(text)' is not WIDTHxHEIGHT, for example 512x768") }
        return size
    }
}

/// A malformed option value: exit code 2 like every other bad input (ArgumentParser's own is 64).
struct BadOption: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
