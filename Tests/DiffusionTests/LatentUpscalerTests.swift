import Diffusion
import Foundation
import Neural
import TestSupport
import Testing

/// The x2 latent upscaler against diffusers (build_fixtures.py x2-upscaler): a tiny random-weight
/// StableDiffusionLatentUpscalePipeline shaped like stabilityai/sd-x2-latent-upscaler.
@Suite struct LatentUpscalerTests {
    static let expected = Result { try SafeTensorsFile(path: PipelineTests.folder("x2-upscaler.safetensors")) }

    static func worst(_ a: Tensor, _ b: Tensor) -> Float {
        a.shape == b.shape ? zip(a.storage, b.storage).map { abs($0 - $1) }.max() ?? 0 : .infinity
    }

    @Test func unetMatchesDiffusers() throws {
        let expected = try Self.expected.get()
        let unet = try UpscalerUNet(folder: PipelineTests.folder("tiny-x2-upscaler") + "/unet")
        let output = try unet(try expected.tensor("unet.sample"), timestep: try expected.tensor("unet.timestep").storage[0],
                              context: try expected.tensor("unet.context"), condition: try expected.tensor("unet.condition"))
        let reference = try expected.tensor("unet.output")
        let scale = reference.storage.map { abs($0) }.max()!
        let worst = Self.worst(output, reference)
        #expect(output.shape == [2, 5, 16, 24])
        #expect(worst <= 1e-4 * max(1, scale), "UNet output differs by up to \(worst) (largest value \(scale))")
    }
}
