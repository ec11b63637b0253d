import Foundation
import GRDB

public enum CatalogError: Error, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    /// The file opens but is not the catalog it should be (a table or column missing, a corrupt page).
    case damaged(path: String, reason: String)
    case failed(operation: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason): return "cannot open the catalog \(path): \(reason)"
        case let .damaged(path, reason): return "the catalog \(path) is damaged: \(reason)"
        case let .failed(operation, reason): return "catalog \(operation) failed: \(reason)"
        }
    }

    public var hint: String {
        switch self {
        case .cannotOpen: return "check the output folder's permissions; delete the catalog to start over (outputs are rebuilt)"
        case let .damaged(path, _):
            return "nothing was changed; move it aside (mv \(path) \(path).damaged) and run again: the next run rebuilds the catalog, reusing no cached stage"
        case .failed: return "the catalog may be damaged; delete it to start over (outputs are rebuilt)"
        }
    }
}

/// A finished stage of one job: what went in (hash) and what came out (artifact + hash).
public struct StageRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "stage_results"
    public var jobID: String
    public var stage: String
    public var inputsHash: String
    public var artifactPath: String?
    public var artifactHash: String?
    /// Stage-specific facts as JSON (sizes, verdicts, warnings).
    public var details: String
    public var runID: Int64
    public var completedAt: Date

    enum CodingKeys: String, CodingKey {
        case jobID = "job_id", stage, inputsHash = "inputs_hash", artifactPath = "artifact_path"
        case artifactHash = "artifact_hash", details, runID = "run_id", completedAt = "completed_at"
    }

    public init(jobID: String, stage: String, inputsHash: String, artifactPath: String?, artifactHash: String?,
                details: String = "{}", runID: Int64, completedAt: Date = Date()) {
        self.jobID = jobID; self.stage = stage; self.inputsHash = inputsHash; self.artifactPath = artifactPath
        self.artifactHash = artifactHash; self.details = details; self.runID = runID; self.completedAt = completedAt
    }
}

public struct JobRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "jobs"
    public var id: String
    public var name: String
    public var sourcePath: String
    public var sourceHash: String
    public var firstRunID: Int64

    enum CodingKeys: String, CodingKey {
        case id, name, sourcePath = "source_path", sourceHash = "source_hash", firstRunID = "first_run_id"
    }

    public init(id: String, name: String, sourcePath: String, sourceHash: String, firstRunID: Int64) {
        self.id = id; self.name = name; self.sourcePath = sourcePath; self.sourceHash = sourceHash; self.firstRunID = firstRunID
    }
}

public struct RunRecord: Codable, Sendable, Equatable, FetchableRecord {
    public var id: Int64
    public var workflowPath: String
    public var workflowHash: String
    public var startedAt: Date
    public var finishedAt: Date?
    public var status: String

    enum CodingKeys: String, CodingKey {
        case id, workflowPath = "workflow_path", workflowHash = "workflow_hash"
        case startedAt = "started_at", finishedAt = "finished_at", status
    }
}

/// The SQLite catalog in an output folder (WAL mode): runs, jobs, stage results, artifacts, packages.
/// A stage's row is written only after its artifact is in place, so the catalog never points at a
/// file that is not there.
public final class Catalog: Sendable {
    public let path: String
    private let database: DatabaseQueue

    public init(path: String) throws {
        self.path = path
        do {
            var configuration = Configuration()
            configuration.busyMode = .timeout(10)
            database = try DatabaseQueue(path: path, configuration: configuration)
            try database.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")
            }
            try Self.migrator.migrate(database)
        } catch {
            throw CatalogError.cannotOpen(path: path, reason: "\(error)")
        }
        try Self.verify(database, path: path)
    }

    /// The tables and columns every operation relies on. Checked at open, so a damaged catalog
    /// stops a run before it changes anything (it would otherwise fail each job and replace good
    /// packages with empty ones).
    static let schema: [String: [String]] = [
        "runs": ["id", "workflow_path", "workflow_hash", "started_at", "finished_at", "status"],
        "jobs": ["id", "name", "source_path", "source_hash", "first_run_id"],
        "stage_results": ["job_id", "stage", "inputs_hash", "artifact_path", "artifact_hash", "details", "run_id", "completed_at"],
        "artifacts": ["path", "content_hash", "size", "job_id", "stage"],
        "packages": ["agency", "run_id", "accepted", "rejected", "csv_hash", "built_at"],
        "packaged_images": ["agency", "job_id", "file_name", "dhash", "run_id"],
        "review_decisions": ["image", "decision", "edits", "basis", "decided_at"],
    ]

    static func verify(_ database: DatabaseQueue, path: String) throws {
        let problem: String?
        do { problem = try database.read { db in
            let check = try String.fetchOne(db, sql: "PRAGMA quick_check") ?? "no answer"
            if check != "ok" { return "SQLite's quick check says: \(check)" }
            for (table, columns) in schema.sorted(by: { $0.key < $1.key }) {
                guard try db.tableExists(table) else { return "table \(table) is missing" }
                let present = Set(try db.columns(in: table).map(\.name))
                if let missing = columns.first(where: { !present.contains($0) }) { return "column \(table).\(missing) is missing" }
            }
            return nil
        } } catch { problem = "\(error)" }
        if let problem { throw CatalogError.damaged(path: path, reason: problem) }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "runs") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("workflow_path", .text).notNull()
                t.column("workflow_hash", .text).notNull()
                t.column("started_at", .datetime).notNull()
                t.column("finished_at", .datetime)
                t.column("status", .text).notNull()
            }
            try db.create(table: "jobs") { t in
                t.primaryKey("id", .text)
                t.column("name", .text).notNull()
                t.column("source_path", .text).notNull()
                t.column("source_hash", .text).notNull()
                t.column("first_run_id", .integer).notNull().references("runs")
            }
            try db.create(table: "stage_results") { t in
                t.column("job_id", .text).notNull().references("jobs", onDelete: .cascade)
                t.column("stage", .text).notNull()
                t.column("inputs_hash", .text).notNull()
                t.column("artifact_path", .text)
                t.column("artifact_hash", .text)
                t.column("details", .text).notNull()
                t.column("run_id", .integer).notNull().references("runs")
                t.column("completed_at", .datetime).notNull()
                t.primaryKey(["job_id", "stage"])
            }
            try db.create(index: "stage_results_by_inputs", on: "stage_results", columns: ["stage", "inputs_hash"])
            try db.create(table: "artifacts") { t in
                t.primaryKey("path", .text)
                t.column("content_hash", .text).notNull()
                t.column("size", .integer).notNull()
                t.column("job_id", .text).notNull().references("jobs", onDelete: .cascade)
                t.column("stage", .text).notNull()
            }
            try db.create(table: "packages") { t in
                t.column("agency", .text).notNull()
                t.column("run_id", .integer).notNull().references("runs")
                t.column("accepted", .integer).notNull()
                t.column("rejected", .integer).notNull()
                t.column("csv_hash", .text).notNull()
                t.column("built_at", .datetime).notNull()
                t.primaryKey(["agency"])
            }
        }
        migrator.registerMigration("v2-packaged-images") { db in
            // What each agency package holds, with the perceptual hash, so later runs can refuse
            // near-duplicates of images already packaged.
            try db.create(table: "packaged_images") { t in
                t.column("agency", .text).notNull()
                t.column("job_id", .text).notNull()
                t.column("file_name", .text).notNull()
                t.column("dhash", .integer).notNull()
                t.column("run_id", .integer).notNull().references("runs")
                t.primaryKey(["agency", "job_id"])
            }
        }
        migrator.registerMigration("v3-review-decisions") { db in
            // A person's decision and edits per finished image (`stockwerk review`).
            try db.create(table: "review_decisions") { t in
                t.primaryKey("image", .text)
                t.column("decision", .text)
                t.column("edits", .text).notNull()
                t.column("basis", .text).notNull()
                t.column("decided_at", .datetime).notNull()
            }
        }
        return migrator
    }

    func write<T>(_ operation: String, _ body: (Database) throws -> T) throws -> T {
        do { return try database.write(body) } catch { throw CatalogError.failed(operation: operation, reason: "\(error)") }
    }

    func read<T>(_ operation: String, _ body: (Database) throws -> T) throws -> T {
        do { return try database.read(body) } catch { throw CatalogError.failed(operation: operation, reason: "\(error)") }
    }

    public func beginRun(workflowPath: String, workflowHash: String) throws -> Int64 {
        try write("starting a run") { db in
            try db.execute(sql: "INSERT INTO runs (workflow_path, workflow_hash, started_at, status) VALUES (?, ?, ?, 'running')",
                           arguments: [workflowPath, workflowHash, Date()])
            return db.lastInsertedRowID
        }
    }

    /// Runs still marked as running were killed (the caller holds the output's lock): say so.
    @discardableResult
    public func markInterruptedRuns() throws -> Int {
        try write("marking interrupted runs") { db in
            try db.execute(sql: "UPDATE runs SET status = 'interrupted' WHERE status = 'running'")
            return db.changesCount
        }
    }

    public func finishRun(_ id: Int64, status: String) throws {
        try write("finishing a run") { db in
            try db.execute(sql: "UPDATE runs SET finished_at = ?, status = ? WHERE id = ?", arguments: [Date(), status, id])
        }
    }

    /// Adds a job the first time it is seen; a job's id is the hash of all its inputs.
    public func ensureJob(_ job: JobRecord) throws {
        try write("recording a job") { db in
            if try JobRecord.fetchOne(db, key: job.id) == nil { try job.insert(db) }
        }
    }

    public func stage(_ stage: String, of jobID: String) throws -> StageRecord? {
        try read("reading a stage result") { db in
            try StageRecord.fetchOne(db, key: ["job_id": jobID, "stage": stage])
        }
    }

    /// A finished stage with these exact inputs, from any job (stages are cached by what went in).
    public func stage(_ stage: String, inputsHash: String) throws -> StageRecord? {
        try read("reading a stage result") { db in
            try StageRecord.fetchOne(db, sql: "SELECT * FROM stage_results WHERE stage = ? AND inputs_hash = ? ORDER BY completed_at DESC LIMIT 1",
                                     arguments: [stage, inputsHash])
        }
    }

    /// Records a finished stage and its artifact in one transaction.
    public func record(_ result: StageRecord, artifactSize: Int64? = nil) throws {
        try write("recording a stage result") { db in try Self.save(result, artifactSize: artifactSize, in: db) }
    }

    /// A stage result and its artifact's row, inside the caller's transaction.
    static func save(_ result: StageRecord, artifactSize: Int64?, in db: Database) throws {
        try result.save(db)
        if let path = result.artifactPath, let hash = result.artifactHash {
            try db.execute(sql: """
                INSERT INTO artifacts (path, content_hash, size, job_id, stage) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(path) DO UPDATE SET content_hash = excluded.content_hash, size = excluded.size,
                    job_id = excluded.job_id, stage = excluded.stage
                """, arguments: [path, hash, artifactSize ?? 0, result.jobID, result.stage])
        }
    }

    public func recordPackage(agency: String, runID: Int64, accepted: Int, rejected: Int, csvHash: String) throws {
        try write("recording a package") { db in
            try db.execute(sql: """
                INSERT INTO packages (agency, run_id, accepted, rejected, csv_hash, built_at) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(agency) DO UPDATE SET run_id = excluded.run_id, accepted = excluded.accepted,
                    rejected = excluded.rejected, csv_hash = excluded.csv_hash, built_at = excluded.built_at
                """, arguments: [agency, runID, accepted, rejected, csvHash, Date()])
        }
    }

    /// Adds what `agency`'s package holds to its history (an image packaged again replaces its
    /// earlier entry; images of earlier packages stay, since they may already be uploaded).
    public func recordPackagedImages(agency: String, runID: Int64, images: [(jobID: String, fileName: String, hash: UInt64)]) throws {
        try write("recording packaged images") { db in
            for image in images {
                try db.execute(sql: "INSERT OR REPLACE INTO packaged_images (agency, job_id, file_name, dhash, run_id) VALUES (?, ?, ?, ?, ?)",
                               arguments: [agency, image.jobID, image.fileName, Int64(bitPattern: image.hash), runID])
            }
        }
    }

    /// Images packaged for `agency` by earlier runs (`jobID` is the image's output name).
    public func packagedImages(agency: String) throws -> [(jobID: String, fileName: String, hash: UInt64)] {
        try read("listing packaged images") { db in
            try Row.fetchAll(db, sql: "SELECT job_id, file_name, dhash FROM packaged_images WHERE agency = ? ORDER BY file_name", arguments: [agency])
                .map { (jobID: $0["job_id"], fileName: $0["file_name"], hash: UInt64(bitPattern: $0["dhash"] as Int64)) }
        }
    }

    public func runs() throws -> [RunRecord] {
        try read("listing runs") { db in try RunRecord.fetchAll(db, sql: "SELECT * FROM runs ORDER BY id") }
    }

    public func jobs() throws -> [JobRecord] {
        try read("listing jobs") { db in try JobRecord.fetchAll(db, sql: "SELECT * FROM jobs ORDER BY name") }
    }

    public func stageResults() throws -> [StageRecord] {
        try read("listing stage results") { db in try StageRecord.fetchAll(db, sql: "SELECT * FROM stage_results ORDER BY job_id, stage") }
    }

    /// Artifact paths, with the number of rows each has (more than one would be a duplicate).
    public func artifactPaths() throws -> [String] {
        try read("listing artifacts") { db in try String.fetchAll(db, sql: "SELECT path FROM artifacts ORDER BY path") }
    }
}
