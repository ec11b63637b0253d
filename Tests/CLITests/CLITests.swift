import CSV
import Foundation
import TestSupport
import Testing

@Suite(.serialized) struct CLITests {
    let binary = TestSupport.stockwerkBinary

    @Test func brokenWorkflowExitsTwoWithLocationsAndWritesNothing() throws {
        let folder = try TestSupport.temporaryFolder("cli-broken")
        let yaml = """
            import:
              file: "*.jpg"
            finish:
              long_edge: "big"
            output: out
            """
        try yaml.write(toFile: folder + "/bad.yaml", atomically: false, encoding: .utf8)
        let result = try TestSupport.run(binary, ["run", folder + "/bad.yaml"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("bad.yaml:2:3"))
        #expect(result.stderr.contains("did you mean `files`?"))
        #expect(result.stderr.contains("bad.yaml:4:14"))
        #expect(result.stderr.contains("hint:"))
        #expect(!FileManager.default.fileExists(atPath: folder + "/out"))

        let missing = try TestSupport.run(binary, ["run", folder + "/nope.yaml"])
        #expect(missing.status == 2)
    }

    @Test func checkPrintsVerdictsAndExitsOneOnRejection() throws {
        let folder = try TestSupport.temporaryFolder("cli-check")
        let yaml = """
            import: {files: "*.png", ai_generated: true}
            finish: {long_edge: 3000}
            metadata: {title: Test, description: A test., keywords: [a, b, c, d, e, f, g]}
            output: out
            """
        try yaml.write(toFile: folder + "/w.yaml", atomically: false, encoding: .utf8)
        _ = try TestSupport.run("/usr/bin/env", ["true"])
        let make = try TestSupport.run(binary, ["run", folder + "/w.yaml"], currentDirectory: TestSupport.repositoryRoot)
        // No source images yet: a clear error about the glob.
        #expect(make.status == 2 && make.stderr.contains("no image files match"))

        let image = folder + "/out.jpg"
        let tool = try TestSupport.run("convert", ["-size", "3000x2000", "gradient:red-blue", image])
        #expect(tool.status == 0)
        let accepted = try TestSupport.run(binary, ["check", image, "--agency", "shutterstock", "--presets", TestSupport.presetsFolder])
        #expect(accepted.status == 1)  // no keywords or description yet
        #expect(accepted.stdout.contains("rejected by shutterstock"))
        let ai = try TestSupport.run(binary, ["check", image, "--agency", "shutterstock", "--ai", "--json", "--presets", TestSupport.presetsFolder])
        #expect(ai.status == 1)
        let verdicts = try JSONSerialization.jsonObject(with: Data(ai.stdout.utf8)) as? [[String: Any]]
        let reasons = verdicts?.first?["reasons"] as? [[String: Any]]
        #expect(reasons?.contains { ($0["rule"] as? String) == "ai_policy" } == true)
    }

    /// Kill -9 at random moments, then rerun: the output and catalog are complete, with no
    /// duplicate, half-written or lost file.
    @Test func survivesKillNineAtRandomPoints() throws {
        let folder = try TestSupport.temporaryFolder("cli-kill")
        try FileManager.default.createDirectory(atPath: folder + "/in", withIntermediateDirectories: true)
        for (index, size) in [(1, "1200x800"), (2, "800x1200"), (3, "1000x1000"), (4, "1400x900")].enumerated() {
            let result = try TestSupport.run("convert", ["-size", size.1, "plasma:fractal", "-seed", "\(size.0)", folder + "/in/img\(index).jpg"])
            #expect(result.status == 0)
        }
        let yaml = """
            import: {files: "in/*.jpg"}
            finish: {long_edge: 2600}
            metadata: {title: Plasma, description: Plasma fractal., keywords: [a, b, c, d, e, f, g], creator: Kill Test,
                       categories: {shutterstock: [Abstract]}}
            agencies: [adobe-stock, shutterstock]
            output: out
            """
        try yaml.write(toFile: folder + "/w.yaml", atomically: false, encoding: .utf8)

        var generator = SystemRandomNumberGenerator()
        for _ in 0..<6 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = ["run", folder + "/w.yaml", "--presets", TestSupport.presetsFolder]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            usleep(UInt32.random(in: 50_000...1_500_000, using: &generator))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        let final = try TestSupport.run(binary, ["run", folder + "/w.yaml", "--json", "--presets", TestSupport.presetsFolder])
        // Every image is ≥ 4 MP and has 7 keywords: accepted by both. (The run's report says why not.)
        #expect(final.status == 0, "\(final.stdout.suffix(4000))\n\(final.stderr.suffix(2000))")
        let files = TestSupport.allFiles(under: folder + "/out")
        #expect(!files.contains { $0.contains(".tmp-") || $0.contains(".old-") })
        #expect(files.filter { $0.hasPrefix("images/") } == ["images/img0.jpg", "images/img1.jpg", "images/img2.jpg", "images/img3.jpg"])
        for name in ["img0", "img1", "img2", "img3"] {
            let tags = try TestSupport.exiftool(folder + "/out/images/\(name).jpg", ["-XMP-dc:Title", "-ImageWidth", "-Warning"])
            #expect(tags["XMP-dc:Title"] as? String == "Plasma")
            #expect(tags["ExifTool:Warning"] == nil)
        }
        let csv = try String(contentsOfFile: folder + "/out/packages/shutterstock/shutterstock.csv", encoding: .utf8)
        let reader = try CSVReader(string: csv, hasHeaderRow: true)
        var names: [String] = []
        while let row = reader.next() { names.append(row[0]) }
        #expect(names == ["img0.jpg", "img1.jpg", "img2.jpg", "img3.jpg"])

        let sqlite = try TestSupport.run("sqlite3", [folder + "/out/catalog.sqlite",
            "SELECT (SELECT count(*) FROM jobs), (SELECT count(*) FROM stage_results WHERE stage IN ('finish','tag')), (SELECT count(DISTINCT path) = count(*) FROM artifacts)"])
        #expect(sqlite.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "4|8|1")
        // Killed runs are recorded as interrupted, the last one as finished.
        let runs = try TestSupport.run("sqlite3", [folder + "/out/catalog.sqlite", "SELECT DISTINCT status FROM runs ORDER BY status"])
        #expect(Set(runs.stdout.split(separator: "\n").map(String.init)).isSubset(of: ["finished", "interrupted"]))

        // While another run holds the output folder, a second one refuses to start.
        let lockFile = open(folder + "/out/.stockwerk/lock", O_RDWR)
        #expect(flock(lockFile, LOCK_EX | LOCK_NB) == 0)
        let busy = try TestSupport.run(binary, ["run", folder + "/w.yaml", "--presets", TestSupport.presetsFolder])
        close(lockFile)
        #expect(busy.status == 2)
        #expect(busy.stderr.contains("another stockwerk run is using the output folder"))
    }
}
