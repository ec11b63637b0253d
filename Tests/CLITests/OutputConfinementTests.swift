import Foundation
import TestSupport
import Testing

/// The property behind issue 16: whatever the workflow says — output inside the shoot, beside it,
/// the shoot itself, `**` globs, links, `--force` — a run writes nothing outside its output
/// folder. The tree around it (sources, sidecars, links) is byte-identical before and after,
/// and so are HOME and the cache folder (apart from the model-hash cache, which no import writes).
@Suite struct OutputConfinementTests {
    let binary = TestSupport.stockwerkBinary
    static let sample = TestSupport.sampleJPEG

    struct Case: CustomStringConvertible {
        var output: String
        var pattern: String
        var agencies: [String]
        var force: Bool
        var description: String { "output \(output), files \(pattern), agencies \(agencies), force \(force)" }
    }


    func shoot() throws -> String {
        let root = try TestSupport.temporaryFolder("confine")
        let manager = FileManager.default
        for folder in ["shoot/day1", "shoot/day2", "shoot/images", "elsewhere", "out/images", "out/.stockwerk"] { try manager.createDirectory(atPath: root + "/" + folder, withIntermediateDirectories: true) }
        // shoot/images/d.jpg sits where a run with `output: shoot` writes its images.
        // out/ is an earlier run's output, and someone put a photo into its images/.
        try Data("This folder is a Stockwerk output.\n".utf8).write(to: URL(fileURLWithPath: root + "/out/.stockwerk/output"))
        for name in ["shoot/day1/a.jpg", "shoot/day2/b.jpg", "shoot/images/d.jpg", "elsewhere/c.jpg", "out/images/e.jpg"] { try manager.copyItem(atPath: Self.sample, toPath: root + "/" + name) }
        try Data("title: Rocket at dawn\nkeywords: [rocket, launch, sky]\n".utf8).write(to: URL(fileURLWithPath: root + "/shoot/day1/a.yaml"))
        try Data("a rocket launch at dusk".utf8).write(to: URL(fileURLWithPath: root + "/shoot/day2/b.txt"))
        try manager.createSymbolicLink(atPath: root + "/shoot/day2/c.jpg", withDestinationPath: "../../elsewhere/c.jpg")
        chmod(root + "/shoot/day1/a.jpg", 0o600)
        return root
    }

    @Test func aRunWritesOnlyInsideItsOutputFolder() throws {
        let outputs = ["out", "shoot/out", "shoot/day1/out", "shoot", "shoot/day1", "elsewhere/../out2"]
        let patterns = ["shoot/**/*.jpg", "shoot/*/*.jpg", "shoot/day1/*.jpg", "**/*.jpg", "shoot/day2/c.jpg", "shoot/images/*.jpg"]
        let agencies = ["adobe-stock", "shutterstock", "alamy", "freepik", "getty-images"]
        var generator = SeededGenerator(seed: 16)
        // The cases that once overwrote sources, then seeded random ones.
        let fixed = [Case(output: "out", pattern: "out/images/*.jpg", agencies: ["adobe-stock"], force: false),
                     Case(output: "shoot", pattern: "shoot/images/*.jpg", agencies: ["adobe-stock"], force: true),
                     Case(output: "shoot", pattern: "shoot/**/*.jpg", agencies: [], force: true)]
        for trial in 0..<15 {
            let testCase = trial < fixed.count ? fixed[trial]
                : Case(output: outputs.randomElement(using: &generator)!, pattern: patterns.randomElement(using: &generator)!,
                       agencies: agencies.filter { _ in Bool.random(using: &generator) }, force: Bool.random(using: &generator))
            let root = try shoot()
            let home = try TestSupport.temporaryFolder("confine-home"), cache = try TestSupport.temporaryFolder("confine-cache")
            try Data("""
                import: {files: "\(testCase.pattern)"}
                output: \(testCase.output)
                agencies: [\(testCase.agencies.joined(separator: ", "))]
                finish: {long_edge: 1200}

                """.utf8).write(to: URL(fileURLWithPath: root + "/w.yaml"))
            let outputPrefix = URL(fileURLWithPath: root + "/" + testCase.output).standardizedFileURL.path
            func outside() -> [String: String] {
                TestSupport.snapshot(of: root).filter { entry in
                    let path = URL(fileURLWithPath: root + "/" + entry.key).standardizedFileURL.path
                    return path != outputPrefix && !path.hasPrefix(outputPrefix + "/")
                }
            }
            // Every image there before the run (imported or not, inside the output or not) stays as it was.
            func photos() -> [String: String] { TestSupport.snapshot(of: root).filter { $0.key.hasSuffix(".jpg") } }
            let before = outside(), photosBefore = photos()
            var statuses: [Int32] = []
            for _ in 0..<2 {
                let result = try TestSupport.run(binary, ["run", root + "/w.yaml", "--presets", TestSupport.presetsFolder] + (testCase.force ? ["--force"] : []),
                                                 environment: ["HOME": home, "XDG_CACHE_HOME": cache])
                #expect(result.status != 3, "trial \(trial) (\(testCase)): \(result.stderr)")
                statuses.append(result.status)
            }
            #expect(outside() == before, "trial \(trial) (\(testCase)): the tree outside the output changed")
            let photosAfter = photos()
            for (path, entry) in photosBefore { #expect(photosAfter[path] == entry, "trial \(trial) (\(testCase)): \(path) changed") }
            #expect(TestSupport.allFiles(under: home).isEmpty && TestSupport.allFiles(under: cache).isEmpty, "trial \(trial) (\(testCase))")
            // The shoot folder itself holds the sources: as output it is refused (foreign, or all sources inside it).
            if ["shoot", "shoot/day1"].contains(testCase.output), !testCase.force { #expect(statuses.allSatisfy { $0 == 2 }, "trial \(trial) (\(testCase))") }
        }
    }
}
