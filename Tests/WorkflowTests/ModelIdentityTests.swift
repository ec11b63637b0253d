import Foundation
import TestSupport
import Testing
@testable import Workflow

/// A model's identity covers every file the engine reads, so a changed component makes new images
/// rather than reusing cached ones; the AutoV2 hash (what A1111 shows) stays the UNet's.
@Suite struct ModelIdentityTests {
    static let sdxl = TestSupport.repositoryRoot + "/Tests/Fixtures/pipelines/tiny-sdxl"

    @Test func sdxlFoldersCountBothTextTowers() throws {
        let files = ModelLocator.componentFiles(in: Self.sdxl)
        for file in ["text_encoder/model.safetensors", "text_encoder_2/model.safetensors", "tokenizer_2/tokenizer.json",
                     "text_encoder_2/config.json", "unet/diffusion_pytorch_model.safetensors", "vae/diffusion_pytorch_model.safetensors"] {
            #expect(files.contains(file), "\(file) is not in \(files)")
        }
        #expect(!files.contains("expected.safetensors"))
    }

    @Test(arguments: ["text_encoder_2/model.safetensors", "tokenizer_2/tokenizer_config.json", "vae/diffusion_pytorch_model.safetensors"])
    func changingAComponentChangesTheIdentityOnly(component: String) throws {
        let folder = try TestSupport.temporaryFolder("identity") + "/sdxl"
        try FileManager.default.copyItem(atPath: Self.sdxl, toPath: folder)
        let before = try ModelLocator.hashes(folder, remember: false)
        let handle = try #require(FileHandle(forUpdatingAtPath: folder + "/" + component))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(" ".utf8))  // one more byte: a different file
        try handle.close()
        let after = try ModelLocator.hashes(folder, remember: false)
        #expect(after.identity != before.identity)
        #expect(after.autoV2 == before.autoV2)
    }
}

/// Prompts read the A1111 way since generate-v3; a job whose prompts read as before keeps its
/// identity (its cached image is still what the engine makes), any other is made again.
@Suite struct PromptReadingTests {
    @Test func onlyPlainShortPromptsReadAsBefore() throws {
        let model = ResolvedModel(name: "tiny", path: GenerateWorkflowTests.tinyModel, preset: nil, options: .init())
        let reading = PromptReading(model: model)
        #expect(reading.tokenizer != nil)
        #expect(reading.readsAsBefore("a photo of a red fox in snow, golden light") && reading.readsAsBefore(""))
        for changed in ["a (red) fox", "a [red] fox", "a (red:1.2) fox", #"a \(red\) fox"#, "a fox BREAK snow",
                        Array(repeating: "red fox", count: 60).joined(separator: " ")] {
            #expect(!reading.readsAsBefore(changed), "\(changed)")
        }
        let unreadable = PromptReading(model: ResolvedModel(name: "x", path: "/nonexistent", preset: nil, options: .init()))
        #expect(!unreadable.readsAsBefore("a red fox"))
    }
}
