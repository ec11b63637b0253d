import Foundation
import GRDB

/// A person's review of one finished image (OUTPUT/images/NAME.jpg): approved, rejected or not yet
/// decided, and the metadata they edited. `basis` is the identity of what they reviewed (the tag
/// stage's inputs before their edits): when a later run makes that image from other inputs, the
/// review no longer applies and the run says so.
public struct ReviewRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "review_decisions"
    public enum Decision: String, Codable, Sendable { case approved, rejected }

    /// The image's file name in OUTPUT/images.
    public var image: String
    public var decision: Decision?
    /// The edits as JSON (Workflow's `ReviewEdits`), "{}" when none.
    public var edits: String
    public var basis: String
    public var decidedAt: Date

    enum CodingKeys: String, CodingKey {
        case image, decision, edits, basis, decidedAt = "decided_at"
    }

    public init(image: String, decision: Decision?, edits: String, basis: String, decidedAt: Date = Date()) {
        self.image = image; self.decision = decision; self.edits = edits; self.basis = basis; self.decidedAt = decidedAt
    }
}

extension Catalog {
    /// Every review, by image file name.
    public func reviews() throws -> [String: ReviewRecord] {
        try read("reading the reviews") { db in
            Dictionary(try ReviewRecord.fetchAll(db).map { ($0.image, $0) }, uniquingKeysWith: { $1 })
        }
    }

    /// Records (or replaces) the review of one image.
    public func record(_ review: ReviewRecord) throws {
        try write("recording a review") { db in try review.save(db) }
    }

    /// The review and the stage result it came with, in one transaction: an edited image's new tag
    /// result and the edit are recorded together or not at all.
    public func record(_ review: ReviewRecord, with result: StageRecord, artifactSize: Int64) throws {
        try write("recording a review") { db in
            try review.save(db)
            try Self.save(result, artifactSize: artifactSize, in: db)
        }
    }
}

extension Catalog {
    /// The latest result of `stage` that made the file at `artifactPath`.
    public func latest(_ stage: String, artifactPath: String) throws -> StageRecord? {
        try read("reading a stage result") { db in
            try StageRecord.fetchOne(db, sql: "SELECT * FROM stage_results WHERE stage = ? AND artifact_path = ? ORDER BY completed_at DESC LIMIT 1",
                                     arguments: [stage, artifactPath])
        }
    }
}
