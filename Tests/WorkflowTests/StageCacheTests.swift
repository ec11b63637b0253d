import Foundation
import Imaging
import TestSupport
import Testing
@testable import Workflow

/// The one cache every stage goes through: for each stage kind, a rerun with nothing changed makes
/// nothing, a change to one of that stage's inputs makes that stage again (and keeps the stages
/// before it), and a lost artifact is made again.
@Suite struct StageCacheTests {
    struct Case: Sendable, CustomStringConvertible {
        var stage: String
        /// The workflow's lines besides finish, metadata and output.
        var workflow: String
        /// One input of `stage` changed: this text of the workflow, replaced by that.
        var change: (String, String)
        var description: String { stage }
    }

    /// One tiny generated image (seed 11, 16×16, two steps).
    static let generate = UpscaleWorkflowTests.generate
    static let upscaler = TestSupport.repositoryRoot + "/Tests/Fixtures/upscalers/compact-x4.safetensors"
    static let photos = "import: {files: photos/*.png}"

    static let cases: [Case] = [
        Case(stage: "generate", workflow: generate, change: ("seeds: [11]", "seeds: [12]")),
        Case(stage: "refine", workflow: generate + "\nrefine: {factor: 2, strength: 0.5, steps: 2}", change: ("strength: 0.5", "strength: 0.6")),
        Case(stage: "upscale", workflow: photos + "\nupscale: {model: \(upscaler), tile_size: 32, tile_overlap: 8}", change: ("tile_size: 32", "tile_size: 40")),
        Case(stage: "redraw", workflow: generate + "\nupscale: {model: \(upscaler), redraw: {tile: 32, overlap: 8, strength: 0.3, steps: 4}}",
             change: ("strength: 0.3", "strength: 0.4")),
        Case(stage: "finish", workflow: photos, change: ("long_edge: 128", "long_edge: 120")),
        Case(stage: "describe", workflow: photos + "\ndescribe: {max_keywords: 20}", change: ("max_keywords: 20", "max_keywords: 15")),
        Case(stage: "tag", workflow: photos, change: ("title: A fox", "title: A red fox")),
        Case(stage: "check", workflow: photos + "\nagencies: [adobe-stock]", change: ("[adobe-stock]", "[adobe-stock, shutterstock]")),
    ]

    /// Runs the workflow and returns each stage's status, by stage name (one image).
    func run(_ path: String) throws -> [String: RunEvent.Status] {
        let plan = try Planner.plan(try WorkflowParser.parse(file: path), presetsFolder: TestSupport.presetsFolder)
        let statuses = StatusLog()
        let summary = try Runner(plan: plan, report: statuses.add).run()
        #expect(summary.images.count == 1 && summary.images.allSatisfy { $0.failure == nil }, "\(summary.images.map { $0.failure ?? "" })")
        return statuses.byStage
    }

    @Test(arguments: cases)
    func aStageIsMadeAgainExactlyWhenItsIdentityChanges(_ test: Case) throws {
        let folder = try TestSupport.temporaryFolder("stage-cache-\(test.stage)")
        try FileManager.default.createDirectory(atPath: folder + "/photos", withIntermediateDirectories: true)
        try RGBImage.read(TestSupport.sampleJPEG, size: (48, 32)).write(to: folder + "/photos/fox.png")
        let path = folder + "/w.yaml"
        let yaml = test.workflow + "\nfinish: {long_edge: 128, max_enlargement: 8}\nmetadata: {creator: Suite, title: A fox, keywords: [fox]}\noutput: out\n"
        try yaml.write(toFile: path, atomically: false, encoding: .utf8)

        let first = try run(path)
        #expect(first[test.stage] == .done, "\(first)")
        let again = try run(path)
        #expect(again.values.allSatisfy { $0 == .skipped } && Set(again.keys) == Set(first.keys), "an unchanged rerun made \(again)")

        // One input changed: that stage is made again, and every stage before it is kept.
        #expect(yaml.contains(test.change.0))
        try yaml.replacingOccurrences(of: test.change.0, with: test.change.1).write(toFile: path, atomically: false, encoding: .utf8)
        let changed = try run(path)
        #expect(changed[test.stage] == .done, "\(changed)")
        let stageOrder = ["generate", "refine", "upscale", "redraw", "finish", "describe", "tag", "check"]
        let earlier = stageOrder.prefix { $0 != test.stage }.filter { changed[$0] != nil }
        #expect(earlier.allSatisfy { changed[$0] == .skipped }, "\(changed)")

        // A recorded result whose artifact is gone is made again; one without an artifact stands.
        try FileManager.default.removeItem(atPath: folder + "/out/images")
        let lost = try run(path)
        #expect(lost["tag"] == .done && lost["finish"] == .skipped && lost["check"] == .skipped, "\(lost)")
    }
}

/// Collects the status of each stage from a run's progress events.
final class StatusLog: @unchecked Sendable {
    private(set) var byStage: [String: RunEvent.Status] = [:]
    func add(_ event: RunEvent) {
        if case .stage(_, _, _, let stage, let status, _, _) = event { byStage[stage] = status }
    }
}
