import CPUBackend
import Diffusion
import Foundation
import Neural
import TestSupport
import Testing

/// Another VAE for a model (`vae:` / `--vae`), as a diffusers folder and as an original-layout
/// single file, against diffusers with the pipeline's VAE replaced (Tools/reference/build_vae_fixtures.py).
@Suite struct VAEChoiceTests {
    static let folder = TestSupport.repositoryRoot + "/Tests/Fixtures/vae-choice/"

    @Test(arguments: ["other-vae", "other-vae.safetensors"], TestBackend.allCases)
    func matchesDiffusersWithTheVAEReplaced(vae: String, on backend: TestBackend) throws {
        let expected = try SafeTensorsFile(path: Self.folder + "expected.safetensors")
        let model = try StableDiffusionModel(path: PipelineTests.folder("tiny-sd1"), options: .init(vae: Self.folder + vae), backend: try backend.get())
        let request = GenerationRequest(prompt: try #require(expected.metadata["prompt"]), negativePrompt: try #require(expected.metadata["negative_prompt"]),
                                        seed: 4100, steps: 5, guidance: 7.5, sampler: .ddim, width: 16, height: 16)
        let result = try Pipeline(model: model).generate(request)
        try PipelineTests.expectMatch(result, expected, key: "txt2img", label: vae)
        // The latents are the model's; only the decoded image depends on the VAE.
        let own = try Pipeline(model: try PipelineTests.model("tiny-sd1", on: backend)).generate(request)
        #expect(try own.latents.host().storage == result.latents.host().storage)
        #expect(try own.image.host().storage != result.image.host().storage)
    }

    @Test func aVAEOfAnotherShapeIsRefusedByName() throws {
        // The tiny SDXL VAE has other widths than the tiny SD1 model's.
        let other = PipelineTests.folder("tiny-sdxl") + "/vae/diffusion_pytorch_model.safetensors"
        do {
            _ = try StableDiffusionModel(path: PipelineTests.folder("tiny-sd1"), options: .init(vae: other), backend: CPUBackend.shared)
            Issue.record("a VAE of another shape loaded")
        } catch let error as DiffusionError {
            #expect(error.description.contains("diffusion_pytorch_model.safetensors"), "\(error)")
        }
        #expect(throws: DiffusionError.self) {
            try StableDiffusionModel(path: PipelineTests.folder("tiny-sd1"), options: .init(vae: Self.folder + "expected.safetensors"), backend: CPUBackend.shared)
        }
    }
}
