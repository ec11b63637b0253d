import Agencies
import Foundation
import Imaging
import Metadata

/// Progress events, one per job stage, for the terminal or for scripts.
public enum RunEvent: Sendable {
    public enum Status: String, Sendable, Codable { case done, skipped, failed }
    case started(runID: Int64, jobs: Int, output: String)
    case stage(index: Int, total: Int, job: String, stage: String, status: Status, seconds: Double, note: String?)
    case packaged(agency: String, accepted: Int, rejected: Int, folder: String)
}

/// What a run produced, written to OUTPUT/report.json and printed by `--json`.
public struct RunSummary: Codable, Sendable {
    public struct Image: Codable, Sendable {
        public var name: String
        public var source: String
        public var output: String?
        public var width: Int?
        public var height: Int?
        public var aiGenerated: Bool
        public var verdicts: [Verdict]
        public var warnings: [String]
        public var failure: String?
        /// Detail of an enlarged image against a plain bicubic enlargement (finish stage).
        public var sharpness: SharpnessReport? = nil
        /// A person's decision in `stockwerk review` (approved, rejected), when one applies to this version.
        public var review: String? = nil
    }

    public struct Package: Codable, Sendable {
        public var agency: String
        public var folder: String
        public var csv: String
        public var accepted: Int
        public var rejected: Int
    }

    public var workflow: String
    public var runID: Int64
    public var output: String
    public var catalog: String
    public var images: [Image]
    public var packages: [Package]
    public var stagesRun: Int
    public var stagesSkipped: Int
    /// Why the packages were left as the last complete run built them (some image failed), or nil.
    public var packagesKept: String? = nil

    public var failedCount: Int { images.filter { $0.failure != nil }.count }
    public var rejectedCount: Int { images.reduce(0) { $0 + $1.verdicts.filter { !$0.accepted }.count } }
    /// 0: all accepted everywhere; 1: some image was rejected by an agency or failed.
    public var exitCode: Int32 { failedCount > 0 || rejectedCount > 0 ? 1 : 0 }
}
