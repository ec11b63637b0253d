@testable import Diffusion
import CPUBackend
import Foundation
import Neural
import TestSupport
import Testing

/// Tiled VAE decode and encode against the whole-image pass on the tiny random VAE.
@Suite struct VAETilingTests {
    static let folder = TestSupport.repositoryRoot + "/Tests/Fixtures/pipelines/tiny-sd1/vae"
    /// 16-latent tiles overlapping by 4 over a 40×40 latent: a 3×3 grid of tiles.
    static let tiling = VAETiling(tileSize: 16, overlap: 4, wholeUpTo: 16)

    /// Mean absolute step between neighbouring columns x-1 and x (all channels and rows).
    static func columnStep(_ t: Tensor, at x: Int) -> Float {
        let (c, h, w) = (t.shape[1], t.shape[2], t.shape[3])
        var sum: Float = 0
        for ch in 0..<c { for y in 0..<h { sum += abs(t.storage[(ch * h + y) * w + x] - t.storage[(ch * h + y) * w + x - 1]) } }
        return sum / Float(c * h)
    }

    @Test(arguments: TestBackend.allCases)
    func tiledDecodeIsCloseToWholeAndShowsNoSeam(on backend: TestBackend) throws {
        let decoder = try VAEDecoder(folder: Self.folder, backend: try backend.get())
        var generator = TorchGenerator(seed: 7)
        let latents = generator.randn(shape: [1, 4, 40, 40]).onCPU
        let whole = try decoder.decode(latents: latents)
        let tiled = try decoder.decode(latents: latents, tiling: Self.tiling)
        #expect(tiled.shape == whole.shape)
        let differences = zip(tiled.storage, whole.storage).map { abs($0 - $1) }
        let mean = differences.reduce(0, +) / Float(differences.count)
        let range = (whole.storage.max()! - whole.storage.min()!)
        // Tiles normalise and attend within themselves: a small difference, stated in docs/upscaling.md.
        #expect(mean < 0.02 * range, "mean difference \(mean), image range \(range)")
        // Seams: tile edges (in pixels: scale 2, origins 0, 12, 24 latent) must not step more than
        // the whole image steps there, nor more than the tiled image steps elsewhere.
        let scale = decoder.scaleFactor
        let edges = [12, 16, 24, 28].map { $0 * scale }
        var ratios: [Float] = []
        for x in edges { ratios.append(Self.columnStep(tiled, at: x) / Self.columnStep(whole, at: x)) }
        // Measured: mean 0.064 of a 4.6 range (1.4 %), max 0.55; edge steps 0.99–1.03× the whole image's.
        #expect(ratios.allSatisfy { $0 > 0.9 && $0 < 1.1 }, "\(ratios)")
        // Small latents are decoded whole, exactly as before.
        let small = generator.randn(shape: [1, 4, 12, 12]).onCPU
        #expect(try decoder.decode(latents: small, tiling: Self.tiling).storage == decoder.decode(latents: small).storage)
    }

    /// Blend weights sum to one everywhere: a transform that changes nothing (or enlarges by
    /// nearest neighbour) gives back the whole-image result, dead margins and an uneven last tile included.
    @Test(arguments: [(VAETiling(tileSize: 16, overlap: 4, wholeUpTo: 8), 1), (VAETiling(tileSize: 12, overlap: 6, wholeUpTo: 8, margin: 2), 2)])
    func blendingAnIdentityGivesTheInputBack(tiling: VAETiling, scale: Int) throws {
        let backend = CPUBackend()
        var generator = TorchGenerator(seed: 3)
        let input = backend.tensor(generator.randn(count: 2 * 41 * 37), shape: [1, 2, 41, 37])
        let enlarge = { (x: Tensor) in try backend.resize(x, height: x.shape[2] * scale, width: x.shape[3] * scale, mode: .nearest) }
        let tiled = try tiling.apply(input, inputScale: 1, outputScale: scale, enlarge)
        let whole = try enlarge(input)
        #expect(tiled.shape == whole.shape)
        let worst = zip(try tiled.host().storage, try whole.host().storage).map { abs($0 - $1) }.max()!
        #expect(worst < 1e-5, "largest difference \(worst)")
    }

    /// On a GPU, whole images and tiles are kept to a quarter of its memory at SD's measured 2.6 kB
    /// a pixel: 8 GB decodes SDXL's 1024² in 512-px tiles, 2 GB in 256-px tiles, 24 GB whole.
    @Test func tilesFitTheDevicesMemory() {
        let standard = VAETiling.standard, gigabyte: UInt64 = 1 << 30
        #expect(standard.fitting(deviceMemory: nil, bytesPerPixel: 2560, scale: 8) == standard)
        #expect(standard.fitting(deviceMemory: 24 * gigabyte, bytesPerPixel: 2560, scale: 8) == standard)
        #expect(standard.fitting(deviceMemory: 12 * gigabyte, bytesPerPixel: 2560, scale: 8) == standard)
        #expect(standard.fitting(deviceMemory: 8 * gigabyte, bytesPerPixel: 2560, scale: 8) == VAETiling(tileSize: 64, overlap: 16, wholeUpTo: 64))
        #expect(standard.fitting(deviceMemory: 2 * gigabyte, bytesPerPixel: 2560, scale: 8) == VAETiling(tileSize: 32, overlap: 8, wholeUpTo: 32))
    }

    @Test(arguments: TestBackend.allCases)
    func tiledEncodeIsCloseToWhole(on backend: TestBackend) throws {
        let encoder = try VAEEncoder(folder: Self.folder, backend: try backend.get())
        var generator = TorchGenerator(seed: 9)
        // A smooth image in [-1, 1] (tiling matters most on real, smooth content).
        let (h, w) = (80, 80)
        var pixels = [Float](repeating: 0, count: 3 * h * w)
        for c in 0..<3 { for y in 0..<h { for x in 0..<w { pixels[(c * h + y) * w + x] = sin(Float(x + 7 * c) / 9) * cos(Float(y) / 13) } } }
        let noise = generator.randn(count: pixels.count)
        let image = Tensor(shape: [1, 3, h, w], storage: zip(pixels, noise).map { $0 + 0.05 * $1 })
        let whole = try encoder.encode(image)
        // The tiny VAE's tiles are 64 px (32 latent, overlap 8): the encoder's group norms and
        // attention see a tile, not the image, so the moments differ more than the decoder's
        // pixels; measured 0.050 against a mean |latent| of 0.342 (16-latent tiles: 0.22).
        let tiled = try encoder.encode(image, tiling: VAETiling(tileSize: 32, overlap: 8, wholeUpTo: 16))
        #expect(tiled.mean.shape == whole.mean.shape && tiled.logVariance.shape == whole.logVariance.shape)
        let difference = zip(tiled.mean.storage, whole.mean.storage).map { abs($0 - $1) }.reduce(0, +) / Float(whole.mean.count)
        let meanAbs = whole.mean.storage.map(abs).reduce(0, +) / Float(whole.mean.count)
        #expect(difference < 0.2 * meanAbs, "mean difference \(difference), mean |latent| \(meanAbs)")
    }
}
