import CPUBackend
import Diffusion
import Foundation
import Neural
import TestSupport
import Testing

/// LoRAs merged at load against diffusers' load_lora_weights with the adapters at their weights
/// (Tools/reference/build_lora_fixtures.py): kohya-layout (SD 1.x diffusers module names; SDXL
/// original-UNet names; LoCon convolutions; alpha ≠ rank; text towers) and PEFT-layout files,
/// alone and two at once, on the tiny SD1 and SDXL models; DDIM, 5 steps, guidance 7.5.
@Suite struct LoRATests {
    static let folder = TestSupport.repositoryRoot + "/Tests/Fixtures/loras/"

    func load(_ base: String, _ loras: [(String, Double)], on backend: TestBackend = .cpu) throws -> StableDiffusionModel {
        let references = loras.map { LoRAReference(path: Self.folder + $0.0 + ".safetensors", weight: $0.1) }
        return try StableDiffusionModel(path: PipelineTests.folder("tiny-" + base), options: .init(loras: references), backend: try backend.get())
    }

    static let combinations: [(String, [(String, Double)])] = [("sd1", [("sd1-kohya", 0.8)]), ("sd1", [("sd1-peft", 1.0)]),
                                                                ("sd1", [("sd1-kohya", 0.8), ("sd1-peft", 0.5)]), ("sdxl", [("sdxl-kohya", 0.7)])]

    /// Every combination on the CPU; on the GPU two LoRAs at once on SD 1 and the SDXL one.
    @Test(arguments: combinations.map { ($0.0, $0.1, TestBackend.cpu) } + [combinations[2], combinations[3]].map { ($0.0, $0.1, .vulkan) })
    func matchesDiffusers(base: String, loras: [(String, Double)], on backend: TestBackend) throws {
        let expected = try SafeTensorsFile(path: Self.folder + "expected.safetensors")
        let key = base + "." + loras.map { "\($0.0)@\(String(format: "%g", $0.1))" }.joined(separator: "+")
        let model = try load(base, loras, on: backend)
        let request = GenerationRequest(prompt: try #require(expected.metadata["prompt"]), negativePrompt: try #require(expected.metadata["negative_prompt"]),
                                        seed: UInt64(try expected.tensor(key + ".seed").storage[0]), steps: 5, guidance: 7.5, sampler: .ddim, width: 16, height: 16)
        try PipelineTests.expectMatch(try Pipeline(model: model).generate(request), expected, key: key, label: "\(key) on \(backend)")
        // And the LoRA changes the image: without it the result is another one.
        let plain = try Pipeline(model: try PipelineTests.model("tiny-" + base, on: backend)).generate(request)
        let reference = try expected.tensor(key + ".latents")
        #expect((zip(try plain.latents.host().storage, reference.storage).map { abs($0 - $1) }.max() ?? 0) > 0.01)
    }

    @Test func aLoRAForAnotherBaseModelIsRefusedByName() throws {
        do {
            _ = try load("sd1", [("sdxl-kohya", 1)])
            Issue.record("an SDXL LoRA loaded into an SD 1.x model")
        } catch let error as DiffusionError {
            #expect(error.description.contains("sdxl-kohya.safetensors") && error.description.contains("another base model"), "\(error)")
        }
        do {
            _ = try StableDiffusionModel(path: PipelineTests.folder("tiny-sd1"), options: .init(loras: [LoRAReference(path: PipelineTests.folder("tiny-sd1") + "/vae/diffusion_pytorch_model.safetensors", weight: 1)]),
                                         backend: CPUBackend.shared)
            Issue.record("a VAE was taken for a LoRA")
        } catch let error as DiffusionError {
            #expect(error.description.contains("not a usable LoRA"), "\(error)")
        }
    }
}
