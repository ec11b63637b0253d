import Agencies
import Foundation
import Imaging
import TestSupport
import Testing
@testable import Workflow

/// "Similar content": the difference hash, the rule, and a run that packages a near-copy.
@Suite struct NearDuplicateTests {
    static let samples = TestSupport.repositoryRoot + "/Workflows/samples"

    @Test func differenceHashSeparatesCopiesFromOtherPictures() throws {
        let folder = try TestSupport.temporaryFolder("dhash")
        // The same photo enlarged, sharpened and recompressed stays close; other photos do not.
        try Finisher.finish(source: Self.samples + "/coffee.png", destination: folder + "/coffee-big.jpg", settings: FinishSettings(target: .longEdge(1800)))
        let original = try Thumbnails.differenceHash(Self.samples + "/coffee.png")
        let copy = try Thumbnails.differenceHash(folder + "/coffee-big.jpg")
        #expect(Thumbnails.distance(original, copy) <= 4, "copy distance \(Thumbnails.distance(original, copy))")
        for other in ["rocket.jpg", "hubble_deep_field.jpg", "chelsea.png"] {
            let distance = Thumbnails.distance(original, try Thumbnails.differenceHash(Self.samples + "/" + other))
            #expect(distance > 16, "\(other): \(distance)")
        }
    }

    @Test func aRunRefusesTheSecondCopyAndRemembersWhatWasPackaged() throws {
        let folder = try TestSupport.temporaryFolder("near-duplicates")
        try FileManager.default.createDirectory(atPath: folder + "/in", withIntermediateDirectories: true)
        for (source, name) in [("coffee.png", "coffee-a.png"), ("coffee.png", "coffee-b.png"), ("rocket.jpg", "rocket.jpg")] {
            try FileManager.default.copyItem(atPath: Self.samples + "/" + source, toPath: folder + "/in/" + name)
        }
        let yaml = """
            import: {files: "in/*", sidecars: false}
            finish: {long_edge: 2600, max_enlargement: 8}
            metadata: {title: Test picture, description: A test picture., keywords: [test, picture, sample], creator: Suite}
            agencies: [adobe-stock]
            output: out
            """
        try yaml.write(toFile: folder + "/w.yaml", atomically: false, encoding: .utf8)
        let plan = try Planner.plan(try WorkflowParser.parse(file: folder + "/w.yaml"), presetsFolder: TestSupport.presetsFolder)
        let summary = try Runner(plan: plan).run()
        let verdicts = Dictionary(uniqueKeysWithValues: summary.images.map { ($0.name, $0.verdicts[0]) })
        #expect(verdicts["coffee-a"]?.accepted == true && verdicts["rocket"]?.accepted == true, "\(verdicts)")
        let refusal = try #require(verdicts["coffee-b"]?.reasons.first { $0.rule == "near_duplicates" })
        #expect(refusal.message.contains("coffee-a.jpg") && refusal.message.contains("Adobe Stock"))
        #expect(summary.packages[0].accepted == 2)

        // A later run with a new copy: refused against what the catalog says was packaged.
        try FileManager.default.copyItem(atPath: Self.samples + "/coffee.png", toPath: folder + "/in/coffee-c.png")
        try FileManager.default.removeItem(atPath: folder + "/in/coffee-a.png")
        try FileManager.default.removeItem(atPath: folder + "/in/coffee-b.png")
        let second = try Runner(plan: try Planner.plan(try WorkflowParser.parse(file: folder + "/w.yaml"), presetsFolder: TestSupport.presetsFolder)).run()
        let later = try #require(second.images.first { $0.name == "coffee-c" }?.verdicts[0])
        #expect(later.reasons.contains { $0.rule == "near_duplicates" && $0.message.contains("coffee-a.jpg") }, "\(later.reasons)")
        #expect(second.images.first { $0.name == "rocket" }?.verdicts[0].accepted == true)
    }
}
