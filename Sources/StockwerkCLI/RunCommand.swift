import ArgumentParser
import Foundation
import Workflow

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run a workflow: import, finish, tag, check and package every image.")

    @Argument(help: "The workflow YAML file.") var workflow: String
    @Flag(name: .long, help: "Validate and print the plan; write nothing.") var dryRun = false
    @Flag(name: .long, help: "Print the result as JSON on stdout (progress goes to stderr as JSON lines).") var json = false
    @Option(name: .long, help: "The presets folder (default: nearest presets/ above the workflow).") var presets: String?
    @Flag(name: .long, help: "Write into an output folder that is not empty and not a Stockwerk output (files there may be replaced or deleted).") var force = false
    @Option(name: .long, help: "How many images may be finished, described, tagged and checked at once, beside the engine (default: one per core, at least 2; 1: one image after another).")
    var jobs: Int = Runner.defaultLightJobs

    func validate() throws {
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1 (1 runs one image after another)") }
    }

    func run() throws {
        let plan: WorkflowPlan
        do {
            let spec = try WorkflowParser.parse(file: workflow)
            plan = try Planner.plan(spec, presetsFolder: presets, dryRun: dryRun)
        } catch { throw ErrorReporting.exit(for: error) }

        if dryRun {
            let view = PlanView(plan, force: force)
            if json { ErrorReporting.printJSON(view) } else { print(view.text) }
            // A dry run validates: a folder the run would refuse is an error here too.
            do { try OutputFolder.checkClaimable(plan.spec.output, force: force) } catch { throw ErrorReporting.exit(for: error) }
            return
        }
        let progress = ProgressPrinter(json: json)
        do {
            let summary = try Runner(plan: plan, force: force, lightJobs: jobs, report: progress.handle).run()
            if json { ErrorReporting.printJSON(summary) } else { print(SummaryPrinter.text(summary)) }
            if summary.exitCode != 0 { throw ExitCode(summary.exitCode) }
        } catch let exit as ExitCode {
            throw exit
        } catch { throw ErrorReporting.exit(for: error) }
    }
}

/// What `--dry-run` shows: every job with its source, planned size and metadata, and the agencies.
struct PlanView: Encodable {
    struct JobView: Encodable {
        var name: String
        var source: String
        var sourceSize: String
        var outputSize: String
        var scale: Double
        var aiGenerated: String?
        var title: String?
        var keywords: Int
    }
    var workflow: String
    var output: String
    /// What the run would make of the output folder (new, a Stockwerk output, or refused).
    var outputFolder: String
    /// What the run would write, inside the output folder only.
    var writes: [String]
    var agencies: [String]
    /// The stages each image goes through, in order; `describe` runs after finish, so a dry run shows the keywords before it.
    var stages: [String]
    var jobs: [JobView]
    var unreadable: [String]

    init(_ plan: WorkflowPlan, force: Bool) {
        workflow = plan.spec.file
        output = plan.spec.output
        outputFolder = OutputFolder.describe(output, force: force)
        writes = plan.jobs.map { "images/\($0.name).jpg" } + plan.agencies.map { "packages/\($0.id)/" }
            + ["catalog.sqlite", "report.json", "contact-sheet.html", ".stockwerk/ (work files)"]
        unreadable = plan.unreadable.map { "\($0.path): \($0.reason)" }
        agencies = plan.agencies.map(\.id)
        stages = plan.stageNames
        jobs = plan.jobs.map { job in
            JobView(name: job.name, source: job.source, sourceSize: "\(job.sourceInfo.width)x\(job.sourceInfo.height)",
                    outputSize: "\(job.planned.width)x\(job.planned.height)", scale: (job.planned.scale * 100).rounded() / 100,
                    aiGenerated: job.aiReason, title: job.metadata.title, keywords: job.metadata.keywords.count)
        }
    }

    var text: String {
        var lines = ["Plan for \(workflow)", "  output: \(output): \(outputFolder)",
                     "  would write there, and nowhere else: \(writes.joined(separator: ", "))", "  agencies: \(agencies.isEmpty ? "none" : agencies.joined(separator: ", "))",
                     "  \(jobs.count) image\(jobs.count == 1 ? "" : "s"):"]
        for job in jobs {
            lines.append("  - \(job.name).jpg  \(job.sourceSize) → \(job.outputSize) (×\(job.scale))\(job.aiGenerated != nil ? "  AI" : "")")
            lines.append("      from \(job.source)")
            lines.append("      title: \(job.title ?? "(none)"); \(job.keywords) keywords" + (stages.contains("describe") ? " before describe" : ""))
        }
        for problem in unreadable { lines.append("  ✗ cannot read \(problem)") }
        lines.append("Stages per image: \(stages.joined(separator: " → ")); then one package per agency. No model was loaded and nothing was written (--dry-run).")
        return lines.joined(separator: "\n")
    }
}
