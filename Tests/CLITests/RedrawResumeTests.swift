import Foundation
import TestSupport
import Testing

/// upscale.redraw resumes tile by tile: a run killed (-9) while redrawing keeps the tiles it had
/// finished, the next run draws only the others, and the image is the same as an uninterrupted run's.
@Suite struct RedrawResumeTests {
    let binary = TestSupport.stockwerkBinary

    func workflow(in folder: String) throws -> String {
        let yaml = """
            generate:
              model: \(TestSupport.repositoryRoot)/Tests/Fixtures/pipelines/tiny-sd1
              prompts: ["a red fox in snow"]
              seeds: [11]
              size: 16x16
              steps: 2
              sampler: euler
            upscale:
              model: \(TestSupport.repositoryRoot)/Tests/Fixtures/upscalers/compact-x4.safetensors
              redraw: {tile: 32, overlap: 8, strength: 0.5, steps: 8, seam_fix: 0.5}
            finish: {long_edge: 128, max_enlargement: 4}
            metadata: {creator: Test Suite, keywords: [fox, snow, winter], title: A fox in snow}
            output: out
            """
        try yaml.write(toFile: folder + "/w.yaml", atomically: false, encoding: .utf8)
        return folder + "/w.yaml"
    }

    /// The redrawn image (the redraw stage's PNG) of the run in `folder`.
    func redrawn(in folder: String) throws -> Data {
        let files = TestSupport.allFiles(under: folder + "/out/.stockwerk/redraw")
        let image = try #require(files.count == 1 ? files.first : nil, "\(files)")
        return try Data(contentsOf: URL(fileURLWithPath: folder + "/out/.stockwerk/redraw/" + image))
    }

    @Test func aKilledRedrawResumesFromTheTilesItFinished() throws {
        let clean = try TestSupport.temporaryFolder("redraw-clean")
        let whole = try TestSupport.run(binary, ["run", try workflow(in: clean), "--presets", TestSupport.presetsFolder])
        #expect(whole.status != 2 && whole.status != 3, "\(whole.stderr)")

        let folder = try TestSupport.temporaryFolder("redraw-kill")
        let path = try workflow(in: folder)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["run", path, "--presets", TestSupport.presetsFolder]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // 3×3 tiles and 12 seam tiles: kill once a few are kept.
        var kept: [String] = []
        let deadline = Date().addingTimeInterval(300)
        while kept.count < 4, process.isRunning, Date() < deadline {
            usleep(20_000)
            kept = TestSupport.allFiles(under: folder + "/out/.stockwerk/redraw").filter { $0.hasSuffix(".safetensors") && !$0.contains(".tmp-") }
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(kept.count >= 4, "no tiles were kept before the run ended")

        let resumed = try TestSupport.run(binary, ["run", path, "--presets", TestSupport.presetsFolder])
        #expect(resumed.status != 2 && resumed.status != 3, "\(resumed.stderr)")
        let note = try #require(resumed.stderr.split(separator: "\n").first { $0.contains("redraw") && $0.contains("kept from an interrupted run") },
                                "\(resumed.stderr)")
        let count = Int(note.split(separator: ",").first { $0.contains("kept from") }?.split(separator: " ").first ?? "") ?? 0
        #expect(count >= kept.count, "\(note)")
        #expect(try redrawn(in: folder) == redrawn(in: clean), "the resumed image differs from an uninterrupted run's")
    }
}
