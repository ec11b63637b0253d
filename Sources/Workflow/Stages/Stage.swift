import Agencies
import Catalog
import Imaging
import Metadata

/// A file a stage made (or the job's source), with its content hash.
struct Artifact: Sendable, Equatable {
    var path: String
    var hash: String
}

/// What flows through one job's stages: the image so far and what earlier stages found.
/// Every stage reads from it and adds to it, the same way whether its result was just made or
/// came from the catalog (`Stage.apply`), so a rerun sees exactly what the first run saw.
struct JobState: Sendable {
    let job: Job
    /// The job's place in the run, for progress.
    let index: Int
    /// The image the next stage reads: the job's source, then each image stage's result.
    var image: Artifact
    /// What will be written into the image: the job's, then what `describe` found.
    var metadata: StockMetadata
    var sharpness: SharpnessReport?
    /// OUTPUT/images/NAME.jpg once the tag stage has written it, and what tagging noticed.
    var tagged: Artifact?
    var tagWarnings: [String] = []
    var verdicts: [Verdict] = []
    /// The tagged file's facts as the check read them.
    var info: ImageInfo?
    /// Category by agency id: the job's, then a review's edits.
    var categories: [String: String]
    /// The review (`stockwerk review`) made on this version of the image, if any.
    var review: ReviewRecord?
    /// What the stages noticed for the run's report (a review that no longer applies).
    var notes: [String] = []

    init(job: Job, index: Int) {
        self.job = job
        self.index = index
        image = Artifact(path: job.source, hash: job.sourceHash)
        metadata = job.metadata
        categories = job.categories
    }
}

/// What `Stage.make` produced: the artifact it wrote (atomically, in the output folder), the
/// details the catalog keeps with it, and a line for the progress display.
struct StageOutput {
    var artifact: String?
    var details: String
    var note: String?
}

/// One step of a job: its inputs hash to an identity, and a result recorded in the catalog under
/// it. `StageCache` is the one rule for all of them: a result recorded with the same identity, whose
/// artifact is still there with its recorded content, is used instead of making it again.
/// Adding a stage is one type (this protocol) and its workflow key.
protocol Stage {
    /// The stage's name in the catalog and in progress lines.
    var name: String { get }
    /// An engine stage (diffusion, learned upscaling) uses every core, so engine stages run one job
    /// at a time; the others (libvips, metadata, checks) run beside them for earlier jobs.
    var usesEngine: Bool { get }
    /// The hash of every input that decides this stage's result, or nil when the stage has
    /// nothing to do for this job (no refine pass, a photo for a generate stage).
    func identity(of state: JobState) throws -> String?
    /// Whether a recorded result can stand for this job, beyond its artifact being in place
    /// (a second file the result needs). Most stages need nothing more.
    func canReuse(_ record: StageRecord, for state: JobState) -> Bool
    /// Makes the result; throws a `StageFailure` (or the module's error) when it cannot.
    func make(_ state: JobState, identity: String) throws -> StageOutput
    /// Takes the result, made now or recorded by an earlier run, into the job's state.
    func apply(_ record: StageRecord, to state: inout JobState) throws
}

extension Stage {
    var usesEngine: Bool { false }
    func canReuse(_ record: StageRecord, for state: JobState) -> Bool { true }
}
