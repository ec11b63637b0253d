import AtomicFiles
import Diffusion
import Foundation
import Imaging
import Metadata
import Neural
import VulkanBackend

/// Making an image again from the generation parameters embedded in it.
public enum Rerun {
    /// The parameters in `path`: our JSON (XMP, or the PNG `stockwerk` chunk) when there, else
    /// AUTOMATIC1111's text (EXIF UserComment, or the PNG `parameters` chunk other tools write).
    public static func parameters(of path: String) throws -> GenerationParameters {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ModelLookupError(message: "\(path) does not exist", hint: "give an image Stockwerk (or AUTOMATIC1111) generated")
        }
        let info = try ImageInfo.read(path)
        var found: GenerationParameters?
        switch info.format {
        case .jpeg:
            let embedded = try MetadataReader.read(jpeg: path)
            found = embedded.xmp?.generation ?? embedded.exif?.generation
        case .png:
            found = try RGBImage.pngText(path, key: "stockwerk").flatMap(GenerationParameters.fromJSON)
                ?? RGBImage.pngText(path, key: "parameters").flatMap(GenerationParameters.fromA1111)
        default:
            break
        }
        guard let found else {
            throw ModelLookupError(message: "\(path) holds no generation parameters",
                                   hint: "Stockwerk reads them from XMP (stockwerk:Generation), EXIF UserComment or a PNG `parameters` chunk")
        }
        return found
    }

    /// What a rerun cannot reproduce, found before any work. `blocking` stops it: a sampler or
    /// hires upscaler Stockwerk lacks, a LoRA or VAE that is not there, a tag it cannot apply.
    /// `differences` let it run, but the image will differ: A1111's GPU noise, Clip skip,
    /// embeddings, extensions — each named as the image records it.
    public struct Assessment: Sendable, Equatable {
        public var blocking: [String] = []
        public var differences: [String] = []
    }

    public static func assess(_ parameters: GenerationParameters, presetsFolder: String? = nil, modelsFolder: String) -> Assessment {
        var found = Assessment()
        if let refiner = parameters.refiner, (try? Self.refiner(refiner, presetsFolder: presetsFolder, modelsFolder: modelsFolder)) == nil {
            found.blocking.append("the refiner `\(refiner.model)` (not where it was, nor a preset or file in \(modelsFolder))")
        }
        if Sampler(rawValue: parameters.sampler) == nil { found.blocking.append("the sampler `\(parameters.sampler)`") }
        if let hires = parameters.hires, hires.upscaler != WorkflowSpec.RefineSettings.Mode.x2Upscaler.rawValue {
            if HiresRefine.Enlargement(rawValue: hires.upscaler) == nil { found.blocking.append("the hires upscaler `\(hires.upscaler)`") }
            if let sampler = hires.sampler, Sampler(rawValue: sampler) == nil { found.blocking.append("the hires sampler `\(sampler)`") }
        }
        let tags = ExtraNetworks.parse(parameters.prompt), lorasFolder = LoRAPlanning.defaultFolder(modelsFolder: modelsFolder)
        found.blocking += tags.unsupported.map { "the prompt's \($0)" }
        for lora in tags.loras where (try? LoRAPlanning.file(named: lora.name, folder: lorasFolder)) == nil {
            found.blocking.append("the LoRA `\(lora.name)` (no \(lora.name).safetensors in \(lorasFolder))")
        }
        if let vae = parameters.vae, !FileManager.default.fileExists(atPath: modelsFolder + "/vae/" + vae) {
            found.blocking.append("the VAE `\(vae)` (not in \(modelsFolder)/vae)")
        }
        for (key, value) in (parameters.otherSettings ?? [:]).sorted(by: { $0.key < $1.key }) {
            switch (key, value) {
            case ("Emphasis", "Original"), ("ENSD", "0"), ("Eta", "0"): continue
            case ("RNG", _):
                found.differences.append("the noise: \(value == "GPU" ? "A1111 drew it on the GPU (its text has no `RNG: CPU`)" : "RNG \(value)"); Stockwerk draws it as torch does on the CPU")
            case ("TI hashes", _):
                // "name: hash, name: hash": each embedding must be in the embeddings folder.
                let folder = EmbeddingPlanning.defaultFolder(modelsFolder: modelsFolder)
                for name in value.trimmingCharacters(in: CharacterSet(charactersIn: "\"")).split(separator: ",").compactMap({ $0.split(separator: ":").first })
                    .map({ $0.trimmingCharacters(in: .whitespaces) }) where !RegularFile.isRegular(folder + "/" + name + ".safetensors") {
                    found.blocking.append("the embedding `\(name)` (no \(name).safetensors in \(folder))")
                }
            default: found.differences.append("`\(key): \(value)`, a setting or extension Stockwerk does not apply")
            }
        }
        return found
    }

    /// The model to use: `override` when given, else where the image was made, else its name
    /// as a preset or path.
    public static func model(for parameters: GenerationParameters, override: String?, presetsFolder: String?, modelsFolder: String) throws -> ResolvedModel {
        let cwd = FileManager.default.currentDirectoryPath
        if let override { return try ModelLocator.resolve(override, baseFolder: cwd, presetsFolder: presetsFolder, modelsFolder: modelsFolder) }
        if let path = parameters.modelPath, FileManager.default.fileExists(atPath: path) {
            var model = try ModelLocator.resolve(path, baseFolder: cwd, presetsFolder: presetsFolder, modelsFolder: modelsFolder)
            model.name = parameters.model
            if let prediction = parameters.prediction { model.options.prediction = SchedulerConfig.Prediction(rawValue: prediction) }
            return model
        }
        do {
            return try ModelLocator.resolve(parameters.model, baseFolder: cwd, presetsFolder: presetsFolder, modelsFolder: modelsFolder)
        } catch let error as ModelLookupError {
            throw ModelLookupError(message: "the model that made this image (\(parameters.model)) is not available: \(error.message)",
                                   hint: "pass --model with its folder or .safetensors file; \(error.hint)")
        }
    }

    /// Generates the image again. `warning` says when the model's hash differs from the one recorded.
    /// An x2 upscaler pass finds its model where it was, else by name in `modelsFolder`.
    public static func generate(_ parameters: GenerationParameters, model resolved: ResolvedModel, modelsFolder: String = ModelLocator.defaultModelsFolder(),
                                precision: OpPrecisions = .fp32, weights: WeightStorage = .auto, device: VulkanDevices.Device? = nil, presetsFolder: String? = nil,
                                progress: (Int, Int) -> Void = { _, _ in }) throws -> (image: RGBImage, warning: String?) {
        guard let sampler = Sampler(rawValue: parameters.sampler) else {
            throw ModelLookupError(message: "the image names sampler `\(parameters.sampler)`, which Stockwerk does not have",
                                   hint: "samplers: \(Sampler.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let hash = try ModelLocator.modelHash(resolved.path)
        let warning = parameters.modelHash.isEmpty || parameters.modelHash == hash ? nil
            : "the model's hash is \(hash), the image was made with \(parameters.modelHash): the result will differ"
        // The prompt's <lora:…> tags, found by name before any work (a missing one is named).
        var options = try resolved.options.with(prompt: parameters.prompt, negative: parameters.negativePrompt,
                                                lorasFolder: LoRAPlanning.defaultFolder(modelsFolder: modelsFolder),
                                                embeddingsFolder: EmbeddingPlanning.defaultFolder(modelsFolder: modelsFolder))
        // Another VAE, by its recorded name in the models folder's vae/ (an A1111 image names it too).
        if let vae = parameters.vae, options.vae == nil {
            let path = modelsFolder + "/vae/" + vae
            guard FileManager.default.fileExists(atPath: path) else {
                throw ModelLookupError(message: "the image was made with the VAE \(vae), which is not in \(modelsFolder)/vae",
                                       hint: "put \(vae) there (or pass --model with a model that has it built in)")
            }
            options.vae = path
        }
        let halfWeights = EngineBackend.keepsHalfWeights(weights, modelPath: resolved.path, extraPaths: options.vae.map { [$0] } ?? [], device: device)
        let model = try StableDiffusionModel(path: resolved.path, options: options, backend: EngineBackend.backend(precision, halfWeights: halfWeights, on: device))
        let request = GenerationChain.request(parameters, sampler: sampler)
        let result = try GenerationChain.firstPass(request, switchAt: parameters.refiner?.switchAt, base: model, refiner: {
            let found = try refiner(parameters.refiner!, presetsFolder: presetsFolder, modelsFolder: modelsFolder)
            let options = Planner.refinerOptions(found.options, base: options)
            let halfWeights = EngineBackend.keepsHalfWeights(weights, modelPath: found.path, device: device)
            return try StableDiffusionModel(path: found.path, options: options, backend: EngineBackend.backend(precision, halfWeights: halfWeights, on: device))
        }, progress: progress)
        guard let hires = parameters.hires else {
            return (RGBImage(width: parameters.width, height: parameters.height, pixels: try ImagePixels.rgb(from: result.image)), warning)
        }
        let pass: RefinePlan.Pass
        var refineWarning: String?
        if hires.upscaler == WorkflowSpec.RefineSettings.Mode.x2Upscaler.rawValue {
            let path: String
            (path, refineWarning) = try upscaler(for: hires, modelsFolder: modelsFolder)
            pass = .x2Upscaler(modelPath: path, steps: hires.steps, guidance: Float(hires.guidance ?? 0))
        } else {
            pass = .hires(try hiresRefine(hires, firstSampler: sampler))
        }
        // As the workflow's refine stage does: the first pass's image as saved (8-bit), its latents as made.
        var base = request
        base.tiling = tiling(hires)
        let refined = try GenerationChain.refine(HiresRefine.asSaved(result), of: base, pass: pass, model: { model },
                                                 upscaler: { try LatentUpscalerModel(path: $0, backend: model.backend) }, progress: progress).result
        return (RGBImage(width: refined.image.shape[3], height: refined.image.shape[2], pixels: try ImagePixels.rgb(from: refined.image)), warning ?? refineWarning)
    }

    /// The precision an image records (fp32 when it records none).
    public static func recordedPrecision(_ parameters: GenerationParameters) throws -> OpPrecisions {
        guard let name = parameters.precision else { return .fp32 }
        guard let ops = OpPrecisions(name: name) else {
            throw ModelLookupError(message: "the image records the precision `\(name)`, which Stockwerk does not know",
                                   hint: "pass --precision fp32, bf16 or auto")
        }
        return ops
    }

    /// The refiner recorded in an image's parameters: where it was, else its name as a preset,
    /// a path, or NAME.safetensors (A1111 records the file's name without it) in the models folder.
    public static func refiner(_ refiner: GenerationParameters.Refiner, presetsFolder: String?, modelsFolder: String) throws -> ResolvedModel {
        let cwd = FileManager.default.currentDirectoryPath
        for reference in [refiner.modelPath, refiner.model, refiner.model + ".safetensors"].compactMap({ $0 }) {
            if let model = try? ModelLocator.resolve(reference, baseFolder: cwd, presetsFolder: presetsFolder, modelsFolder: modelsFolder) { return model }
            if let model = try? ModelLocator.resolve(modelsFolder + "/" + reference, baseFolder: cwd, presetsFolder: presetsFolder, modelsFolder: modelsFolder) {
                return model
            }
        }
        throw ModelLookupError(message: "the refiner that made this image (\(refiner.model)) is not available",
                               hint: "put it in \(modelsFolder) (the sdxl-refiner preset names where to get SDXL's), or set STOCKWERK_MODELS")
    }

    /// The x2 upscaler recorded in an image's parameters: where it was, else its name in the models folder.
    static func upscaler(for hires: GenerationParameters.Hires, modelsFolder: String) throws -> (path: String, warning: String?) {
        let path: String
        if let recorded = hires.modelPath, FileManager.default.fileExists(atPath: recorded) { path = recorded } else {
            let name = hires.model ?? WorkflowSpec.RefineSettings.defaultUpscalerModel
            do { path = try ModelLocator.resolveUpscaler(name, baseFolder: FileManager.default.currentDirectoryPath, modelsFolder: modelsFolder) } catch let error as ModelLookupError {
                throw ModelLookupError(message: "the x2 upscaler that refined this image (\(name)) is not available: \(error.message)", hint: error.hint)
            }
        }
        let hash = try ModelLocator.modelHash(path)
        let warning = hires.modelHash == nil || hires.modelHash == hash ? nil
            : "the x2 upscaler's hash is \(hash), the image was refined with \(hires.modelHash!): the result will differ"
        return (path, warning)
    }

    /// VAE tiles as recorded (the standard ones when not).
    static func tiling(_ hires: GenerationParameters.Hires) -> VAETiling {
        var tiling = VAETiling.standard
        if let size = hires.tileSize { tiling.tileSize = size }
        if let overlap = hires.tileOverlap { tiling.overlap = overlap }
        return tiling
    }

    /// The refine pass recorded in an image's parameters.
    static func hiresRefine(_ hires: GenerationParameters.Hires, firstSampler: Sampler) throws -> HiresRefine {
        guard let enlargement = HiresRefine.Enlargement(rawValue: hires.upscaler) else {
            throw ModelLookupError(message: "the image's hires pass used the upscaler `\(hires.upscaler)`, which Stockwerk does not have",
                                   hint: "Stockwerk's hires upscalers: \(HiresRefine.Enlargement.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let sampler = try hires.sampler.map { name in
            guard let sampler = Sampler(rawValue: name) else {
                throw ModelLookupError(message: "the image's hires pass names sampler `\(name)`, which Stockwerk does not have",
                                       hint: "samplers: \(Sampler.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return sampler
        } ?? firstSampler
        return HiresRefine(enlargement: enlargement, factor: hires.factor, strength: hires.strength, steps: hires.steps, sampler: sampler)
    }
}
