import Foundation
import Workflow

/// Progress on stderr: one line per image stage, or JSON lines with `--json`.
final class ProgressPrinter: @unchecked Sendable {
    let json: Bool
    init(json: Bool) { self.json = json }

    func handle(_ event: RunEvent) {
        switch event {
        case let .started(runID, jobs, output):
            emit(["event": "started", "run": "\(runID)", "jobs": "\(jobs)", "output": output],
                 "Run \(runID): \(jobs) image\(jobs == 1 ? "" : "s") → \(output)")
        case let .stage(index, total, job, stage, status, seconds, note):
            let timing = String(format: "%.2fs", seconds)
            emit(["event": "stage", "index": "\(index + 1)", "total": "\(total)", "job": job, "stage": stage,
                  "status": status.rawValue, "seconds": timing, "note": note ?? ""],
                 "[\(index + 1)/\(total)] \(job): \(stage) \(status.rawValue) \(timing)\(note.map { " — \($0)" } ?? "")")
        case let .packaged(agency, accepted, rejected, folder):
            emit(["event": "package", "agency": agency, "accepted": "\(accepted)", "rejected": "\(rejected)", "folder": folder],
                 "package \(agency): \(accepted) accepted, \(rejected) rejected → \(folder)")
        }
    }

    private func emit(_ fields: [String: String], _ text: String) {
        if json {
            let data = (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])) ?? Data()
            FileHandle.standardError.write(data + Data("\n".utf8))
        } else {
            FileHandle.standardError.write(Data((text + "\n").utf8))
        }
    }
}

enum SummaryPrinter {
    static func text(_ summary: RunSummary) -> String {
        var lines = ["", "Summary (\(summary.stagesRun) stages run, \(summary.stagesSkipped) reused from the catalog):"]
        for image in summary.images {
            if let failure = image.failure {
                lines.append("  ✗ \(image.name): failed — \(failure)")
                continue
            }
            lines.append("  \(image.name).jpg  \(image.width ?? 0)x\(image.height ?? 0)\(image.aiGenerated ? "  (AI-generated)" : "")")
            for verdict in image.verdicts {
                lines.append("    \(verdict.accepted ? "accepted" : "rejected") by \(verdict.agency)")
                for reason in verdict.reasons { lines.append("      - \(reason.message)") }
                for warning in verdict.warnings { lines.append("      ! \(warning.message)") }
            }
            for warning in image.warnings { lines.append("    ! \(warning)") }
        }
        for package in summary.packages {
            lines.append("  package \(package.agency): " + (package.accepted == 0 ? "no accepted image, so no CSV"
                : "\(package.accepted) file\(package.accepted == 1 ? "" : "s"), CSV \(package.csv)"))
        }
        if let kept = summary.packagesKept { lines.append("  ! \(kept)") }
        lines.append("  report: \(summary.output)/report.json; catalog: \(summary.catalog)")
        return lines.joined(separator: "\n")
    }
}
