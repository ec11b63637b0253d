import Agencies
import Catalog
import Foundation
import Imaging

/// check: every target agency's rules on the tagged file as written (read back, not assumed).
/// Its identity is that file, the presets and what the file cannot say itself (the AI decision made
/// from the source's evidence, the enlargement, the detail figure, the categories).
struct CheckStage: Stage {
    let context: RunContext
    var name: String { "check" }

    /// What the catalog keeps: every agency's verdict, and the file facts they were made from.
    struct Result: Codable {
        var verdicts: [Verdict]
        var info: ImageInfo
    }

    func identity(of state: JobState) throws -> String? {
        guard let tagged = state.tagged else { return nil }
        let job = state.job
        return Hashing.of(["check-v2", tagged.hash, tagged.path, Hashing.json(context.plan.agencies), job.aiReason ?? "", String(job.planned.scale),
                           state.sharpness.map { Hashing.json($0) } ?? "", Hashing.json(state.categories.sorted { $0.key < $1.key }.map { [$0.key, $0.value] })])
    }

    func make(_ state: JobState, identity: String) throws -> StageOutput {
        let job = state.job, path = state.tagged!.path
        // The decision made at planning, from the source's evidence, stands (the output carries
        // its label, not the generator's text); evidence in the output itself counts too.
        var subject = try CheckSubject.read(path)
        if let reason = job.aiReason { subject.aiReason = reason }
        subject.enlargement = job.planned.scale
        subject.detail = state.sharpness
        subject.categories = state.categories
        let verdicts = context.plan.agencies.map { preset in
            var verdict = AgencyChecker(preset: preset).check(subject)
            verdict.file = path
            return verdict
        }
        let rejected = verdicts.filter { !$0.accepted }.map(\.agency)
        return StageOutput(artifact: nil, details: Hashing.json(Result(verdicts: verdicts, info: subject.info)),
                           note: rejected.isEmpty ? "accepted everywhere" : "rejected by \(rejected.joined(separator: ", "))")
    }

    func apply(_ record: StageRecord, to state: inout JobState) throws {
        let result = try JSONDecoder().decode(Result.self, from: Data(record.details.utf8))
        state.verdicts = result.verdicts
        state.info = result.info
    }
}
