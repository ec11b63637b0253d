import Foundation
import TestSupport
import Testing

/// `stockwerk run --dry-run` validates and plans without loading a model or computing an
/// embedding: `describe:` runs after finish, on the finished pixels, so planning never needs the
/// sentence-embedding model. Shown by a models folder without it: the dry run is fine, the run
/// itself then names the missing model for that image.
@Suite struct DryRunTests {
    @Test func aDryRunNeedsNoModelAndDescribeRunsAfterFinish() throws {
        let folder = try TestSupport.temporaryFolder("dry-run-models")
        try FileManager.default.createDirectory(atPath: folder + "/photos", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: folder + "/no-models", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: TestSupport.sampleJPEG, toPath: folder + "/photos/rocket.jpg")
        let yaml = "import: {files: photos/*.jpg}\ndescribe: {max_keywords: 20}\nfinish: {long_edge: 800}\nmetadata: {keywords: [rocket]}\noutput: out\n"
        try yaml.write(toFile: folder + "/w.yaml", atomically: false, encoding: .utf8)
        let environment = ["STOCKWERK_MODELS": folder + "/no-models"]
        let arguments = ["run", folder + "/w.yaml", "--presets", TestSupport.presetsFolder]

        let dry = try TestSupport.run(TestSupport.stockwerkBinary, arguments + ["--dry-run"], environment: environment)
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.contains("Stages per image: finish → describe → tag → check"), "\(dry.stdout)")
        #expect(dry.stdout.contains("1 keywords before describe"), "\(dry.stdout)")
        #expect(!FileManager.default.fileExists(atPath: folder + "/out"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder + "/no-models").isEmpty, "a dry run writes nothing, not even a hash cache")

        // The run finishes the image, then cannot describe it: that image fails, naming the model.
        let run = try TestSupport.run(TestSupport.stockwerkBinary, arguments + ["--json"], environment: environment)
        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.stderr.contains("\"stage\":\"finish\",\"status\":\"done\"") && run.stderr.contains("all-MiniLM-L6-v2"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder + "/out/images/rocket.jpg"))
    }
}
