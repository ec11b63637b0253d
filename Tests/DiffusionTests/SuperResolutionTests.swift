import CPUBackend
@testable import Diffusion
import Foundation
import Neural
import TestSupport
import Testing

/// Learned super-resolution against PyTorch (build_upscaler_fixtures.py): RRDBNet in BasicSR's and
/// ESRGAN's original layouts, with Real-ESRGAN's pixel-unshuffle front, and SRVGGNetCompact, at
/// x2 and x4, on tiny random weights under the published key names.
@Suite struct SuperResolutionTests {
    static let folder = TestSupport.repositoryRoot + "/Tests/Fixtures/upscalers/"
    static let models = ["rrdb-x4", "rrdb-x2", "rrdb-x4-esrgan", "rrdb-x2-esrgan", "compact-x4", "compact-x2"]

    @Test(arguments: models, TestBackend.allCases)
    func networksMatchPyTorch(name: String, on backend: TestBackend) throws {
        let model = try SuperResolutionModel(path: Self.folder + name + ".safetensors", backend: try backend.get())
        let expected = try SafeTensorsFile(path: Self.folder + "expected.safetensors")
        let image = try expected.tensor("image"), reference = try expected.tensor(name + ".output")
        let ours = try model.forward(image.onCPU).host()
        #expect(ours.shape == reference.shape && model.scale == (name.contains("x2") ? 2 : 4))
        let worst = zip(ours.storage, reference.storage).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst <= 1e-4, "\(name) on \(backend): differs by up to \(worst)")
        // The reference is not trivial: values spread over the unit range, not clamped flat.
        let spread = (reference.storage.max() ?? 0) - (reference.storage.min() ?? 0)
        #expect(spread > 0.5, "\(name): the reference's values span only \(spread)")
    }

    /// bf16 on a CPU with bf16 products: at most 1.5× as far from the fp32 reference as PyTorch's
    /// own bf16 autocast is (relative L2 error), as for the diffusion pipelines.
    @Test(.enabled(if: CPUBackend.hasBF16MatrixProduct, "this CPU has no bf16 matrix product"), arguments: models)
    func bf16IsWithinOneAndAHalfTimesPyTorchsOwnBF16Error(name: String) throws {
        let model = try SuperResolutionModel(path: Self.folder + name + ".safetensors", backend: CPUBackend(precision: .bf16))
        let expected = try SafeTensorsFile(path: Self.folder + "expected.safetensors")
        let reference = try expected.tensor(name + ".output").storage, theirs = try expected.tensor(name + ".bf16").storage
        let ours = try model.forward(try expected.tensor("image").onCPU).host().storage
        func relative(_ values: [Float]) -> Float {
            let error = zip(values, reference).map { ($0 - $1) * ($0 - $1) }.reduce(0, +), norm = reference.map { $0 * $0 }.reduce(0, +)
            return (error / norm).squareRoot()
        }
        #expect(ours.count == reference.count && relative(ours) > 0 && relative(ours) <= 1.5 * relative(theirs),
                "\(name): relative L2 error \(relative(ours)), PyTorch's bf16 \(relative(theirs))")
    }

    /// The published models' tensor names and shapes (keys/*.json) give their architecture and scale.
    @Test func recognisesPublishedModelsFromTheirKeys() throws {
        func detect(_ name: String) throws -> UpscalerArchitecture {
            let data = try Data(contentsOf: URL(fileURLWithPath: Self.folder + "keys/" + name + ".json"))
            return try UpscalerArchitecture.detect(try JSONDecoder().decode([String: [Int]].self, from: data))
        }
        let rrdb = { (original: Bool, blocks: Int, enlargements: Int, unshuffle: Int) in
            UpscalerArchitecture.rrdb(.init(originalLayout: original, inChannels: 3, outChannels: 3, features: 64, growth: 32, blocks: blocks,
                                            enlargements: enlargements, unshuffle: unshuffle))
        }
        #expect(try detect("RealESRGAN_x4plus") == rrdb(false, 23, 2, 1))
        #expect(try detect("RealESRGAN_x2plus") == rrdb(false, 23, 2, 2))
        #expect(try detect("RealESRGAN_x2plus").scale == 2)
        #expect(try detect("RealESRGAN_x4plus_anime_6B") == rrdb(false, 6, 2, 1))
        #expect(try detect("ESRGAN_SRx4_DF2KOST_official") == rrdb(false, 23, 2, 1))
        #expect(try detect("4x-UltraSharp") == rrdb(true, 23, 2, 1))
        #expect(try detect("4x_NMKD-Siax_200k").scale == 4)
        #expect(try detect("realesr-general-x4v3") == .compact(.init(inChannels: 3, outChannels: 3, features: 64, convolutions: 32, scale: 4)))
        #expect(try detect("realesr-animevideov3") == .compact(.init(inChannels: 3, outChannels: 3, features: 64, convolutions: 16, scale: 4)))
        #expect(try SuperResolutionModel.architecture(of: Self.folder + "rrdb-x2-esrgan.safetensors").scale == 2)
    }

    /// Tiles overlap and are blended: away from the image's border the tiled result is the whole
    /// one within one 8-bit step.
    @Test(arguments: ["rrdb-x4", "compact-x4", "rrdb-x2"])
    func tiledEqualsWhole(name: String) throws {
        let model = try SuperResolutionModel(path: Self.folder + name + ".safetensors", backend: CPUBackend.shared)
        var generator = TorchGenerator(seed: 11)
        let (height, width) = (72, 88)
        let image = Tensor(shape: [1, 3, height, width], storage: generator.randn(count: 3 * height * width).map { min(max($0 * 0.25 + 0.5, 0), 1) })
        let whole = try model.upscale(image, tiles: UpscalerTiling(size: 128, overlap: 0, wholeUpTo: 128)).host()
        let tiled = try model.upscale(image, tiles: UpscalerTiling(size: 48, overlap: 32, wholeUpTo: 32)).host()
        #expect(tiled.shape == whole.shape && tiled.shape == [1, 3, height * model.scale, width * model.scale])
        let border = 8 * model.scale, (h, w) = (tiled.shape[2], tiled.shape[3])
        var worst: Float = 0
        for c in 0..<3 { for y in border..<(h - border) { for x in border..<(w - border) {
            worst = max(worst, abs(tiled.storage[(c * h + y) * w + x] - whole.storage[(c * h + y) * w + x]))
        } } }
        #expect(worst <= 1 / 255, "\(name): tiled differs from whole by up to \(worst * 255) steps of 1/255")
    }

    /// Pickles are refused with the conversion; files of other networks, and broken or mutated
    /// ones, are errors that say what is wrong, never a trap.
    @Test func refusesPicklesAndStrangers() throws {
        #expect(throws: DiffusionError.pickleRefused(path: "/x/4x-UltraSharp.pth")) { try SuperResolutionModel(path: "/x/4x-UltraSharp.pth", backend: CPUBackend.shared) }
        #expect(throws: UpscalerError.self) { try SuperResolutionModel(path: PipelineTests.folder("tiny-sd1.safetensors"), backend: CPUBackend.shared) }
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.folder + "keys/RealESRGAN_x4plus.json"))
        let shapes = try JSONDecoder().decode([String: [Int]].self, from: data)
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            var mutated = shapes
            let key = shapes.keys.randomElement(using: &generator)!
            switch Int.random(in: 0..<3, using: &generator) {
            case 0: mutated[key] = nil
            case 1: mutated[key] = mutated[key]!.map { _ in Int.random(in: 0...70, using: &generator) }
            default: mutated[key] = []
            }
            _ = try? UpscalerArchitecture.detect(mutated)
        }
        var noLast = shapes
        noLast["conv_last.weight"] = nil
        #expect(throws: UpscalerError.self) { try UpscalerArchitecture.detect(noLast) }
    }
}
