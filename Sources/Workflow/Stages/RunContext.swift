import AtomicFiles
import Catalog
import Foundation

/// What every stage of a run shares: the plan, the output folder's layout, and the imported files,
/// which are never a destination whatever name reaches them.
final class RunContext {
    let plan: WorkflowPlan
    /// The imported files (device and inode).
    let sources: Set<FileIdentity>
    /// The engine's models, loaded on first use and kept for the run.
    let models: EngineModels
    /// The reviews (`stockwerk review`) by image file name, read from the catalog before the
    /// stages start (and not changed while they run).
    var reviews: [String: ReviewRecord] = [:]

    init(plan: WorkflowPlan) {
        self.plan = plan
        sources = Set(plan.jobs.filter { $0.generation == nil }.compactMap { FileIdentity(path: $0.source) })
        models = EngineModels(weights: plan.spec.weights)
    }

    var output: String { plan.spec.output }
    var finishFolder: String { output + "/.stockwerk/finish" }
    var generateFolder: String { output + "/.stockwerk/generate" }
    var refineFolder: String { output + "/.stockwerk/refine" }
    var upscaleFolder: String { output + "/.stockwerk/upscale" }
    var redrawFolder: String { output + "/.stockwerk/redraw" }
    var imagesFolder: String { output + "/images" }
    var packagesFolder: String { output + "/packages" }
    var catalogPath: String { output + "/catalog.sqlite" }
    /// Every folder a run writes into.
    var folders: [String] { [output, finishFolder, generateFolder, refineFolder, upscaleFolder, redrawFolder, imagesFolder, packagesFolder] }

    /// Stockwerk never writes to a file it imported, whatever name reaches it (imports inside the
    /// output are excluded while planning; this holds even for links and bind mounts).
    func refuseImported(_ destination: String) throws {
        guard let identity = FileIdentity(path: destination), sources.contains(identity) else { return }
        throw StageFailure(job: "-", stage: "writing \(destination)", message: "it is one of the imported files, and Stockwerk never writes to a file it imported",
                           hint: "move the photos out of the output folder, or set `output:` to a new folder")
    }
}
