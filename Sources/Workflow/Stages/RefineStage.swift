import Catalog
import Diffusion
import Foundation
import Imaging
import Neural

/// refine: the hires pass (HiresRefine) over the first pass's latents or image, or the x2 latent
/// upscaler over its latents, written as the job's source. Its identity is the first pass's inputs
/// and the refine settings.
struct RefineStage: Stage {
    let context: RunContext
    var name: String { "refine" }
    var usesEngine: Bool { true }

    func identity(of state: JobState) throws -> String? { state.job.generation?.refine?.inputsHash }

    func canReuse(_ record: StageRecord, for state: JobState) -> Bool { record.artifactPath == state.job.source }

    func make(_ state: JobState, identity: String) throws -> StageOutput {
        let job = state.job, generation = job.generation!, refine = generation.refine!, parameters = generation.parameters
        let models = context.models
        let backend = try EngineBackend.backend(generation.precision, halfWeights: false, on: generation.device)
        let latents = backend.tensor(try SafeTensorsFile(path: generation.latentsPath).tensor("latents"))
        let base = GenerationChain.request(parameters, sampler: Sampler(rawValue: parameters.sampler) ?? .ddim, tiling: refine.tiling)
        // The first pass as saved: its image read back ([0, 1], as results are), its latents as made.
        let saved = try RGBImage.read(generation.firstPassPath)
        let first = GenerationResult(latents: latents, image: ImagePixels.unitTensor(fromRGB: saved.pixels, width: saved.width, height: saved.height, on: latents.backend))
        let (result, note) = try GenerationChain.refine(
            first, of: base, pass: refine.pass,
            model: { try models.model(at: generation.modelPath, options: generation.options, precision: generation.precision, device: generation.device) },
            upscaler: { try models.latentUpscaler(at: $0, precision: generation.precision, device: generation.device) })
        let (width, height) = (result.image.shape[3], result.image.shape[2])
        try RGBImage(width: width, height: height, pixels: try ImagePixels.rgb(from: result.image)).write(to: job.source)
        return StageOutput(artifact: job.source, details: parameters.json, note: "\(parameters.width)x\(parameters.height) → \(width)x\(height), " + note)
    }

    func apply(_ record: StageRecord, to state: inout JobState) throws {
        state.image = Artifact(path: record.artifactPath!, hash: record.artifactHash!)
    }
}
