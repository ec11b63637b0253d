import Catalog
import Foundation

/// The one cache engine every stage goes through. A stage's result is looked up by its name and
/// identity (from any job: the same prompt and seed twice, the same photo under two names), used
/// when its artifact is still there with the recorded content, and otherwise made, hashed and
/// recorded only after the artifact is in place. A run killed at any moment therefore resumes
/// with every finished stage kept and nothing half-made taken for done.
/// Jobs run their stages on several threads at once: the counters and the progress report are
/// behind a lock (so each event is one whole line), and the catalog is safe to share.
final class StageCache: @unchecked Sendable {
    private let catalog: Catalog
    private let runID: Int64
    private let total: Int
    private let report: (RunEvent) -> Void
    private let lock = NSLock()
    private var madeCount = 0, reusedCount = 0
    var made: Int { lock.withLock { madeCount } }
    var reused: Int { lock.withLock { reusedCount } }

    init(catalog: Catalog, runID: Int64, total: Int, report: @escaping (RunEvent) -> Void) {
        self.catalog = catalog
        self.runID = runID
        self.total = total
        self.report = report
    }

    /// Runs `stage` for the job in `state` (or takes its recorded result) and applies the result.
    func run(_ stage: some Stage, _ state: inout JobState) throws {
        let start = Date()
        do {
            guard let identity = try stage.identity(of: state) else { return }
            var note: String?
            var reusedNow = false
            let record: StageRecord
            if let cached = try catalog.stage(stage.name, inputsHash: identity), Self.isInPlace(cached), stage.canReuse(cached, for: state) {
                record = cached
                reusedNow = true
                // Recorded for this job too, so the catalog shows what each job used.
                if cached.jobID != state.job.id { try catalog.record(retagged(cached, for: state.job.id)) }
            } else {
                let output = try stage.make(state, identity: identity)
                record = StageRecord(jobID: state.job.id, stage: stage.name, inputsHash: identity, artifactPath: output.artifact,
                                     artifactHash: try output.artifact.map(Hashing.file), details: output.details, runID: runID)
                try catalog.record(record, artifactSize: output.artifact.map(Self.fileSize))
                note = output.note
            }
            try stage.apply(record, to: &state)
            lock.withLock { if reusedNow { reusedCount += 1 } else { madeCount += 1 } }
            send(.stage(index: state.index, total: total, job: state.job.name, stage: stage.name, status: reusedNow ? .skipped : .done,
                        seconds: Date().timeIntervalSince(start), note: note))
        } catch {
            send(.stage(index: state.index, total: total, job: state.job.name, stage: stage.name, status: .failed,
                        seconds: Date().timeIntervalSince(start), note: "\(error)"))
            throw error
        }
    }

    /// Reports an event, one at a time whichever thread it comes from.
    func send(_ event: RunEvent) {
        lock.withLock { report(event) }
    }

    private func retagged(_ record: StageRecord, for jobID: String) -> StageRecord {
        StageRecord(jobID: jobID, stage: record.stage, inputsHash: record.inputsHash, artifactPath: record.artifactPath,
                    artifactHash: record.artifactHash, details: record.details, runID: runID)
    }

    /// A result without an artifact (a check, a description) is its details; one with an artifact
    /// counts only while that file is there with the recorded content.
    static func isInPlace(_ record: StageRecord) -> Bool {
        guard let path = record.artifactPath else { return true }
        guard let hash = record.artifactHash, FileManager.default.fileExists(atPath: path) else { return false }
        return (try? Hashing.file(path)) == hash
    }

    static func fileSize(_ path: String) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
    }
}
