import Agencies
import Catalog
import Foundation
import Metadata

/// What `stockwerk review` records: a decision on a finished image, or an edit of its metadata,
/// written into the image (atomically, as the tag stage writes it) and recorded in the catalog
/// with the tag result it makes, so a rerun keeps both while the image's inputs stay the same.
public enum ReviewEditing {
    /// The image's tag result and what it was written from.
    public struct Tagged: Sendable {
        public var record: StageRecord
        public var recipe: TagRecipe
        /// The review made on this version of the image, if any.
        public var review: ReviewRecord?
    }

    /// The run's tag result for OUTPUT/images/`image`, checked to be the file now there.
    /// `reviews`: the catalog's reviews when the caller has read them already (one read for many images).
    public static func tagged(_ image: String, output: String, catalog: Catalog, reviews: [String: ReviewRecord]? = nil) throws -> Tagged {
        let path = output + "/images/" + image
        guard let record = try catalog.latest("tag", artifactPath: path), let recipe = TagRecipe.decode(record.details) else {
            throw ReviewError("no run of this output made \(image)",
                               hint: "review the images a `stockwerk run` made (OUTPUT/images)")
        }
        guard (try? Hashing.file(path)) == record.artifactHash else {
            throw ReviewError("\(path) has changed since the run wrote it",
                               hint: "run the workflow again (it writes the image anew), then review it")
        }
        let review = try (reviews ?? catalog.reviews())[image].flatMap { $0.basis == recipe.base ? $0 : nil }
        return Tagged(record: record, recipe: recipe, review: review)
    }

    /// Approves or rejects the image (nil: undecided again); its edits stay.
    public static func decide(_ image: String, _ decision: ReviewRecord.Decision?, output: String, catalog: Catalog) throws {
        let tagged = try tagged(image, output: output, catalog: catalog)
        var review = tagged.review ?? ReviewRecord(image: image, decision: nil, edits: ReviewEdits().json, basis: tagged.recipe.base)
        review.decision = decision
        review.decidedAt = Date()
        try catalog.record(review)
    }

    /// Applies `edits` (on top of earlier ones) to the image: written as the tag stage writes it,
    /// then recorded as the image's tag result together with the review. Returns the new recipe.
    @discardableResult
    public static func edit(_ image: String, _ edits: ReviewEdits, output: String, catalog: Catalog) throws -> TagRecipe {
        let tagged = try tagged(image, output: output, catalog: catalog)
        var merged = tagged.review.map { ReviewEdits.decode($0.edits) } ?? ReviewEdits()
        if let title = edits.title { merged.title = title }
        if let description = edits.description { merged.description = description }
        if let keywords = edits.keywords { merged.keywords = keywords }
        if let categories = edits.categories { merged.categories = (merged.categories ?? [:]).merging(categories) { $1 } }
        var recipe = tagged.recipe
        recipe.edits = merged
        if let problem = MetadataWriter.sizeProblem(recipe.written) {
            throw ReviewError(problem, hint: "shorten it")
        }
        guard FileManager.default.fileExists(atPath: recipe.source) else {
            throw ReviewError("the finished image \(recipe.source) is gone",
                               hint: "run the workflow again (it finishes the image anew), then edit it")
        }
        let path = output + "/images/" + image
        recipe.warnings = try recipe.write(to: path)
        let result = StageRecord(jobID: tagged.record.jobID, stage: "tag", inputsHash: TagRecipe.identity(base: recipe.base, edits: merged),
                                 artifactPath: path, artifactHash: try Hashing.file(path), details: Hashing.json(recipe), runID: tagged.record.runID)
        let review = ReviewRecord(image: image, decision: tagged.review?.decision, edits: merged.json, basis: recipe.base)
        try catalog.record(review, with: result, artifactSize: StageCache.fileSize(path))
        return recipe
    }
}
