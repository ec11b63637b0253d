import Foundation
import Imaging
import Keywording
import TestSupport
import Testing

/// The pixel analysis on images made to have one property each.
@Suite struct ImageAnalysisTests {
    func image(_ width: Int, _ height: Int, _ pixel: (Int, Int) -> (UInt8, UInt8, UInt8)) -> RGBImage {
        var pixels: [UInt8] = []
        for y in 0..<height { for x in 0..<width { let (r, g, b) = pixel(x, y); pixels += [r, g, b] } }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    @Test func findsCopySpaceColoursBrightnessAndIsolation() throws {
        // Left half plain sky blue, right half busy stripes: copy space on the left.
        let sky = image(96, 64) { x, y in x < 48 ? (90, 150, 230) : (((x + y) % 4 < 2) ? (20, 120, 40) : (230, 230, 60)) }
        let a = ImageAnalysis.analyze(sky, width: 6144, height: 4096)
        #expect(a.orientation == "horizontal" && a.copySpace.contains("left") && !a.copySpace.contains("right"), "\(a)")
        #expect(a.colors.first == "blue" && a.keywords.contains("copy space"))

        // A red square on white: isolated on white, red and white.
        let product = image(64, 96) { x, y in (20..<44).contains(x) && (30..<66).contains(y) ? (210, 30, 30) : (255, 255, 255) }
        let b = ImageAnalysis.analyze(product, width: 4000, height: 6000)
        #expect(b.orientation == "vertical" && b.isolatedOnWhite && b.colors.contains("red") && b.colors.contains("white"), "\(b)")
        #expect(b.keywords.contains("isolated") && b.keywords.contains("white background"))

        // A night scene: dark, not isolated, no copy space claimed for busy noise.
        var state: UInt32 = 7
        let night = image(64, 64) { _, _ in state = state &* 1_103_515_245 &+ 12345; let v = UInt8(truncatingIfNeeded: (state >> 16) % 60); return (v, v, v + 10) }
        let c = ImageAnalysis.analyze(night, width: 3000, height: 3000)
        #expect(c.orientation == "square" && c.brightness < 0.3 && c.keywords.contains("low key") && !c.isolatedOnWhite && c.copySpace.isEmpty, "\(c)")
    }

    @Test func analysesAFileThroughItsThumbnail() throws {
        let analysis = try ImageAnalysis.analyze(TestSupport.repositoryRoot + "/Workflows/samples/hubble_deep_field.jpg")
        #expect(analysis.orientation == "horizontal" && analysis.colors.first == "black" && analysis.brightness < 0.3)
    }
}
