import CDNNL
@testable import CPUBackend
import Neural
import TestSupport
import Testing

/// Convolutions on images big enough for the Winograd kernels, run in one band of rows and in
/// many (forced small bands: middle bands with no padding, a shorter last band), against torch.
/// Band size is process-wide; other tests running meanwhile stay correct, only banded otherwise.
@Suite(.serialized) struct ConvolutionBandTests {
    let file: SafeTensorsFile
    let image: HostTensor
    init() throws {
        file = try SafeTensorsFile(path: TestSupport.repositoryRoot + "/Tests/Fixtures/neural/large_conv.safetensors")
        var generator = TorchGenerator(seed: 21)
        image = generator.randn(shape: [1, 8, 130, 128])
    }

    /// Bytes per band: the default (one band here), 64 KiB (16 rows, a 2-row last band), 4 KiB
    /// (one output row per band).
    @Test(arguments: [0, 64 << 10, 4 << 10])
    func bandsMatchTorch(bandBytes: Int) throws {
        sw_dnnl_set_conv_band_bytes(Int64(bandBytes))
        defer { sw_dnnl_set_conv_band_bytes(0) }
        let cpu = CPUBackend.shared
        let weight = try file.tensor("weight"), bias = try file.tensor("bias")
        let same = try cpu.prepareConvolution(weight: weight, bias: bias, stride: 1, padding: 1, paddingEnd: 1)
        #expect(worst(try cpu.conv2d(cpu.tensor(image), same).host(), try file.tensor("same")) <= 1e-4)
        #expect(worst(try Convolution.conv2d(image, weight: weight, bias: bias, padding: 1), try file.tensor("same")) <= 1e-4)
        // A batch of two (bands span both images: the UNet's guided batch).
        let pair = try cpu.concat([cpu.tensor(image), cpu.tensor(image)], axis: 0)
        let expectedPair = try cpu.concat([cpu.tensor(try file.tensor("same")), cpu.tensor(try file.tensor("same"))], axis: 0).host()
        #expect(worst(try cpu.conv2d(pair, same).host(), expectedPair) <= 1e-4)
        let downsample = try cpu.prepareConvolution(weight: weight, bias: bias, stride: 2, padding: 0, paddingEnd: 1)
        #expect(worst(try cpu.conv2d(cpu.tensor(image), downsample).host(), try file.tensor("downsampled")) <= 1e-4)

        // A residual added in the same pass; also with 3 outputs (the first three of torch's 8),
        // which oneDNN may write in the plain layout (the residual is then copied, not reordered).
        var generator = TorchGenerator(seed: 23)
        for outputs in [8, 3] {
            func first(_ x: HostTensor, axis: Int) throws -> HostTensor { try cpu.slice(cpu.tensor(x), axis: axis, range: 0..<outputs).host() }
            let expected = try first(try file.tensor("same"), axis: 1)
            let residual = generator.randn(shape: expected.shape)
            let conv = try cpu.prepareConvolution(weight: try first(weight, axis: 0), bias: try first(bias, axis: 0), stride: 1, padding: 1, paddingEnd: 1)
            let sum = try cpu.conv2d(cpu.tensor(image), conv, adding: cpu.tensor(residual)).host()
            #expect(worst(sum, HostTensor(shape: expected.shape, storage: zip(expected.storage, residual.storage).map(+))) <= 1e-4, "\(outputs) outputs")
        }
        #expect(throws: NeuralError.self) { try cpu.conv2d(cpu.tensor(image), same, adding: cpu.tensor(HostTensor(zeros: [1, 8, 4, 4]))) }
    }
}
