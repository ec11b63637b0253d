import Diffusion
import CPUBackend
import Foundation
import Neural
import TestSupport
import Testing

/// The VAE decoder against diffusers' AutoencoderKL on a tiny random model (build_fixtures.py vae).
@Suite struct VAEDecoderTests {
    static let folder = TestSupport.repositoryRoot + "/Tests/Fixtures/vae/tiny-sd"

    @Test(arguments: TestBackend.allCases)
    func decodesLikeDiffusers(on backend: TestBackend) throws {
        let decoder = try VAEDecoder(folder: Self.folder, backend: try backend.get())
        let expected = try SafeTensorsFile(path: Self.folder + "/expected.safetensors")
        let image = try decoder.decode(latents: try expected.tensor("latents").onCPU).host()
        let reference = try expected.tensor("image")
        #expect(image.shape == [1, 3, 16, 16] && image.shape == reference.shape)
        let worst = zip(image.storage, reference.storage).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst <= 1e-4, "max difference \(worst)")
        // As 8-bit pixels (x/2 + 0.5, clamped), the mean difference is far below one level.
        let meanPixel = zip(image.storage, reference.storage).map { abs(min(max($0 / 2 + 0.5, 0), 1) - min(max($1 / 2 + 0.5, 0), 1)) * 255 }
            .reduce(0, +) / Float(image.count)
        #expect(meanPixel < 1 / 255)
    }

    @Test func aBrokenWeightsFileIsNamed() throws {
        let folder = try TestSupport.temporaryFolder("broken-vae")
        try FileManager.default.copyItem(atPath: Self.folder + "/config.json", toPath: folder + "/config.json")
        try SafeTensorsWriter.write([("decoder.conv_in.weight", HostTensor(zeros: [64, 4, 1, 1]))], to: folder + "/diffusion_pytorch_model.safetensors")
        do {
            _ = try VAEDecoder(folder: folder, backend: CPUBackend.shared)
            Issue.record("accepted a decoder with a wrong conv_in shape")
        } catch {
            #expect("\(error)".contains("decoder.conv_in.weight"))
        }
        #expect(throws: DiffusionError.self) { try VAEDecoder(folder: folder + "/nothing-here", backend: CPUBackend.shared) }
    }
}
