import Catalog
import Foundation
import Metadata

/// tag: EXIF + IPTC IIM + XMP written into the finished JPEG, saved as OUTPUT/images/NAME.jpg.
/// Its identity is the finished image, the metadata, the write options and that destination.
struct TagStage: Stage {
    let context: RunContext
    var name: String { "tag" }

    func identity(of state: JobState) throws -> String? {
        Hashing.of(["tag-v3", state.image.hash, Hashing.json(state.metadata), Hashing.json(options(state.job)), destination(state.job)])
    }

    func make(_ state: JobState, identity: String) throws -> StageOutput {
        let path = destination(state.job)
        try context.refuseImported(path)
        let warnings = try MetadataWriter.write(state.metadata, source: state.image.path, destination: path, options: options(state.job)).map(\.description)
        return StageOutput(artifact: path, details: Hashing.json(warnings), note: warnings.isEmpty ? nil : "\(warnings.count) warning(s)")
    }

    func apply(_ record: StageRecord, to state: inout JobState) throws {
        state.tagged = Artifact(path: record.artifactPath!, hash: record.artifactHash!)
        state.tagWarnings = (try? JSONDecoder().decode([String].self, from: Data(record.details.utf8))) ?? []
    }

    private func destination(_ job: Job) -> String { context.imagesFolder + "/" + job.name + ".jpg" }

    private func options(_ job: Job) -> WriteOptions {
        let metadata = context.plan.spec.metadata
        return WriteOptions(resolution: metadata.resolutionDPI, dropCameraFields: job.aiReason != nil && !metadata.keepCameraEXIF)
    }
}
