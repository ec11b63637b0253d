import Catalog
import Foundation
import Imaging

/// finish: the image so far → sRGB JPEG at agency size (libvips), with the detail figure of an
/// enlarged image. Its identity is the source's content and the finish settings.
struct FinishStage: Stage {
    let context: RunContext
    var name: String { "finish" }

    func identity(of state: JobState) throws -> String? {
        Hashing.of(["finish-v3", state.image.hash, Hashing.json(context.plan.spec.finish)])
    }

    func make(_ state: JobState, identity: String) throws -> StageOutput {
        let settings = context.plan.spec.finish
        let path = context.finishFolder + "/" + String(identity.prefix(32)) + ".jpg"
        try context.refuseImported(path)
        var result = try Finisher.finish(source: state.image.path, destination: path, settings: settings)
        // Detail against the plainest enlargement of what the model first made (or of the photo).
        if result.scale > 1 {
            result.sharpness = try Sharpness.compare(finished: path, finishSource: state.image.path,
                                                     detailSource: state.job.generation?.firstPassPath ?? state.job.source, settings: settings)
        }
        let detail = result.sharpness.map { String(format: ", detail %.2f× bicubic", $0.ratio) } ?? ""
        return StageOutput(artifact: path, details: Hashing.json(result), note: "\(result.width)x\(result.height)\(detail)")
    }

    func apply(_ record: StageRecord, to state: inout JobState) throws {
        state.image = Artifact(path: record.artifactPath!, hash: record.artifactHash!)
        state.sharpness = (try? JSONDecoder().decode(FinishResult.self, from: Data(record.details.utf8)))?.sharpness
    }
}
