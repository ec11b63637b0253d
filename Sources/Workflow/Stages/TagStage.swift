import Catalog
import Foundation
import Metadata

/// tag: EXIF + IPTC IIM + XMP written into the finished JPEG, saved as OUTPUT/images/NAME.jpg.
/// Its identity is the finished image, the metadata, the write options and that destination, and
/// the edits of a review made on exactly those (`stockwerk review`): a rerun keeps a person's edit
/// while the image's inputs stay the same; when they change, the review no longer applies and the
/// image says so.
struct TagStage: Stage {
    let context: RunContext
    var name: String { "tag" }

    func identity(of state: JobState) throws -> String? {
        let base = baseIdentity(state)
        return TagRecipe.identity(base: base, edits: review(of: state.job, base: base).map { ReviewEdits.decode($0.edits) })
    }

    func make(_ state: JobState, identity: String) throws -> StageOutput {
        let path = destination(state.job)
        try context.refuseImported(path)
        let base = baseIdentity(state)
        var recipe = TagRecipe(source: state.image.path, metadata: state.metadata, categories: state.categories, options: options(state.job),
                               base: base, edits: review(of: state.job, base: base).map { ReviewEdits.decode($0.edits) }, warnings: [])
        recipe.warnings = try recipe.write(to: path)
        return StageOutput(artifact: path, details: Hashing.json(recipe), note: recipe.warnings.isEmpty ? nil : "\(recipe.warnings.count) warning(s)")
    }

    func apply(_ record: StageRecord, to state: inout JobState) throws {
        guard let recipe = TagRecipe.decode(record.details) else {
            throw StageFailure(job: state.job.name, stage: name, message: "the catalog's tag record cannot be read", hint: "delete OUTPUT/catalog.sqlite to start over (outputs are rebuilt)")
        }
        state.tagged = Artifact(path: record.artifactPath!, hash: record.artifactHash!)
        state.tagWarnings = recipe.warnings
        state.metadata = recipe.written
        state.categories = recipe.writtenCategories
        state.review = review(of: state.job, base: recipe.base)
        if state.review == nil, let stale = context.reviews[fileName(state.job)] {
            state.notes.append("the review of \(fileName(state.job)) (\(stale.decidedAt.formatted(.iso8601))) was made on an earlier version of it: "
                               + "its pixels or metadata have changed since, so its decision and edits no longer apply; review it again")
        }
    }

    /// The review made on exactly these inputs, if any.
    private func review(of job: Job, base: String) -> ReviewRecord? {
        context.reviews[fileName(job)].flatMap { $0.basis == base ? $0 : nil }
    }

    private func baseIdentity(_ state: JobState) -> String {
        Hashing.of(["tag-v3", state.image.hash, Hashing.json(state.metadata), Hashing.json(state.categories.sorted { $0.key < $1.key }.map { [$0.key, $0.value] }),
                    Hashing.json(options(state.job)), destination(state.job)])
    }

    private func fileName(_ job: Job) -> String { job.name + ".jpg" }
    private func destination(_ job: Job) -> String { context.imagesFolder + "/" + fileName(job) }

    private func options(_ job: Job) -> WriteOptions {
        let metadata = context.plan.spec.metadata
        return WriteOptions(resolution: metadata.resolutionDPI, dropCameraFields: job.aiReason != nil && !metadata.keepCameraEXIF)
    }
}
