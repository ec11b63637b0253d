import Foundation
import Imaging
import Neural
import TestSupport
import Testing

/// `--device`: the GPU backend from the command line (on lavapipe here, which gpu:N names
/// explicitly), recorded with the image; devices that cannot be used are errors (exit 2) that say
/// which and what to do.
@Suite struct DeviceOptionTests {
    let binary = TestSupport.stockwerkBinary
    let model = TestSupport.repositoryRoot + "/Tests/Fixtures/pipelines/tiny-sd1"

    @Test func generatesOnTheVulkanDeviceAsDiffusersDoes() throws {
        let folder = try TestSupport.temporaryFolder("generate-gpu")
        let expected = try SafeTensorsFile(path: model + "/expected.safetensors")
        let result = try TestSupport.run(binary, [
            "generate", "--model", model, "--prompt", try #require(expected.metadata["prompt"]),
            "--negative", try #require(expected.metadata["negative_prompt"]), "--seed", "1004", "--steps", "5", "--guidance", "7.5",
            "--sampler", "euler", "--size", "16x16", "--device", "gpu:0", "--output", folder + "/fox.png", "--latents-out", folder + "/fox.safetensors",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("(Vulkan)"), "\(result.stderr)")
        let latents = try SafeTensorsFile(path: folder + "/fox.safetensors").tensor("latents")
        let reference = try expected.tensor("txt2img.euler.7.5.latents")
        #expect(zip(latents.storage, reference.storage).map { abs($0 - $1) }.max()! <= 1e-3)
        let parameters = try #require(try RGBImage.pngText(folder + "/fox.png", key: "parameters"))
        #expect(parameters.contains("Device: gpu ("), "\(parameters)")
    }

    @Test(arguments: [("gpu:9", "no Vulkan device 9"), ("tpu", "--device 'tpu'")])
    func unusableDevicesExitTwo(device: String, says: String) throws {
        let folder = try TestSupport.temporaryFolder("generate-bad-device")
        let result = try TestSupport.run(binary, ["generate", "--model", model, "--prompt", "a fox", "--steps", "1", "--size", "16x16",
                                                  "--device", device, "--output", folder + "/x.png"])
        #expect(result.status == 2 && result.stderr.contains(says), "\(result.status) \(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder + "/x.png"))
    }

    @Test func theGPUComputesInFP32Only() throws {
        let folder = try TestSupport.temporaryFolder("generate-gpu-bf16")
        let result = try TestSupport.run(binary, ["generate", "--model", model, "--prompt", "a fox", "--steps", "1", "--size", "16x16",
                                                  "--device", "gpu:0", "--precision", "bf16", "--output", folder + "/x.png"])
        #expect(result.status == 2 && result.stderr.contains("fp32"), "\(result.status) \(result.stderr)")
    }

    @Test func modelsListsTheVulkanDevices() throws {
        let result = try TestSupport.run(binary, ["models"])
        #expect(result.status == 0 && result.stdout.contains("vulkan:"), "\(result.stdout)")
        #expect(result.stdout.contains("gpu:0"), "\(result.stdout)")
    }
}
