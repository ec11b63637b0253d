import Foundation
import Imaging
import TestSupport
import Testing

@Suite struct FinisherTests {
    @Test func enlargesToExactLongEdgeAndConvertsToSRGB() throws {
        let folder = try TestSupport.temporaryFolder("finish")
        let source = folder + "/p3.png"
        try TestImages.write(width: 600, height: 400, to: source, profile: .p3)
        #expect(try ImageInfo.read(source).colorSpace == "display-p3")

        let output = folder + "/out.jpg"
        let settings = FinishSettings(target: .longEdge(1536), enlargeInterpolator: .nohalo)
        let result = try Finisher.finish(source: source, destination: output, settings: settings)
        #expect(result.width == 1536 && result.height == 1024)
        #expect(abs(result.scale - 2.56) < 1e-9)

        let info = try ImageInfo.read(output)
        #expect(info.format == .jpeg)
        #expect(info.width == 1536 && info.height == 1024)
        #expect(info.colorSpace == "srgb")
        #expect(info.iccDescription?.lowercased().contains("srgb") == true)
        // The picture survived: not flat, not black.
        let stats = try ImageStatistics.meanAndDeviation(of: output)
        #expect(stats.mean > 60 && stats.mean < 200)
        #expect(stats.deviation > 20)
        // ExifTool agrees on size, profile and optimized coding (no temp file left behind).
        let tags = try TestSupport.exiftool(output, ["-ImageWidth", "-ImageHeight", "-ProfileDescription"])
        #expect(tags["File:ImageWidth"] as? Int == 1536)
        #expect((tags["ICC_Profile:ProfileDescription"] as? String)?.contains("sRGB") == true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).sorted() == ["out.jpg", "p3.png"])
    }

    @Test func shrinksWithKernelToExactSize() throws {
        let folder = try TestSupport.temporaryFolder("shrink")
        let source = folder + "/big.jpg"
        try TestImages.write(width: 2001, height: 1000, to: source)
        let output = folder + "/small.jpg"
        let result = try Finisher.finish(source: source, destination: output,
                                         settings: FinishSettings(target: .longEdge(800), sharpen: nil, quality: 85, chromaSubsampling: .on))
        #expect(result.width == 800 && result.height == 400)
        let info = try ImageInfo.read(output)
        #expect(info.width == 800 && info.height == 400)
    }

    @Test func megapixelTargetKeepsAspect() throws {
        let folder = try TestSupport.temporaryFolder("mp")
        let source = folder + "/src.png"
        try TestImages.write(width: 1000, height: 500, to: source)
        let result = try Finisher.finish(source: source, destination: folder + "/out.jpg", settings: FinishSettings(target: .megapixels(4)))
        let megapixels = Double(result.width * result.height) / 1_000_000
        #expect(abs(megapixels - 4) < 0.01)
        #expect(abs(Double(result.width) / Double(result.height) - 2) < 0.002)
    }

    @Test func refusesEnlargementBeyondTheLimitAndWritesNothing() throws {
        let folder = try TestSupport.temporaryFolder("limit")
        let source = folder + "/tiny.png"
        try TestImages.write(width: 300, height: 200, to: source)
        let output = folder + "/out.jpg"
        #expect(throws: ImagingError.self) {
            try Finisher.finish(source: source, destination: output, settings: FinishSettings(target: .longEdge(6144), maxEnlargement: 8))
        }
        do {
            try Finisher.finish(source: source, destination: output, settings: FinishSettings(target: .longEdge(6144), maxEnlargement: 8))
        } catch let error as ImagingError {
            #expect(error.description.contains("20.48×"))
            #expect(error.hint.contains("max_enlargement"))
        }
        #expect(!FileManager.default.fileExists(atPath: output))
    }

    @Test func unreadableFileGivesClearError() throws {
        let folder = try TestSupport.temporaryFolder("bad")
        let path = folder + "/broken.jpg"
        try Data([0xFF, 0xD8, 0xFF, 0xE0, 0x00]).write(to: URL(fileURLWithPath: path))
        #expect(throws: ImagingError.self) { try ImageInfo.read(path) }
    }
}
