import Diffusion
import CPUBackend
import Foundation
import Neural
import TestSupport
import Testing

/// The UNet against diffusers' UNet2DConditionModel on tiny random models (build_fixtures.py unet):
/// SD1 layout (convolution projections, one head count) and SD2 layout (linear, per-block heads).
@Suite struct UNetTests {
    @Test(arguments: ["tiny-sd1", "tiny-sd2"], TestBackend.allCases)
    func predictsLikeDiffusers(model: String, on backend: TestBackend) throws {
        let folder = TestSupport.repositoryRoot + "/Tests/Fixtures/unet/" + model
        let unet = try UNet(folder: folder, backend: try backend.get())
        let expected = try SafeTensorsFile(path: folder + "/expected.safetensors")
        let sample = try expected.tensor("sample"), context = try expected.tensor("context")
        let timesteps = try expected.tensor("timesteps").storage, output = try expected.tensor("output")
        let latent = 4 * 8 * 8, tokens = 5 * 24
        for n in 0..<2 {
            let x = Tensor(shape: [1, 4, 8, 8], storage: Array(sample.storage[(n * latent)..<((n + 1) * latent)]))
            let c = Tensor(shape: [5, 24], storage: Array(context.storage[(n * tokens)..<((n + 1) * tokens)]))
            let predicted = try unet(x, timestep: timesteps[n], context: c)
            let reference = output.storage[(n * latent)..<((n + 1) * latent)]
            let worst = zip(predicted.storage, reference).map { abs($0 - $1) }.max() ?? .infinity
            #expect(predicted.shape == [1, 4, 8, 8])
            #expect(worst <= 1e-4, "\(model) on \(backend), sample \(n): max difference \(worst)")
        }
    }
}
