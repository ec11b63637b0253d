import Agencies
import AtomicFiles
import Catalog
import Diffusion
import Foundation
import Imaging
import Metadata
import Neural
import VulkanBackend

/// Runs a plan stage by stage. Each stage is keyed by the hash of its inputs in the catalog and
/// skipped when an artifact with the recorded content hash is already in place, so a rerun does
/// only what changed and a run killed at any moment resumes cleanly.
public final class Runner {
    public let plan: WorkflowPlan
    private let report: (RunEvent) -> Void
    private var stagesRun = 0
    private var stagesSkipped = 0

    /// Write into an output folder that is not empty and not a Stockwerk output (`--force`).
    private let force: Bool
    /// The imported files (device and inode): never a destination, whatever their path.
    private let sources: Set<FileIdentity>

    public init(plan: WorkflowPlan, force: Bool = false, report: @escaping (RunEvent) -> Void = { _ in }) {
        self.plan = plan
        self.force = force
        self.report = report
        sources = Set(plan.jobs.filter { $0.generation == nil }.compactMap { FileIdentity(path: $0.source) })
    }

    var output: String { plan.spec.output }
    /// Images in the run: the jobs, and the imported files that could not be read.
    var total: Int { plan.jobs.count + plan.unreadable.count }
    var finishFolder: String { output + "/.stockwerk/finish" }
    var generateFolder: String { output + "/.stockwerk/generate" }
    var refineFolder: String { output + "/.stockwerk/refine" }
    var upscaleFolder: String { output + "/.stockwerk/upscale" }
    var redrawFolder: String { output + "/.stockwerk/redraw" }
    /// The learned upscaler, loaded on first use and kept for the run.
    private var loadedSuperResolution: SuperResolutionModel?
    /// The model last loaded by the generate stage (one at a time: a model is gigabytes).
    private var loadedModel: (path: String, options: StableDiffusionModel.LoadOptions, model: StableDiffusionModel)?
    /// SDXL's refiner stays loaded beside the base, so jobs do not reload one for the other.
    private var loadedRefiner: (path: String, options: StableDiffusionModel.LoadOptions, model: StableDiffusionModel)?
    private var loadedUpscaler: LatentUpscalerModel?
    var imagesFolder: String { output + "/images" }
    var packagesFolder: String { output + "/packages" }
    public var catalogPath: String { output + "/catalog.sqlite" }

    public func run() throws -> RunSummary {
        try OutputFolder.claim(output, force: force)
        for folder in [output, finishFolder, generateFolder, refineFolder, upscaleFolder, redrawFolder, imagesFolder, packagesFolder] {
            do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
                throw StageFailure(job: "-", stage: "preparing the output", message: "cannot create \(folder): \(error.localizedDescription)",
                                   hint: "check the permissions of the output folder, or set `output:` elsewhere")
            }
        }
        // One run per output folder at a time; the lock goes with the process, even on kill -9.
        let lock = try OutputLock(folder: output + "/.stockwerk")
        defer { lock.release() }
        for folder in [output, finishFolder, generateFolder, refineFolder, upscaleFolder, redrawFolder, imagesFolder, packagesFolder] { AtomicFile.removeLeftovers(in: folder, includingLegacy: true) }
        PackageBuilder.removeLeftovers(in: packagesFolder)

        let catalog = try Catalog(path: catalogPath)
        try catalog.markInterruptedRuns()
        let workflowHash = (try? Hashing.file(plan.spec.file)) ?? ""
        let runID = try catalog.beginRun(workflowPath: plan.spec.file, workflowHash: workflowHash)
        report(.started(runID: runID, jobs: total, output: output))

        var images: [RunSummary.Image] = []
        var finalPaths: [String: String] = [:]
        for (index, job) in plan.jobs.enumerated() {
            var image = RunSummary.Image(name: job.name, source: job.source, aiGenerated: job.aiReason != nil, verdicts: [], warnings: [])
            do {
                try catalog.ensureJob(JobRecord(id: job.id, name: job.name, sourcePath: job.source, sourceHash: job.sourceHash, firstRunID: runID))
                if let generation = job.generation {
                    try generateStage(job, generation, index: index, catalog: catalog, runID: runID)
                    if let refine = generation.refine { try refineStage(job, generation, refine, index: index, catalog: catalog, runID: runID) }
                }
                let upscaled = try plan.upscale.map { upscale in
                    let learned = try upscaleStage(job, upscale, index: index, catalog: catalog, runID: runID)
                    guard let redraw = upscale.redraw, let generation = job.generation else { return learned }
                    return try redrawStage(job, generation, redraw, source: learned, index: index, catalog: catalog, runID: runID)
                }
                let finished = try finishStage(job, source: upscaled, index: index, catalog: catalog, runID: runID)
                let tagged = try tagStage(job, finished: (finished.path, finished.hash), index: index, catalog: catalog, runID: runID)
                image.output = tagged.path
                image.warnings = job.notes + tagged.warnings + [finished.sharpness?.warning].compactMap { $0 }
                image.sharpness = finished.sharpness
                let checked = try checkStage(job, taggedPath: tagged.path, taggedHash: tagged.hash, detail: finished.sharpness, index: index, catalog: catalog, runID: runID)
                image.width = checked.info.width
                image.height = checked.info.height
                image.verdicts = checked.verdicts
                finalPaths[job.id] = tagged.path
            } catch {
                image.failure = "\(error)"
                report(.stage(index: index, total: total, job: job.name, stage: "run", status: .failed, seconds: 0, note: "\(error)"))
            }
            images.append(image)
        }

        // A file that could not be read is this image's failure, not the batch's.
        for (offset, source) in plan.unreadable.enumerated() {
            let name = URL(fileURLWithPath: source.path).deletingPathExtension().lastPathComponent
            let failure = source.reason.contains(source.path) ? source.reason : "cannot read \(source.path): \(source.reason)"
            images.append(RunSummary.Image(name: name, source: source.path, aiGenerated: false, verdicts: [], warnings: [], failure: failure))
            report(.stage(index: plan.jobs.count + offset, total: total, job: name, stage: "import", status: .failed, seconds: 0, note: failure))
        }

        var packages: [RunSummary.Package] = []
        var hashes: [String: UInt64] = [:]  // perceptual hashes by image path, made once per run
        var imageIndex: [String: Int] = [:]  // finished image path → its place in `images`
        for (index, image) in images.enumerated() { if let path = image.output { imageIndex[path] = index } }
        // A package is replaced only by a complete one: when an image failed in a stage (not a file
        // that cannot be read, which is refused), the packages stay as the last complete run left them.
        let failedJobs = images.prefix(plan.jobs.count).filter { $0.failure != nil }.map(\.name)
        let packagesKept = failedJobs.isEmpty ? nil
            : "packages left as they were, because \(failedJobs.count) image\(failedJobs.count == 1 ? "" : "s") failed (\(failedJobs.prefix(3).joined(separator: ", "))\(failedJobs.count > 3 ? ", …" : "")); fix and run again"
        for preset in plan.agencies where packagesKept == nil {
            var items: [PackageItem] = []
            var ids: [String] = []
            for (job, image) in zip(plan.jobs, images) {
                guard let path = finalPaths[job.id], let verdict = image.verdicts.first(where: { $0.agency == preset.id }) else { continue }
                let category = preset.category(given: job.categories, keywords: job.metadata.keywords)
                let entry = PackageEntry(fileName: job.name + ".jpg", metadata: job.metadata, category: category,
                                         isIllustration: false, isEditorial: job.editorial, isMature: false)
                items.append(PackageItem(imagePath: path, entry: entry, verdict: verdict))
                ids.append(job.name)  // the image's slot: stays the same when only its metadata changes
                if verdict.accepted, hashes[path] == nil { hashes[path] = try? Thumbnails.differenceHash(path) }
            }
            let packageReport = try Packaging.build(preset, items: &items, ids: ids, hashes: hashes, catalog: catalog, runID: runID,
                                                    packagesFolder: packagesFolder)
            for item in items {  // the summary (and exit code) sees near-duplicate refusals too
                guard let index = imageIndex[item.imagePath],
                      let verdictIndex = images[index].verdicts.firstIndex(where: { $0.agency == preset.id }) else { continue }
                images[index].verdicts[verdictIndex] = item.verdict
            }
            let folder = packagesFolder + "/" + preset.id
            packages.append(RunSummary.Package(agency: preset.id, folder: folder, csv: packageReport.csv.isEmpty ? "" : folder + "/" + packageReport.csv,
                                               accepted: packageReport.accepted, rejected: packageReport.rejected))
            report(.packaged(agency: preset.id, accepted: packageReport.accepted, rejected: packageReport.rejected, folder: folder))
        }

        // One sheet for the whole run: every image with every agency's verdict.
        let cards = zip(plan.jobs, images).compactMap { job, image in
            image.output.map { path in
                let categories = plan.agencies.compactMap { preset in
                    preset.category(given: job.categories, keywords: job.metadata.keywords).map { (agency: preset.name, category: $0) }
                }
                // The detail warning shows with the figure; the rest are the image's own.
                let warnings = image.warnings.filter { $0 != image.sharpness?.warning }
                return ContactSheet.Card(fileName: job.name + ".jpg", imagePath: path, title: job.metadata.title, keywords: job.metadata.keywords,
                                         verdicts: image.verdicts, detail: image.sharpness, description: job.metadata.description, ai: job.aiReason,
                                         categories: categories, warnings: warnings)
            }
        }
        let agencyNames = Dictionary(uniqueKeysWithValues: plan.agencies.map { ($0.id, $0.name) })
        try refuseImported(output + "/contact-sheet.html")
        try refuseImported(output + "/report.json")
        try AtomicFile.write(Data(ContactSheet.html(title: plan.spec.name, cards: cards, agencyNames: agencyNames).utf8), to: output + "/contact-sheet.html")

        let summary = RunSummary(workflow: plan.spec.file, runID: runID, output: output, catalog: catalogPath, images: images,
                                 packages: packages, stagesRun: stagesRun, stagesSkipped: stagesSkipped, packagesKept: plan.agencies.isEmpty ? nil : packagesKept)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try AtomicFile.write(try encoder.encode(summary), to: output + "/report.json")
        try catalog.finishRun(runID, status: summary.failedCount > 0 ? "failed" : "finished")
        return summary
    }

    /// Stockwerk never writes to a file it imported, whatever name reaches it (imports inside the
    /// output are excluded while planning; this holds even for links and bind mounts).
    private func refuseImported(_ destination: String) throws {
        guard let identity = FileIdentity(path: destination), sources.contains(identity) else { return }
        throw StageFailure(job: "-", stage: "writing \(destination)", message: "it is one of the imported files, and Stockwerk never writes to a file it imported",
                           hint: "move the photos out of the output folder, or set `output:` to a new folder")
    }

    /// A cached artifact is reused only if it is still there with the recorded content.
    /// A cached result another job made (same inputs: the same prompt and seed twice, the same
    /// photo under two names) is recorded for this job too, so the catalog shows what each job used.
    private func adopt(_ cached: StageRecord, for job: Job, catalog: Catalog, runID: Int64) throws {
        guard cached.jobID != job.id else { return }
        try catalog.record(StageRecord(jobID: job.id, stage: cached.stage, inputsHash: cached.inputsHash, artifactPath: cached.artifactPath,
                                       artifactHash: cached.artifactHash, details: cached.details, runID: runID))
    }

    private func reusable(_ record: StageRecord?) -> StageRecord? {
        guard let record, let path = record.artifactPath, let hash = record.artifactHash,
              FileManager.default.fileExists(atPath: path), (try? Hashing.file(path)) == hash else { return nil }
        return record
    }

    private func timed<T>(_ job: Job, _ stage: String, index: Int, _ body: () throws -> (T, skipped: Bool, note: String?)) throws -> T {
        let start = Date()
        do {
            let (value, skipped, note) = try body()
            if skipped { stagesSkipped += 1 } else { stagesRun += 1 }
            report(.stage(index: index, total: total, job: job.name, stage: stage, status: skipped ? .skipped : .done,
                          seconds: Date().timeIntervalSince(start), note: note))
            return value
        } catch {
            report(.stage(index: index, total: total, job: job.name, stage: stage, status: .failed,
                          seconds: Date().timeIntervalSince(start), note: "\(error)"))
            throw error
        }
    }

    /// generate: the built-in engine makes the source PNG. Cached by every input that decides the
    /// pixels (the engine is deterministic), so a rerun or resumed run skips images already made.
    func generateStage(_ job: Job, _ generation: GenerationPlan, index: Int, catalog: Catalog, runID: Int64) throws {
        let parameters = generation.parameters
        try timed(job, "generate", index: index) {
            // A latent refine pass needs the first pass's latents as well as its image.
            if let cached = reusable(try catalog.stage("generate", inputsHash: generation.inputsHash)), cached.artifactPath == generation.firstPassPath,
               generation.refine == nil || FileManager.default.fileExists(atPath: generation.latentsPath) {
                try adopt(cached, for: job, catalog: catalog, runID: runID)
                return ((), true, nil)
            }
            guard let sampler = Sampler(rawValue: parameters.sampler) else {
                throw StageFailure(job: job.name, stage: "generate", message: "unknown sampler \(parameters.sampler)", hint: "choose one of \(Sampler.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let model = try model(at: generation.modelPath, options: generation.options, precision: generation.precision, device: generation.device)
            let result = try GenerationChain.firstPass(GenerationChain.request(parameters, sampler: sampler), switchAt: generation.refiner?.switchAt, base: model) {
                try refiner(generation.refiner!, precision: generation.precision, device: generation.device)
            }
            let path = generation.firstPassPath
            if generation.refine != nil { try SafeTensorsWriter.write([("latents", try result.latents.host())], to: generation.latentsPath) }
            try RGBImage(width: parameters.width, height: parameters.height, pixels: try ImagePixels.rgb(from: result.image)).write(to: path)
            let hash = try Hashing.file(path)
            try catalog.record(StageRecord(jobID: job.id, stage: "generate", inputsHash: generation.inputsHash, artifactPath: path,
                                           artifactHash: hash, details: parameters.json, runID: runID), artifactSize: fileSize(path))
            return ((), false, "\(parameters.width)x\(parameters.height), seed \(parameters.seed)")
        }
    }

    /// refine: the hires pass (HiresRefine) over the first pass's latents or image, or the x2
    /// latent upscaler over its latents, written as the job's source. Cached by the first pass's
    /// inputs and the refine settings.
    func refineStage(_ job: Job, _ generation: GenerationPlan, _ refine: RefinePlan, index: Int, catalog: Catalog, runID: Int64) throws {
        let parameters = generation.parameters
        try timed(job, "refine", index: index) {
            if let cached = reusable(try catalog.stage("refine", inputsHash: refine.inputsHash)), cached.artifactPath == job.source {
                try adopt(cached, for: job, catalog: catalog, runID: runID)
                return ((), true, nil)
            }
            let latents = try EngineBackend.backend(generation.precision, halfWeights: false, on: generation.device).tensor(try SafeTensorsFile(path: generation.latentsPath).tensor("latents"))
            let base = GenerationChain.request(parameters, sampler: Sampler(rawValue: parameters.sampler) ?? .ddim, tiling: refine.tiling)
            // The first pass as saved: its image read back ([0, 1], as results are), its latents as made.
            let saved = try RGBImage.read(generation.firstPassPath)
            let first = GenerationResult(latents: latents, image: ImagePixels.unitTensor(fromRGB: saved.pixels, width: saved.width, height: saved.height, on: latents.backend))
            let (result, note) = try GenerationChain.refine(first, of: base, pass: refine.pass,
                                                            model: { try model(at: generation.modelPath, options: generation.options, precision: generation.precision,
                                                                                   device: generation.device) },
                                                            upscaler: { try upscaler(at: $0, precision: generation.precision, device: generation.device) })
            let (width, height) = (result.image.shape[3], result.image.shape[2])
            try RGBImage(width: width, height: height, pixels: try ImagePixels.rgb(from: result.image)).write(to: job.source)
            let hash = try Hashing.file(job.source)
            try catalog.record(StageRecord(jobID: job.id, stage: "refine", inputsHash: refine.inputsHash, artifactPath: job.source,
                                           artifactHash: hash, details: parameters.json, runID: runID), artifactSize: fileSize(job.source))
            return ((), false, "\(parameters.width)x\(parameters.height) → \(width)x\(height), " + note)
        }
    }

    private func upscaler(at path: String, precision: OpPrecisions, device: VulkanDevices.Device?) throws -> LatentUpscalerModel {
        if let loadedUpscaler, loadedUpscaler.path == path, loadedUpscaler.textEncoder.backend.precision == precision { return loadedUpscaler }
        loadedUpscaler = nil
        let halfWeights = EngineBackend.keepsHalfWeights(plan.spec.weights, modelPath: path, device: device)
        loadedUpscaler = try LatentUpscalerModel(path: path, backend: EngineBackend.backend(precision, halfWeights: halfWeights, on: device))
        return loadedUpscaler!
    }

    private func model(at path: String, options: StableDiffusionModel.LoadOptions, precision: OpPrecisions, device: VulkanDevices.Device?) throws -> StableDiffusionModel {
        try load(path, options: options, precision: precision, device: device, into: &loadedModel)
    }

    private func refiner(_ refiner: RefinerPlan, precision: OpPrecisions, device: VulkanDevices.Device?) throws -> StableDiffusionModel {
        try load(refiner.modelPath, options: refiner.options, precision: precision, device: device, into: &loadedRefiner)
    }

    /// The model in `slot` when it is the one asked for, else that one loaded into it.
    private func load(_ path: String, options: StableDiffusionModel.LoadOptions, precision: OpPrecisions, device: VulkanDevices.Device?,
                      into slot: inout (path: String, options: StableDiffusionModel.LoadOptions, model: StableDiffusionModel)?) throws -> StableDiffusionModel {
        // LoRAs, a VAE and embeddings are part of what is loaded: other options are another model.
        // (A workflow has one device, so a loaded model is always on it.)
        if let slot, slot.path == path, slot.options == options, slot.model.backend.precision == precision { return slot.model }
        slot = nil  // free the previous one first
        let halfWeights = EngineBackend.keepsHalfWeights(plan.spec.weights, modelPath: path, extraPaths: options.vae.map { [$0] } ?? [], device: device)
        let model = try StableDiffusionModel(path: path, options: options, backend: EngineBackend.backend(precision, halfWeights: halfWeights, on: device))
        slot = (path, options, model)
        return model
    }

    /// upscale: the learned super-resolution model over the job's source (imported, generated or
    /// refined), written as a PNG that finish reads. Cached by the source's content and the model's
    /// identity (file, tiles, device, precision).
    func upscaleStage(_ job: Job, _ upscale: UpscalePlan, index: Int, catalog: Catalog, runID: Int64) throws -> (path: String, hash: String) {
        // A generated job's sourceHash is its plan's; what upscale reads is the file made by now.
        let sourceHash = job.generation == nil ? job.sourceHash : try Hashing.file(job.source)
        let inputs = Hashing.of(["upscale-v1", sourceHash, upscale.identity])
        return try timed(job, "upscale", index: index) {
            if let cached = reusable(try catalog.stage("upscale", inputsHash: inputs)), let path = cached.artifactPath, let hash = cached.artifactHash {
                try adopt(cached, for: job, catalog: catalog, runID: runID)
                return ((path, hash), true, nil)
            }
            let model = try superResolution(upscale)
            let source = try RGBImage.read(job.source)
            let image = ImagePixels.unitTensor(fromRGB: source.pixels, width: source.width, height: source.height, on: model.backend)
            let result = try model.upscale(image, tiles: upscale.tiling)
            let (width, height) = (result.shape[3], result.shape[2])
            let path = upscaleFolder + "/" + String(inputs.prefix(32)) + ".png"
            try RGBImage(width: width, height: height, pixels: try ImagePixels.rgb(from: result)).write(to: path)
            let hash = try Hashing.file(path)
            try catalog.record(StageRecord(jobID: job.id, stage: "upscale", inputsHash: inputs, artifactPath: path, artifactHash: hash,
                                           details: Hashing.json(["model": upscale.name, "architecture": upscale.architecture.description]), runID: runID),
                               artifactSize: fileSize(path))
            return ((path, hash), false, "\(source.width)x\(source.height) → \(width)x\(height), \(upscale.name)")
        }
    }

    /// redraw: the tiled diffusion upscale (TiledDiffusionUpscale) of a generated image's learned
    /// enlargement, with the job's own model, prompt and seed. Cached by that enlargement, the
    /// generation's inputs and the settings. Finished tiles are kept in a folder of their own until
    /// the image is made, so a killed run redraws only the tiles it had not finished.
    func redrawStage(_ job: Job, _ generation: GenerationPlan, _ settings: WorkflowSpec.RedrawSettings, source: (path: String, hash: String),
                     index: Int, catalog: Catalog, runID: Int64) throws -> (path: String, hash: String) {
        let parameters = generation.parameters
        let inputs = Hashing.of(["redraw-v1", source.hash, generation.refine?.inputsHash ?? generation.inputsHash, Hashing.json(settings)])
        return try timed(job, "redraw", index: index) {
            if let cached = reusable(try catalog.stage("redraw", inputsHash: inputs)), let path = cached.artifactPath, let hash = cached.artifactHash {
                try adopt(cached, for: job, catalog: catalog, runID: runID)
                return ((path, hash), true, nil)
            }
            let model = try model(at: generation.modelPath, options: generation.options, precision: generation.precision, device: generation.device)
            let redraw = TiledDiffusionUpscale(tile: settings.tile ?? min(parameters.width, parameters.height) / 16 * 16, overlap: settings.overlap,
                                               strength: settings.strength, steps: settings.steps ?? parameters.steps, seamFixStrength: settings.seamFix)
            let enlarged = try RGBImage.read(source.path)
            let image = ImagePixels.unitTensor(fromRGB: enlarged.pixels, width: enlarged.width, height: enlarged.height, on: model.backend)
            let tiles = redrawFolder + "/" + String(inputs.prefix(32))
            try FileManager.default.createDirectory(atPath: tiles, withIntermediateDirectories: true)
            AtomicFile.removeLeftovers(in: tiles, includingLegacy: true)
            var kept = 0
            let store = TiledDiffusionUpscale.TileStore(load: { name in
                // A tile file is whole or absent (written atomically); one that cannot be read is drawn again.
                guard let tile = try? SafeTensorsFile(path: tiles + "/" + name + ".safetensors").tensor("tile") else { return nil }
                kept += 1
                return tile
            }, save: { name, tile in try SafeTensorsWriter.write([("tile", tile)], to: tiles + "/" + name + ".safetensors") })
            let base = GenerationChain.request(parameters, sampler: Sampler(rawValue: parameters.sampler) ?? .ddim)
            let result = try redraw.run(image, base: base, pipeline: Pipeline(model: model), store: store)
            let path = redrawFolder + "/" + String(inputs.prefix(32)) + ".png"
            try RGBImage(width: enlarged.width, height: enlarged.height, pixels: try ImagePixels.rgb(from: result)).write(to: path)
            let hash = try Hashing.file(path)
            try catalog.record(StageRecord(jobID: job.id, stage: "redraw", inputsHash: inputs, artifactPath: path, artifactHash: hash,
                                           details: Hashing.json(settings), runID: runID), artifactSize: fileSize(path))
            try? FileManager.default.removeItem(atPath: tiles)
            let count = redraw.tileCount(width: enlarged.width, height: enlarged.height, multiple: model.sizeMultiple)
            return ((path, hash), false, "\(count) tiles of \(redraw.tile) px at strength \(settings.strength)"
                        + (settings.seamFix.map { ", seam fix \($0)" } ?? "") + (kept > 0 ? ", \(kept) kept from an interrupted run" : ""))
        }
    }

    private func superResolution(_ upscale: UpscalePlan) throws -> SuperResolutionModel {
        if let loadedSuperResolution, loadedSuperResolution.path == upscale.path { return loadedSuperResolution }
        let model = try SuperResolutionModel(path: upscale.path, backend: EngineBackend.backend(upscale.precision, halfWeights: false, on: upscale.device))
        loadedSuperResolution = model
        return model
    }

    /// finish: source (the job's, or the upscale stage's result) → sRGB JPEG at agency size
    /// (libvips). Cached by source content + settings.
    func finishStage(_ job: Job, source upscaled: (path: String, hash: String)?, index: Int, catalog: Catalog, runID: Int64)
        throws -> (path: String, hash: String, sharpness: SharpnessReport?) {
        let (source, sourceHash) = upscaled ?? (job.source, job.sourceHash)
        let inputs = Hashing.of(["finish-v3", sourceHash, Hashing.json(plan.spec.finish)])
        return try timed(job, "finish", index: index) {
            if let cached = reusable(try catalog.stage("finish", inputsHash: inputs)) {
                try adopt(cached, for: job, catalog: catalog, runID: runID)
                let recorded = try? JSONDecoder().decode(FinishResult.self, from: Data(cached.details.utf8))
                return ((cached.artifactPath!, cached.artifactHash!, recorded?.sharpness), true, nil)
            }
            let path = finishFolder + "/" + String(inputs.prefix(32)) + ".jpg"
            try refuseImported(path)
            var result = try Finisher.finish(source: source, destination: path, settings: plan.spec.finish)
            // Detail against the plainest enlargement of what the model first made (or of the photo).
            if result.scale > 1 {
                result.sharpness = try Sharpness.compare(finished: path, finishSource: source, detailSource: job.generation?.firstPassPath ?? job.source,
                                                         settings: plan.spec.finish)
            }
            let hash = try Hashing.file(path)
            try catalog.record(StageRecord(jobID: job.id, stage: "finish", inputsHash: inputs, artifactPath: path, artifactHash: hash,
                                           details: Hashing.json(result), runID: runID), artifactSize: fileSize(path))
            let detail = result.sharpness.map { String(format: ", detail %.2f× bicubic", $0.ratio) } ?? ""
            return ((path, hash, result.sharpness), false, "\(result.width)x\(result.height)\(detail)")
        }
    }

    /// tag: EXIF + IPTC IIM + XMP written into the finished JPEG, saved as OUTPUT/images/NAME.jpg.
    func tagStage(_ job: Job, finished: (path: String, hash: String), index: Int, catalog: Catalog, runID: Int64)
        throws -> (path: String, hash: String, warnings: [String]) {
        let options = WriteOptions(resolution: plan.spec.metadata.resolutionDPI,
                                   dropCameraFields: job.aiReason != nil && !plan.spec.metadata.keepCameraEXIF)
        let inputs = Hashing.of(["tag-v2", finished.hash, Hashing.json(job.metadata), Hashing.json(options)])
        let path = imagesFolder + "/" + job.name + ".jpg"
        return try timed(job, "tag", index: index) {
            if let cached = reusable(try catalog.stage("tag", of: job.id)), cached.inputsHash == inputs, cached.artifactPath == path {
                let warnings = (try? JSONDecoder().decode([String].self, from: Data(cached.details.utf8))) ?? []
                return ((path, cached.artifactHash!, warnings), true, nil)
            }
            try refuseImported(path)
            let warnings = try MetadataWriter.write(job.metadata, source: finished.path, destination: path, options: options).map(\.description)
            let hash = try Hashing.file(path)
            try catalog.record(StageRecord(jobID: job.id, stage: "tag", inputsHash: inputs, artifactPath: path, artifactHash: hash,
                                           details: Hashing.json(warnings), runID: runID), artifactSize: fileSize(path))
            return ((path, hash, warnings), false, warnings.isEmpty ? nil : "\(warnings.count) warning(s)")
        }
    }

    /// check: every target agency's rules, on the file as written (read back, not assumed).
    /// Returns the verdicts and the file facts they were made from (read once, used for the summary too).
    func checkStage(_ job: Job, taggedPath: String, taggedHash: String, detail: SharpnessReport?, index: Int, catalog: Catalog, runID: Int64)
        throws -> (verdicts: [Verdict], info: ImageInfo) {
        try timed(job, "check", index: index) {
            // The decision made at planning, from the source's evidence, stands (the output carries
            // its label, not the generator's text); evidence in the output itself counts too.
            var subject = try CheckSubject.read(taggedPath)
            if let reason = job.aiReason { subject.aiReason = reason }
            subject.enlargement = job.planned.scale
            subject.detail = detail
            subject.categories = job.categories
            var verdicts: [Verdict] = []
            for preset in plan.agencies {
                var verdict = AgencyChecker(preset: preset).check(subject)
                verdict.file = taggedPath
                verdicts.append(verdict)
                let inputs = Hashing.of(["check-v1", taggedHash, Hashing.json(preset), job.aiReason ?? "", detail.map { Hashing.json($0) } ?? ""])
                try catalog.record(StageRecord(jobID: job.id, stage: "check:" + preset.id, inputsHash: inputs, artifactPath: nil,
                                               artifactHash: nil, details: Hashing.json(verdict), runID: runID))
            }
            let rejected = verdicts.filter { !$0.accepted }.map(\.agency)
            return ((verdicts, subject.info), false, rejected.isEmpty ? "accepted everywhere" : "rejected by \(rejected.joined(separator: ", "))")
        }
    }

    private func fileSize(_ path: String) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
    }
}
