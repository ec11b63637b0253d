import AtomicFiles
import Diffusion
import Foundation
import Imaging
import Metadata
import Neural
import VulkanBackend

/// What the generate stage needs for one image.
public struct GenerationPlan: Sendable {
    public var parameters: GenerationParameters
    public var modelPath: String
    public var options: StableDiffusionModel.LoadOptions
    /// Hash of everything that determines the first pass's pixels (same inputs, same image).
    public var inputsHash: String
    /// Where the generate stage writes its image (the job's source, unless a refine pass follows).
    public var firstPassPath: String
    /// SDXL's refiner, when the base hands over to one.
    public var refiner: RefinerPlan?
    /// The refine pass, when the workflow has `refine:`.
    public var refine: RefinePlan?
    /// What each op kind computes in (the workflow's `engine: {precision: …}`, auto resolved).
    public var precision: OpPrecisions = .fp32
    /// The GPU it runs on (`engine: {device: …}` resolved when planning); nil: the CPU.
    public var device: VulkanDevices.Device?

    /// The first pass's final latents, kept for a latent refine pass.
    public var latentsPath: String { firstPassPath + ".latents.safetensors" }
}

/// The SDXL refiner a generation hands over to, and at which fraction of the steps.
public struct RefinerPlan: Sendable {
    public var modelPath: String
    public var options: StableDiffusionModel.LoadOptions
    public var switchAt: Double
}

/// The refine pass of one generated image: what it runs and the hash of everything that decides
/// its pixels (the first pass's inputs included).
public struct RefinePlan: Sendable {
    public enum Pass: Sendable {
        /// Enlarge and redraw with the generating model.
        case hires(HiresRefine)
        /// Double with the SD x2 latent upscaler model in `modelPath`.
        case x2Upscaler(modelPath: String, steps: Int, guidance: Float)
    }
    public var pass: Pass
    public var tiling: VAETiling
    public var inputsHash: String
}

extension Planner {
    static let defaultSampler = "dpmpp-2m-karras", defaultSteps = 25, defaultGuidance = 7.5

    /// One job per expanded prompt and seed. Everything that can be known without running the
    /// model is checked here: the model is on disk (not a pickle), wildcards exist, the cap holds.
    static func generationJobs(_ source: WorkflowSpec.GenerateSource, spec: WorkflowSpec, presetsFolder: String?, rememberHashes: Bool = true,
                               enlargedBy: Int = 1, usedNames: inout Set<String>, issues: inout [WorkflowIssue]) -> [Job] {
        func issue(_ message: String, _ location: WorkflowSpec.Location, hint: String) {
            issues.append(WorkflowIssue(message, file: spec.file, line: location.line, column: location.column, hint: hint))
        }
        let baseFolder = URL(fileURLWithPath: spec.file).deletingLastPathComponent().path
        let modelsFolder = source.modelsFolder ?? ModelLocator.defaultModelsFolder()
        /// A model by preset name or path, not a pickle, with its A1111 hash and its content's identity.
        func found(_ reference: String, at location: WorkflowSpec.Location, what: String) -> (model: ResolvedModel, hash: String, identity: String)? {
            do {
                let model = try ModelLocator.resolve(reference, baseFolder: baseFolder, presetsFolder: presetsFolder, modelsFolder: modelsFolder)
                try ModelFiles.refusePickle(model.path)
                let (hash, identity) = try ModelLocator.hashes(model.path, configFolder: model.options.configFolder, clipMerges: model.options.clipMerges,
                                                               remember: rememberHashes)
                return (model, hash, identity)
            } catch let error as ModelLookupError {
                issue(error.message, location, hint: error.hint)
            } catch let error as DiffusionError {
                issue(error.description, location, hint: error.hint)
            } catch let failure as StageFailure {
                issue("cannot read the \(what): \(failure.message)", location, hint: failure.hint)
            } catch {
                issue("cannot read the \(what): \(error)", location, hint: "check the \(what)'s files")
            }
            return nil
        }
        guard let (model, modelHash, modelIdentity) = found(source.model, at: source.modelLocation, what: "model") else { return [] }
        let recommended = model.preset?.recommended
        let size = source.width.map { ($0, source.height!) } ?? recommended.flatMap { ModelLocator.parseSize($0.size) }.map { ($0.width, $0.height) } ?? nativeSize(model.path)
        let sampler = source.sampler ?? recommended?.sampler ?? defaultSampler
        let steps = source.steps ?? recommended?.steps ?? defaultSteps
        let guidance = source.guidance ?? recommended?.guidance ?? defaultGuidance

        var prompts: [String] = [], promptLocations: [WorkflowSpec.Location] = []
        let expander = PromptExpander(wildcardsFolder: source.wildcardsFolder)
        for (template, location) in zip(source.prompts, source.promptLocations) {
            do {
                let count = try expander.count(template)
                guard count <= source.maxPrompts else {
                    issue("this prompt expands to \(count == Int.max ? "too many" : String(count)) prompts, more than max_prompts (\(source.maxPrompts))", location,
                          hint: "use fewer {a|b} alternatives or wildcard lines, or raise `generate.max_prompts`")
                    continue
                }
                let expanded = try expander.expand(template).map { LoRAPlanning.tagged($0, with: source.loras) }
                prompts += expanded
                promptLocations += Array(repeating: location, count: expanded.count)
            } catch let failure as PromptExpander.Failure {
                issue(failure.message, location, hint: failure.hint)
            } catch {
                issue("\(error)", location, hint: "check the prompt")
            }
        }

        // The x2 upscaler is found and checked once, before any job is planned.
        var upscaler: (name: String, path: String, hash: String, identity: String)?
        if let refine = spec.refine, refine.mode == .x2Upscaler {
            if family(model.path)?.isSDXL == true {
                issue("the x2 latent upscaler works on SD 1.x/2.x latents, and \(model.name) is an SDXL model", refine.location,
                      hint: "use refine mode latent or pixel (a hires pass with the same model), or an SD 1.x/2.x model")
                return []
            }
            let reference = refine.model ?? WorkflowSpec.RefineSettings.defaultUpscalerModel
            do {
                let path = try ModelLocator.resolveUpscaler(reference, baseFolder: baseFolder, modelsFolder: modelsFolder)
                let (hash, identity) = try ModelLocator.hashes(path, remember: rememberHashes)
                upscaler = (URL(fileURLWithPath: path).lastPathComponent, path, hash, identity)
            } catch let error as ModelLookupError {
                issue(error.message, refine.modelLocation ?? refine.location, hint: error.hint)
                return []
            } catch let error as DiffusionError {
                issue(error.description, refine.modelLocation ?? refine.location, hint: "refine.model must be the x2 latent upscaler's diffusers folder: \(ModelLocator.upscalerSource)")
                return []
            } catch {
                issue("cannot read the x2 latent upscaler: \(error)", refine.modelLocation ?? refine.location, hint: "check its files")
                return []
            }
        }

        let precision = EngineBackend.resolve(spec.precision, remember: rememberHashes)
        let device: VulkanDevices.Device?
        do { device = try spec.device.vulkanDevice() } catch {
            let failure = error as? EngineDeviceError
            issue(failure?.message ?? "\(error)", spec.deviceLocation ?? source.location, hint: failure?.hint ?? "use `engine: {device: cpu}`")
            return []
        }
        if device != nil && precision != .fp32 {
            issue("the GPU backend computes in fp32, and this workflow asks for \(precision.name)", spec.deviceLocation ?? source.location,
                  hint: "use `engine: {precision: fp32}` with a GPU, or `device: cpu`")
            return []
        }
        let reading = PromptReading(model: model)
        let aiReason = "generated by Stockwerk with the model \(model.name)"
        var jobs: [Job] = []
        let embeddingsFolder = source.embeddingsFolder ?? EmbeddingPlanning.defaultFolder(modelsFolder: modelsFolder)
        let lorasFolder = source.lorasFolder ?? LoRAPlanning.defaultFolder(modelsFolder: modelsFolder)
        // Another VAE: found, hashed (A1111's hash for the record, the file's identity for the job's) once.
        var vae: (path: String, hash: String, identity: String)?
        if let reference = source.vae {
            do {
                let path = try VAEPlanning.resolve(reference, baseFolder: baseFolder, modelsFolder: modelsFolder)
                try ModelFiles.refusePickle(path)
                vae = (path, try VAEPlanning.hash(path, remember: rememberHashes), try ModelLocator.hashes(path, remember: rememberHashes).identity)
            } catch let error as ModelLookupError {
                issue(error.message, source.vaeLocation ?? source.location, hint: error.hint)
                return []
            } catch let error as DiffusionError {
                issue(error.description, source.vaeLocation ?? source.location, hint: error.hint)
                return []
            } catch {
                issue("cannot read the VAE: \(error)", source.vaeLocation ?? source.location, hint: "check its files")
                return []
            }
        }
        // The SDXL refiner: found, checked to be one (after an SDXL base), hashed once.
        var refiner: (model: ResolvedModel, hash: String, identity: String, switchAt: Double)?
        if let setting = source.refiner {
            guard family(model.path) == .sdxl else {
                issue("\(model.name) is not an SDXL base model, and only an SDXL base hands over to a refiner", setting.location,
                      hint: "use an SDXL base model (e.g. the sdxl-base preset), or remove `refiner`")
                return []
            }
            guard let (refinerModel, hash, identity) = found(setting.model, at: setting.location, what: "refiner") else { return [] }
            guard family(refinerModel.path) == .sdxlRefiner else {
                issue("\(refinerModel.name) is not an SDXL refiner (its UNet does not take the aesthetic score)", setting.location,
                      hint: "name the SDXL refiner: the sdxl-refiner preset (stabilityai/stable-diffusion-xl-refiner-1.0) or its folder or file")
                return []
            }
            refiner = (refinerModel, hash, identity, setting.switchAt)
        }
        // Each LoRA or embedding file is hashed once, however many prompts use it.
        var identities: [String: String] = [:]
        func identity(_ path: String) throws -> String {
            if let known = identities[path] { return known }
            let hash = try ModelLocator.hashes(path, remember: rememberHashes).identity
            identities[path] = hash
            return hash
        }
        for (prompt, promptLocation) in zip(prompts, promptLocations) {
            // The prompt's LoRAs (and the workflow's, added to it as tags) and the embeddings it names.
            var options = model.options, loraIdentity = "", embeddingIdentity = ""
            options.vae = vae?.path
            do {
                options = try options.with(prompt: prompt, negative: source.negativePrompt, lorasFolder: lorasFolder, embeddingsFolder: embeddingsFolder)
                loraIdentity = try options.loras.map { "\($0.weight):" + (try identity($0.path)) }.joined(separator: ",")
                embeddingIdentity = try options.embeddings.map(identity).joined(separator: ",")
            } catch let error as ModelLookupError {
                issue(error.message, promptLocation, hint: error.hint)
                continue
            } catch {
                issue("cannot read a LoRA: \(error)", promptLocation, hint: "check the LoRA files")
                continue
            }
            for seed in source.seeds {
                var parameters = GenerationParameters(
                    prompt: prompt, negativePrompt: source.negativePrompt, seed: seed, steps: steps, sampler: sampler, guidance: guidance,
                    width: size.0, height: size.1, model: model.name, modelHash: modelHash, modelPath: model.path,
                    prediction: model.options.prediction?.rawValue)
                // fp32 is recorded as no precision, so images made before precisions existed keep their identity.
                parameters.precision = precision == .fp32 ? nil : precision.name
                // The device is part of what makes the pixels (fp32 sums in another order); the CPU is recorded as none.
                parameters.device = device.map { GenerationParameters.deviceName($0.name) }
                if let vae { (parameters.vae, parameters.vaeHash) = (URL(fileURLWithPath: vae.path).lastPathComponent, vae.hash) }
                parameters.clipSkip = source.clipSkip
                if let refiner {
                    parameters.refiner = .init(model: refiner.model.name, modelHash: refiner.hash, modelPath: refiner.model.path, switchAt: refiner.switchAt)
                }
                var pixelInputs = parameters
                pixelInputs.modelPath = nil  // moving the model file does not change the image
                pixelInputs.refiner?.modelPath = nil
                // Every component's content counts: the same UNet with another VAE makes other pixels.
                // generate-v3: prompts read as A1111 reads them; one that reads as before keeps its v2 identity.
                let unchanged = reading.readsAsBefore(prompt) && reading.readsAsBefore(source.negativePrompt)
                let inputsHash = Hashing.of([unchanged ? "generate-v2" : "generate-v3", pixelInputs.json, model.options.spacing?.rawValue ?? "", modelIdentity]
                                            + (loraIdentity.isEmpty ? [] : ["loras", loraIdentity]) + (vae.map { ["vae", $0.identity] } ?? [])
                                            + (embeddingIdentity.isEmpty ? [] : ["embeddings", embeddingIdentity])
                                            + (refiner.map { ["refiner", $0.identity] } ?? []))
                let name = uniqueName(for: slug(prompt, seed: seed), used: &usedNames)
                let firstPassPath = spec.output + "/.stockwerk/generate/" + String(inputsHash.prefix(32)) + ".png"
                var path = firstPassPath, sourceHash = inputsHash, finalSize = size
                var refinePlan: RefinePlan?
                if let refine = spec.refine {
                    let tiling = VAETiling(tileSize: refine.tileSize, overlap: refine.tileOverlap, wholeUpTo: VAETiling.standard.wholeUpTo)
                    var hires: GenerationParameters.Hires
                    let pass: RefinePlan.Pass, refinedSize: (width: Int, height: Int)
                    if let upscaler {
                        let steps = refine.steps ?? WorkflowSpec.RefineSettings.defaultUpscalerSteps, guidance = refine.guidance ?? 0
                        hires = .init(upscaler: refine.enlargement, factor: 2, steps: steps, strength: refine.effectiveStrength,
                                      model: upscaler.name, modelHash: upscaler.hash, modelPath: upscaler.path, guidance: guidance)
                        pass = .x2Upscaler(modelPath: upscaler.path, steps: steps, guidance: Float(guidance))
                        refinedSize = (size.0 * 2, size.1 * 2)
                    } else {
                        let refineSampler = refine.sampler ?? sampler
                        let hiresPass = HiresRefine(enlargement: HiresRefine.Enlargement(rawValue: refine.enlargement) ?? .bicubicAntialiased, factor: refine.factor,
                                                strength: refine.effectiveStrength, steps: refine.steps ?? steps,
                                                sampler: refineSampler == sampler ? nil : Sampler(rawValue: refineSampler))
                        hires = .init(upscaler: refine.enlargement, factor: refine.factor, steps: hiresPass.steps, strength: hiresPass.strength, sampler: hiresPass.sampler?.rawValue)
                        pass = .hires(hiresPass)
                        refinedSize = hiresPass.size(width: size.0, height: size.1, multiple: sizeMultiple(model.path))
                    }
                    if tiling.tileSize != VAETiling.standard.tileSize || tiling.overlap != VAETiling.standard.overlap {
                        (hires.tileSize, hires.tileOverlap) = (tiling.tileSize, tiling.overlap)
                    }
                    parameters.hires = hires
                    hires.modelPath = nil  // moving the upscaler's folder does not change the image
                    let refineHash = Hashing.of(["refine-v2", inputsHash, Hashing.json(hires), upscaler?.identity ?? ""])
                    refinePlan = RefinePlan(pass: pass, tiling: tiling, inputsHash: refineHash)
                    path = spec.output + "/.stockwerk/refine/" + String(refineHash.prefix(32)) + ".png"
                    sourceHash = refineHash
                    finalSize = (refinedSize.width, refinedSize.height)
                }
                do {
                    let planned = try Finisher.plan(sourceWidth: finalSize.0 * enlargedBy, sourceHeight: finalSize.1 * enlargedBy, settings: spec.finish, path: name)
                    var metadata = merge(sidecar: nil, embedded: StockMetadata(), defaults: spec.metadata, aiReason: aiReason)
                    metadata.title = metadata.title ?? PromptText.title(prompt)
                    metadata.description = metadata.description ?? PromptText.description(prompt)
                    metadata.generation = parameters
                    // IPTC 2025.1 AI disclosure: which system, which weights, which prompt, by whom.
                    metadata.aiSystem = "Stockwerk Stable Diffusion engine, model " + (model.preset?.name ?? model.name)
                    metadata.aiSystemVersion = "model hash " + modelHash
                    metadata.aiPrompt = prompt
                    metadata.aiPromptWriter = spec.metadata.creators.first
                    let categories = spec.metadata.categories
                    let id = Hashing.of(["job-v1", sourceHash, name, Hashing.json(spec.finish), Hashing.json(metadata),
                                         Hashing.json(categories.sorted { $0.key < $1.key }.map { [$0.key, $0.value] }), aiReason])
                    let info = ImageInfo(width: finalSize.0, height: finalSize.1, format: .png, bands: 3, fileSize: 0, iccDescription: nil, colorSpace: "srgb")
                    jobs.append(Job(id: id, name: name, source: path, sourceHash: sourceHash, sourceInfo: info, aiReason: aiReason,
                                    metadata: metadata, categories: categories, editorial: spec.metadata.editorial, planned: planned,
                                    generation: GenerationPlan(parameters: parameters, modelPath: model.path, options: options, inputsHash: inputsHash,
                                                               firstPassPath: firstPassPath, refiner: refiner.map { RefinerPlan(modelPath: $0.model.path, options: Self.refinerOptions($0.model.options, base: options), switchAt: $0.switchAt) },
                                                               refine: refinePlan, precision: precision, device: device)))
                } catch let error as ImagingError {
                    issue("\(error)", spec.finishLocation, hint: error.hint)
                    return jobs
                } catch {
                    issue("\(error)", source.location, hint: "check the generate settings")
                    return jobs
                }
            }
        }
        return jobs
    }

    /// What the refiner loads: its own files, and the VAE the workflow chose (it decodes the final
    /// image); the prompt's LoRAs and embeddings apply to the base's pass only.
    static func refinerOptions(_ own: StableDiffusionModel.LoadOptions, base: StableDiffusionModel.LoadOptions) -> StableDiffusionModel.LoadOptions {
        var options = own
        options.vae = base.vae
        return options
    }

    /// Image sides must be multiples of this: the VAE's factor (8 on every SD 1.x/2.x model), read
    /// from a diffusers folder's VAE config; 8 for single files.
    static func sizeMultiple(_ path: String) -> Int {
        guard let vaeData = RegularFile.contents(atPath: path + "/vae/config.json"),
              let vae = try? JSONDecoder().decode(VAEConfig.self, from: vaeData) else { return 8 }
        return 1 << (vae.blockOutChannels.count - 1)
    }

    /// Which family a diffusers folder or single file holds, read cheaply (configs, or the file's
    /// tensor names); nil when that cannot be told without loading it.
    static func family(_ path: String) -> SingleFileCheckpoint.Family? {
        if let data = RegularFile.contents(atPath: path + "/unet/config.json"), let config = try? JSONDecoder().decode(UNetConfig.self, from: data) {
            guard config.additionEmbedType != nil else { return config.crossAttentionDim == 768 ? .sd1 : .sd2 }
            // The refiner's added conditioning has 5 time ids (the aesthetic score), the base's 6.
            let pooled = RegularFile.contents(atPath: path + "/text_encoder_2/config.json")
                .flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }?["projection_dim"] as? Int ?? 1280
            return (config.projectionClassEmbeddingsInputDim - pooled) / max(config.additionTimeEmbedDim, 1) == 5 ? .sdxlRefiner : .sdxl
        }
        guard let file = try? SafeTensorsFile(path: path) else { return nil }
        return try? SingleFileCheckpoint.family(shapes: file.entries.mapValues(\.shape), path: path)
    }

    /// The size a model was trained at, read cheaply: unet/config.json's sample size, or for a
    /// single file its family (SD 2.x files default to 768-v).
    static func nativeSize(_ path: String) -> (Int, Int) {
        if let data = RegularFile.contents(atPath: path + "/unet/config.json"),
           let config = try? JSONDecoder().decode(UNetConfig.self, from: data) {
            return (config.sampleSize * 8, config.sampleSize * 8)
        }
        if let file = try? SafeTensorsFile(path: path), let checkpoint = try? SingleFileCheckpoint(shapes: file.entries.mapValues(\.shape), path: path) {
            return checkpoint.family == .sd2 ? (768, 768) : (512, 512)
        }
        return (512, 512)
    }

    /// A file-name stem from the prompt's first words and the seed: `red-bicycle-white-wall-s42`.
    static func slug(_ prompt: String, seed: UInt64) -> String {
        let suffix = "-s\(seed)"
        var words = ""
        for word in PromptText.clean(prompt).lowercased().split(whereSeparator: { !$0.isLetter && !$0.isNumber }).prefix(8) {
            let longer = words.isEmpty ? String(word) : words + "-" + word
            if longer.count + suffix.count > maxNameLength { break }
            words = longer
        }
        if words.isEmpty { words = "image" }
        return words + suffix
    }
}

/// Readable text from a prompt until the describe stage writes better: weights and emphasis
/// syntax removed, the first clause as title, the whole as description, cut at word boundaries.
enum PromptText {
    static func clean(_ prompt: String) -> String {
        var text = ExtraNetworks.parse(prompt).text.replacingOccurrences(of: #":\s*[0-9.]+\s*\)"#, with: ")", options: .regularExpression)
        text = text.replacingOccurrences(of: #"[()\[\]{}<>]"#, with: "", options: .regularExpression)
        text = text.replacingOccurrences(of: #"\s+"#, with: " ", options: .regularExpression)
        return text.trimmingCharacters(in: CharacterSet(charactersIn: " ,."))
    }

    static func title(_ prompt: String) -> String {
        let first = clean(prompt).split(separator: ",").first.map(String.init) ?? ""
        let cut = cutAtWord(first.trimmingCharacters(in: .whitespaces), limit: 70)
        return cut.prefix(1).uppercased() + cut.dropFirst()
    }

    static func description(_ prompt: String) -> String {
        let text = clean(prompt)
        let cut = cutAtWord(text, limit: 200)
        return cut.prefix(1).uppercased() + cut.dropFirst()
    }

    static func cutAtWord(_ text: String, limit: Int) -> String {
        guard text.count > limit else { return text }
        let prefix = text.prefix(limit)
        let cut = prefix.lastIndex(of: " ").map { prefix[..<$0] } ?? prefix
        return String(cut).trimmingCharacters(in: CharacterSet(charactersIn: " ,"))
    }
}
