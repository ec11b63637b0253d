import Agencies
import AtomicFiles
import Catalog
import Foundation
import Imaging
import Metadata

/// Runs a plan: each job through the list of stages, then one package per agency, the contact
/// sheet and the report. Every stage goes through one cache (`StageCache`): a result is keyed by
/// the hash of its inputs in the catalog and reused while its artifact is in place, so a rerun does
/// only what changed and a run killed at any moment resumes cleanly.
public final class Runner {
    public let plan: WorkflowPlan
    private let report: (RunEvent) -> Void
    /// Write into an output folder that is not empty and not a Stockwerk output (`--force`).
    private let force: Bool
    private let context: RunContext
    /// How many images may be in their light stages (finish, describe, tag, check) at once, beside
    /// the engine's; 1 runs every image's stages one after another.
    private let lightJobs: Int

    /// The default: one image in light stages per core, and at least two (one beside the engine).
    public static var defaultLightJobs: Int { max(2, ProcessInfo.processInfo.activeProcessorCount) }

    public init(plan: WorkflowPlan, force: Bool = false, lightJobs: Int = Runner.defaultLightJobs, report: @escaping (RunEvent) -> Void = { _ in }) {
        self.plan = plan
        self.force = force
        self.report = report
        self.lightJobs = lightJobs
        context = RunContext(plan: plan)
    }

    var output: String { plan.spec.output }
    /// Images in the run: the jobs, and the imported files that could not be read.
    var total: Int { plan.jobs.count + plan.unreadable.count }
    var packagesFolder: String { context.packagesFolder }
    public var catalogPath: String { context.catalogPath }

    /// A job's stages in order, engine stages first; each one that has nothing to do for a job (no
    /// identity) is passed by.
    func stages() -> [any Stage] {
        let describe: [any Stage] = DescribeStage(context: context).map { [$0] } ?? []
        return [GenerateStage(context: context), RefineStage(context: context), UpscaleStage(context: context), RedrawStage(context: context),
                FinishStage(context: context)] + describe + [TagStage(context: context), CheckStage(context: context)]
    }

    public func run() throws -> RunSummary {
        try OutputFolder.claim(output, force: force)
        for folder in context.folders {
            do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
                throw StageFailure(job: "-", stage: "preparing the output", message: "cannot create \(folder): \(error.localizedDescription)",
                                   hint: "check the permissions of the output folder, or set `output:` elsewhere")
            }
        }
        // One run per output folder at a time; the lock goes with the process, even on kill -9.
        let lock = try OutputLock(folder: output + "/.stockwerk")
        defer { lock.release() }
        for folder in context.folders { AtomicFile.removeLeftovers(in: folder, includingLegacy: true) }
        PackageBuilder.removeLeftovers(in: packagesFolder)

        let catalog = try Catalog(path: catalogPath)
        try catalog.markInterruptedRuns()
        let workflowHash = (try? Hashing.file(plan.spec.file)) ?? ""
        let runID = try catalog.beginRun(workflowPath: plan.spec.file, workflowHash: workflowHash)
        report(.started(runID: runID, jobs: total, output: output))

        context.reviews = try catalog.reviews()
        let cache = StageCache(catalog: catalog, runID: runID, total: total, report: report)
        let lanes = JobLanes(stages: stages(), cache: cache, lightJobs: lightJobs)
        for (index, job) in plan.jobs.enumerated() {
            let state = JobState(job: job, index: index)
            do {
                try catalog.ensureJob(JobRecord(id: job.id, name: job.name, sourcePath: job.source, sourceHash: job.sourceHash, firstRunID: runID))
                lanes.run(state)
            } catch {
                lanes.fail(state, error)
            }
        }
        var images: [RunSummary.Image] = []
        var states: [JobState] = []
        for (index, (job, result)) in zip(plan.jobs, lanes.results(count: plan.jobs.count)).enumerated() {
            var image = RunSummary.Image(name: job.name, source: job.source, aiGenerated: job.aiReason != nil, verdicts: [], warnings: [])
            switch result {
            case .success(let state):
                image.output = state.tagged?.path
                image.warnings = job.notes + state.notes + state.tagWarnings + [state.sharpness?.warning].compactMap { $0 }
                image.review = state.review?.decision?.rawValue
                image.sharpness = state.sharpness
                image.width = state.info?.width
                image.height = state.info?.height
                image.verdicts = state.verdicts
                states.append(state)
            case .failure(let error):
                image.failure = "\(error)"
                report(.stage(index: index, total: total, job: job.name, stage: "run", status: .failed, seconds: 0, note: "\(error)"))
                states.append(JobState(job: job, index: index))
            }
            images.append(image)
        }

        // A file that could not be read is this image's failure, not the batch's.
        for (offset, source) in plan.unreadable.enumerated() {
            let name = URL(fileURLWithPath: source.path).deletingPathExtension().lastPathComponent
            let failure = source.reason.contains(source.path) ? source.reason : "cannot read \(source.path): \(source.reason)"
            images.append(RunSummary.Image(name: name, source: source.path, aiGenerated: false, verdicts: [], warnings: [], failure: failure))
            report(.stage(index: plan.jobs.count + offset, total: total, job: name, stage: "import", status: .failed, seconds: 0, note: failure))
        }

        var packages: [RunSummary.Package] = []
        var hashes: [String: UInt64] = [:]  // perceptual hashes by image path, made once per run
        var imageIndex: [String: Int] = [:]  // finished image path → its place in `images`
        for (index, image) in images.enumerated() { if let path = image.output { imageIndex[path] = index } }
        // A package is replaced only by a complete one: when an image failed in a stage (not a file
        // that cannot be read, which is refused), the packages stay as the last complete run left them.
        let failedJobs = images.prefix(plan.jobs.count).filter { $0.failure != nil }.map(\.name)
        // With `review: required`, packages wait until a person has decided on every image.
        let undecided = plan.spec.review == .required ? zip(states, images).filter { $0.1.failure == nil && $0.0.review?.decision == nil }.map(\.1.name) : []
        let packagesKept = !failedJobs.isEmpty
            ? "packages left as they were, because \(failedJobs.count) image\(failedJobs.count == 1 ? "" : "s") failed (\(failedJobs.prefix(3).joined(separator: ", "))\(failedJobs.count > 3 ? ", …" : "")); fix and run again"
            : undecided.isEmpty ? nil
            : "packages wait for review: \(undecided.count) image\(undecided.count == 1 ? " has" : "s have") no decision yet (\(undecided.prefix(3).joined(separator: ", "))\(undecided.count > 3 ? ", …" : "")); run `stockwerk review \(output)`, then run again or `stockwerk package`"
        for preset in plan.agencies where packagesKept == nil {
            var items: [PackageItem] = []
            var ids: [String] = []
            for (state, image) in zip(states, images) {
                guard let path = image.output, var verdict = image.verdicts.first(where: { $0.agency == preset.id }) else { continue }
                let job = state.job
                if let review = state.review, review.decision == .rejected {
                    verdict = .rejectedInReview(path, agency: preset.id, on: review.decidedAt)
                }
                let category = preset.category(given: state.categories, keywords: state.metadata.keywords)
                let entry = PackageEntry(fileName: job.name + ".jpg", metadata: state.metadata, category: category,
                                         isIllustration: false, isEditorial: job.editorial, isMature: false)
                items.append(PackageItem(imagePath: path, entry: entry, verdict: verdict))
                ids.append(job.name)  // the image's slot: stays the same when only its metadata changes
                if verdict.accepted, hashes[path] == nil { hashes[path] = try? Thumbnails.differenceHash(path) }
            }
            let packageReport = try Packaging.build(preset, items: &items, ids: ids, hashes: hashes, catalog: catalog, runID: runID,
                                                    packagesFolder: packagesFolder)
            for item in items {  // the summary (and exit code) sees near-duplicate refusals too
                guard let index = imageIndex[item.imagePath],
                      let verdictIndex = images[index].verdicts.firstIndex(where: { $0.agency == preset.id }) else { continue }
                images[index].verdicts[verdictIndex] = item.verdict
            }
            let folder = packagesFolder + "/" + preset.id
            packages.append(RunSummary.Package(agency: preset.id, folder: folder, csv: packageReport.csv.isEmpty ? "" : folder + "/" + packageReport.csv,
                                               accepted: packageReport.accepted, rejected: packageReport.rejected))
            report(.packaged(agency: preset.id, accepted: packageReport.accepted, rejected: packageReport.rejected, folder: folder))
        }

        // One sheet for the whole run: every image with every agency's verdict.
        let cards = zip(states, images).compactMap { state, image in
            image.output.map { path in
                let job = state.job, metadata = state.metadata
                let categories = plan.agencies.compactMap { preset in
                    preset.category(given: job.categories, keywords: metadata.keywords).map { (agency: preset.name, category: $0) }
                }
                // The detail warning shows with the figure; the rest are the image's own.
                let warnings = image.warnings.filter { $0 != image.sharpness?.warning }
                return ContactSheet.Card(fileName: job.name + ".jpg", imagePath: path, title: metadata.title, keywords: metadata.keywords,
                                         verdicts: image.verdicts, detail: image.sharpness, description: metadata.description, ai: job.aiReason,
                                         categories: categories, warnings: warnings)
            }
        }
        let agencyNames = Dictionary(uniqueKeysWithValues: plan.agencies.map { ($0.id, $0.name) })
        try context.refuseImported(output + "/contact-sheet.html")
        try context.refuseImported(output + "/report.json")
        try AtomicFile.write(Data(ContactSheet.html(title: plan.spec.name, cards: cards, agencyNames: agencyNames).utf8), to: output + "/contact-sheet.html")

        let summary = RunSummary(workflow: plan.spec.file, runID: runID, output: output, catalog: catalogPath, images: images,
                                 packages: packages, stagesRun: cache.made, stagesSkipped: cache.reused, packagesKept: plan.agencies.isEmpty ? nil : packagesKept)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try AtomicFile.write(try encoder.encode(summary), to: output + "/report.json")
        try catalog.finishRun(runID, status: summary.failedCount > 0 ? "failed" : "finished")
        return summary
    }
}

extension WorkflowPlan {
    /// The stages its jobs go through, in the Runner's order (for `--dry-run`): only those with
    /// work to do for some job.
    public var stageNames: [String] {
        let generated = jobs.contains { $0.generation != nil }
        let wanted: [(String, Bool)] = [
            ("generate", generated), ("refine", jobs.contains { $0.generation?.refine != nil }), ("upscale", upscale != nil),
            ("redraw", generated && upscale?.redraw != nil), ("finish", true), ("describe", spec.describe != nil), ("tag", true), ("check", true),
        ]
        return wanted.filter(\.1).map(\.0)
    }
}
