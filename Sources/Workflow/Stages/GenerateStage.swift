import Catalog
import Diffusion
import Foundation
import Imaging
import Neural

/// generate: the built-in engine makes a generated job's first pass (a PNG, and its latents when
/// a latent refine pass follows). Its identity is every input that decides the pixels (the engine
/// is deterministic), so a rerun or a resumed run skips images already made.
struct GenerateStage: Stage {
    let context: RunContext
    var name: String { "generate" }
    var usesEngine: Bool { true }

    func identity(of state: JobState) throws -> String? { state.job.generation?.inputsHash }

    /// A latent refine pass needs the first pass's latents as well as its image.
    func canReuse(_ record: StageRecord, for state: JobState) -> Bool {
        guard let generation = state.job.generation else { return false }
        return record.artifactPath == generation.firstPassPath
            && (generation.refine == nil || FileManager.default.fileExists(atPath: generation.latentsPath))
    }

    func make(_ state: JobState, identity: String) throws -> StageOutput {
        let job = state.job, generation = job.generation!, parameters = generation.parameters
        guard let sampler = Sampler(rawValue: parameters.sampler) else {
            throw StageFailure(job: job.name, stage: name, message: "unknown sampler \(parameters.sampler)",
                               hint: "choose one of \(Sampler.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let models = context.models
        let model = try models.model(at: generation.modelPath, options: generation.options, precision: generation.precision, device: generation.device)
        let result = try GenerationChain.firstPass(GenerationChain.request(parameters, sampler: sampler), switchAt: generation.refiner?.switchAt, base: model) {
            try models.refiner(generation.refiner!, precision: generation.precision, device: generation.device)
        }
        if generation.refine != nil { try SafeTensorsWriter.write([("latents", try result.latents.host())], to: generation.latentsPath) }
        try RGBImage(width: parameters.width, height: parameters.height, pixels: try ImagePixels.rgb(from: result.image)).write(to: generation.firstPassPath)
        return StageOutput(artifact: generation.firstPassPath, details: parameters.json, note: "\(parameters.width)x\(parameters.height), seed \(parameters.seed)")
    }

    func apply(_ record: StageRecord, to state: inout JobState) throws {
        state.image = Artifact(path: record.artifactPath!, hash: record.artifactHash!)
    }
}
