import AtomicFiles
import Catalog
import Diffusion
import Foundation
import Imaging
import Neural

/// redraw: the tiled diffusion upscale (TiledDiffusionUpscale) of a generated image's learned
/// enlargement, with the job's own model, prompt and seed. Its identity is that enlargement, the
/// generation's inputs and the settings. Finished tiles are kept in a folder of their own until the
/// image is made, so a killed run redraws only the tiles it had not finished.
struct RedrawStage: Stage {
    let context: RunContext
    var name: String { "redraw" }
    var usesEngine: Bool { true }

    func identity(of state: JobState) throws -> String? {
        guard let settings = context.plan.upscale?.redraw, let generation = state.job.generation else { return nil }
        return Hashing.of(["redraw-v1", state.image.hash, generation.refine?.inputsHash ?? generation.inputsHash, Hashing.json(settings)])
    }

    func make(_ state: JobState, identity: String) throws -> StageOutput {
        let settings = context.plan.upscale!.redraw!, generation = state.job.generation!, parameters = generation.parameters
        let model = try context.models.model(at: generation.modelPath, options: generation.options, precision: generation.precision, device: generation.device)
        let redraw = TiledDiffusionUpscale(tile: settings.tile ?? min(parameters.width, parameters.height) / 16 * 16, overlap: settings.overlap,
                                           strength: settings.strength, steps: settings.steps ?? parameters.steps, seamFixStrength: settings.seamFix)
        let enlarged = try RGBImage.read(state.image.path)
        let image = ImagePixels.unitTensor(fromRGB: enlarged.pixels, width: enlarged.width, height: enlarged.height, on: model.backend)
        let tiles = context.redrawFolder + "/" + String(identity.prefix(32))
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
        let path = context.redrawFolder + "/" + String(identity.prefix(32)) + ".png"
        try RGBImage(width: enlarged.width, height: enlarged.height, pixels: try ImagePixels.rgb(from: result)).write(to: path)
        let count = redraw.tileCount(width: enlarged.width, height: enlarged.height, multiple: model.sizeMultiple)
        return StageOutput(artifact: path, details: Hashing.json(settings),
                           note: "\(count) tiles of \(redraw.tile) px at strength \(settings.strength)"
                               + (settings.seamFix.map { ", seam fix \($0)" } ?? "") + (kept > 0 ? ", \(kept) kept from an interrupted run" : ""))
    }

    func apply(_ record: StageRecord, to state: inout JobState) throws {
        // The image is recorded: the tiles kept for a resume are not needed any more.
        try? FileManager.default.removeItem(atPath: context.redrawFolder + "/" + String(record.inputsHash.prefix(32)))
        state.image = Artifact(path: record.artifactPath!, hash: record.artifactHash!)
    }
}
