import Catalog
import Diffusion
import Imaging
import Neural

/// upscale: the learned super-resolution model over the image so far (imported, generated or
/// refined), written as a PNG that finish reads. Its identity is that image's content and the
/// model's (file, tiles, device, precision).
struct UpscaleStage: Stage {
    let context: RunContext
    var name: String { "upscale" }
    var usesEngine: Bool { true }

    func identity(of state: JobState) throws -> String? {
        context.plan.upscale.map { Hashing.of(["upscale-v1", state.image.hash, $0.identity]) }
    }

    func make(_ state: JobState, identity: String) throws -> StageOutput {
        let upscale = context.plan.upscale!
        let model = try context.models.superResolution(upscale)
        let source = try RGBImage.read(state.image.path)
        let image = ImagePixels.unitTensor(fromRGB: source.pixels, width: source.width, height: source.height, on: model.backend)
        let result = try model.upscale(image, tiles: upscale.tiling)
        let (width, height) = (result.shape[3], result.shape[2])
        let path = context.upscaleFolder + "/" + String(identity.prefix(32)) + ".png"
        try RGBImage(width: width, height: height, pixels: try ImagePixels.rgb(from: result)).write(to: path)
        return StageOutput(artifact: path, details: Hashing.json(["model": upscale.name, "architecture": upscale.architecture.description]),
                           note: "\(source.width)x\(source.height) → \(width)x\(height), \(upscale.name)")
    }

    func apply(_ record: StageRecord, to state: inout JobState) throws {
        state.image = Artifact(path: record.artifactPath!, hash: record.artifactHash!)
    }
}
