import Foundation
import Imaging
import TestSupport
import Testing

/// `stockwerk upscale`: a learned model on one image, by path or by name in the models folder's
/// upscalers/; the input is never written to; pickles and strangers are errors (exit 2).
@Suite struct UpscaleCommandTests {
    let binary = TestSupport.stockwerkBinary
    let fixtures = TestSupport.repositoryRoot + "/Tests/Fixtures/upscalers/"

    func photo(_ folder: String) throws -> String {
        let path = folder + "/photo.png"
        try RGBImage.read(TestSupport.sampleJPEG, size: (48, 32)).write(to: path)
        return path
    }

    @Test func enlargesByTheModelsScaleAndLeavesTheInputAlone() throws {
        let folder = try TestSupport.temporaryFolder("upscale")
        let input = try photo(folder)
        let before = try Data(contentsOf: URL(fileURLWithPath: input))
        let result = try TestSupport.run(binary, ["upscale", input, "--model", fixtures + "rrdb-x2.safetensors", "--tile", "24", "--overlap", "8",
                                                  "--output", folder + "/big.png"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("ESRGAN (RRDBNet"), "\(result.stderr)")
        let info = try ImageInfo.read(folder + "/big.png")
        #expect(info.width == 96 && info.height == 64)
        #expect(try Data(contentsOf: URL(fileURLWithPath: input)) == before)
    }

    @Test func findsAModelByNameInTheModelsFolder() throws {
        let folder = try TestSupport.temporaryFolder("upscale-named")
        let models = folder + "/models"
        try FileManager.default.createDirectory(atPath: models + "/upscalers", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: fixtures + "compact-x4.safetensors", toPath: models + "/upscalers/tiny-compact.safetensors")
        let result = try TestSupport.run(binary, ["upscale", try photo(folder), "--model", "tiny-compact", "--output", folder + "/big.jpg"],
                                         environment: ["STOCKWERK_MODELS": models])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try ImageInfo.read(folder + "/big.jpg").width == 192)
    }

    @Test(arguments: [
        ("model.pth", "pickle"), ("nowhere", "no upscaler 'nowhere'"), ("SD", "not a super-resolution model"), ("SAME", "is the input image"),
    ])
    func badInputExitsTwo(model: String, says: String) throws {
        let folder = try TestSupport.temporaryFolder("upscale-bad")
        let input = try photo(folder)
        var path = model
        var output = folder + "/out.png"
        switch model {
        case "model.pth": path = folder + "/model.pth"; FileManager.default.createFile(atPath: path, contents: Data([0x80, 0x02]))
        case "SD": path = TestSupport.repositoryRoot + "/Tests/Fixtures/pipelines/tiny-sd1.safetensors"
        case "SAME": path = fixtures + "compact-x2.safetensors"; output = input
        default: break
        }
        let before = try Data(contentsOf: URL(fileURLWithPath: input))
        let result = try TestSupport.run(binary, ["upscale", input, "--model", path, "--output", output])
        #expect(result.status == 2 && result.stderr.contains(says), "\(result.status) \(result.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: input)) == before)
        #expect(model == "SAME" || !FileManager.default.fileExists(atPath: output))
    }

    /// `stockwerk models` lists the upscalers found (architecture and scale from their tensors; a
    /// pickle as not usable) and the known ones that are not there, with where to get them.
    @Test func modelsListsTheUpscalers() throws {
        let folder = try TestSupport.temporaryFolder("upscale-models")
        try FileManager.default.createDirectory(atPath: folder + "/upscalers", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: fixtures + "rrdb-x2.safetensors", toPath: folder + "/upscalers/tiny-x2.safetensors")
        FileManager.default.createFile(atPath: folder + "/upscalers/old.pth", contents: Data([0x80, 0x02]))
        let result = try TestSupport.run(binary, ["models"], environment: ["STOCKWERK_MODELS": folder])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("tiny-x2.safetensors") && result.stdout.contains("pixel-unshuffle) x2"), "\(result.stdout)")
        #expect(result.stdout.contains("old.pth") && result.stdout.contains("pickle"), "\(result.stdout)")
        #expect(result.stdout.contains("realesr-general-x4v3") && result.stdout.contains("BSD-3-Clause"), "\(result.stdout)")
        // A preset's id finds its file.
        try FileManager.default.copyItem(atPath: fixtures + "compact-x4.safetensors", toPath: folder + "/upscalers/realesr-general-x4v3.safetensors")
        let named = try TestSupport.run(binary, ["upscale", try photo(folder), "--model", "realesr-general-x4v3", "--output", folder + "/big.png"],
                                        environment: ["STOCKWERK_MODELS": folder])
        #expect(named.status == 0, "\(named.stderr)")
    }
}
