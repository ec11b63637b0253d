import Foundation
import Imaging
import TestSupport
import Testing
@testable import Workflow

/// Light stages (finish, describe, tag, check) of several images at once, beside the engine's:
/// the same files, verdicts and catalog as one image after another, and each image's stages
/// reported in their order, one whole event at a time.
@Suite struct ConcurrencyTests {
    func workflow(in folder: String, generate: Bool) throws -> String {
        try FileManager.default.createDirectory(atPath: folder + "/photos", withIntermediateDirectories: true)
        for (index, size) in [(48, 32), (32, 48), (40, 40), (64, 32), (30, 45)].enumerated() {
            try RGBImage.read(TestSupport.sampleJPEG, size: size).write(to: folder + "/photos/photo\(index).png")
        }
        let yaml = """
            import: {files: photos/*.png}
            \(generate ? StageCacheTests.generate.replacingOccurrences(of: "seeds: [11]", with: "seeds: [11, 12, 13]") : "")
            describe: {max_keywords: 20}
            finish: {long_edge: 256, max_enlargement: 16}
            metadata: {creator: Suite, title: Test, keywords: [test]}
            agencies: [adobe-stock, shutterstock]
            output: out
            """
        try yaml.write(toFile: folder + "/w.yaml", atomically: false, encoding: .utf8)
        return folder + "/w.yaml"
    }

    final class EventLog: @unchecked Sendable {
        let lock = NSLock()
        var stages: [(job: String, stage: String)] = []
        func add(_ event: RunEvent) {
            lock.withLock { if case .stage(_, _, let job, let stage, _, _, _) = event { stages.append((job, stage)) } }
        }
    }

    @Test(arguments: [false, true])
    func concurrentLightStagesMakeWhatOneAfterAnotherMakes(generate: Bool) throws {
        var outputs: [Int: (summary: RunSummary, folder: String, log: EventLog)] = [:]
        for lightJobs in [1, 4] {
            let folder = try TestSupport.temporaryFolder("concurrency-\(lightJobs)")
            let plan = try Planner.plan(try WorkflowParser.parse(file: try workflow(in: folder, generate: generate)), presetsFolder: TestSupport.presetsFolder)
            let log = EventLog()
            let summary = try Runner(plan: plan, lightJobs: lightJobs, report: log.add).run()
            #expect(summary.images.count == (generate ? 8 : 5) && summary.images.allSatisfy { $0.failure == nil }, "\(summary.images.map { $0.failure ?? "" })")
            outputs[lightJobs] = (summary, folder, log)
        }
        let (serial, parallel) = (outputs[1]!, outputs[4]!)
        #expect(serial.summary.stagesRun == parallel.summary.stagesRun)
        for (one, other) in zip(serial.summary.images, parallel.summary.images) {
            #expect(one.name == other.name)
            #expect(one.verdicts.map(\.accepted) == other.verdicts.map(\.accepted) && one.verdicts.map { $0.reasons.map(\.rule) } == other.verdicts.map { $0.reasons.map(\.rule) })
            let (a, b) = (try Data(contentsOf: URL(fileURLWithPath: try #require(one.output))), try Data(contentsOf: URL(fileURLWithPath: try #require(other.output))))
            #expect(a == b, "\(one.name) differs")
        }
        for name in ["shutterstock.csv", "adobe-stock.csv"] {
            let agency = String(name.dropLast(4))
            #expect(FileManager.default.contents(atPath: serial.folder + "/out/packages/\(agency)/\(name)") == FileManager.default.contents(atPath: parallel.folder + "/out/packages/\(agency)/\(name)"))
        }
        // Each image's stages come in their order, whatever ran beside them.
        let order = ["generate", "finish", "describe", "tag", "check"]
        for image in parallel.summary.images {
            let stages = parallel.log.stages.filter { $0.job == image.name }.map(\.stage)
            #expect(stages == order.filter(stages.contains), "\(image.name): \(stages)")
        }
    }
}
