import Foundation
import Imaging
import TestSupport
import Testing

/// The detail figure of an enlargement against a plain bicubic enlargement of the same source,
/// on a real photo (Workflows/samples/rocket.jpg, 640×427).
@Suite struct SharpnessTests {
    static let photo = TestSupport.repositoryRoot + "/Workflows/samples/rocket.jpg"

    func finish(_ source: String, longEdge: Int, sharpen: FinishSettings.Sharpen?, name: String) throws -> (String, FinishSettings) {
        let folder = try TestSupport.temporaryFolder("sharpness")
        var settings = FinishSettings(target: .longEdge(longEdge), maxEnlargement: 64, sharpen: sharpen)
        settings.quality = 92
        let path = folder + "/\(name).jpg"
        try Finisher.finish(source: source, destination: path, settings: settings)
        return (path, settings)
    }

    @Test func plainEnlargementIsSoftAndRealDetailIsNot() throws {
        // A bicubic enlargement ×4 is the reference itself: no added detail.
        let (plain, settings) = try finish(Self.photo, longEdge: 2560, sharpen: nil, name: "plain")
        let soft = try #require(try Sharpness.compare(finished: plain, finishSource: Self.photo, detailSource: Self.photo, settings: settings))
        #expect(abs(soft.ratio - 1) < 0.03 && soft.verdict == .soft && soft.warning?.contains("looks soft") == true, "\(soft)")
        // What an ideal ×2 refine gives: the photo's own detail, judged against its half-size copy.
        let (half, _) = try finish(Self.photo, longEdge: 320, sharpen: nil, name: "half")
        let refined = try #require(try Sharpness.compare(finished: plain, finishSource: Self.photo, detailSource: half, settings: settings))
        #expect(refined.ratio > 2 && abs(refined.pixelRatio - 1) < 0.03 && refined.verdict == .ok, "\(refined)")
        // Heavy sharpening shows at 100 %, against the same enlargement unsharpened; mild does not.
        let (sharp, sharpSettings) = try finish(Self.photo, longEdge: 2560, sharpen: .init(sigma: 2, threshold: 0.5, flatAmount: 3, amount: 5), name: "sharp")
        let over = try #require(try Sharpness.compare(finished: sharp, finishSource: Self.photo, detailSource: Self.photo, settings: sharpSettings))
        #expect(over.pixelRatio > Sharpness.oversharpenedAbove && over.verdict == .oversharpened && over.warning?.contains("over-sharpened") == true, "\(over)")
        let (mildSharp, mildSharpSettings) = try finish(Self.photo, longEdge: 2560, sharpen: .mild, name: "mild-sharp")
        #expect(try Sharpness.compare(finished: mildSharp, finishSource: Self.photo, detailSource: Self.photo, settings: mildSharpSettings)?.verdict != .oversharpened)
        // A shrink is not judged; a mild enlargement (under 2×) is never called soft.
        let (small, smallSettings) = try finish(Self.photo, longEdge: 400, sharpen: nil, name: "small")
        #expect(try Sharpness.compare(finished: small, finishSource: Self.photo, detailSource: Self.photo, settings: smallSettings) == nil)
        let (mild, mildSettings) = try finish(Self.photo, longEdge: 960, sharpen: nil, name: "mild")
        #expect(try Sharpness.compare(finished: mild, finishSource: Self.photo, detailSource: Self.photo, settings: mildSettings)?.verdict == .ok)
    }

    /// The softest region: of the 3×3 crops, the one where the enlargement added least detail.
    /// The photo finished ×4 has its own detail everywhere against its half-size copy; blurring one
    /// corner of it makes that corner the softest region.
    @Test func theSoftestRegionIsWhereDetailIsMissing() throws {
        let (plain, settings) = try finish(Self.photo, longEdge: 2560, sharpen: nil, name: "plain")
        let (half, _) = try finish(Self.photo, longEdge: 320, sharpen: nil, name: "half")
        let sharp = try #require(try Sharpness.compare(finished: plain, finishSource: Self.photo, detailSource: half, settings: settings))
        let everywhere = try #require(sharp.softest)
        #expect(everywhere.ratio > 2 && sharp.scale == 8, "\(sharp)")
        let info = try ImageInfo.read(plain)
        let side = everywhere.side
        for (corner, left, top) in [("top-left", 0, 0), ("bottom-right", (info.width - side) / 16 * 16, (info.height - side) / 16 * 16)] {
            let blurred = URL(fileURLWithPath: plain).deletingLastPathComponent().path + "/blurred-\(corner).jpg"
            let result = try TestSupport.run("convert", [plain, "-region", "\(side)x\(side)+\(left)+\(top)", "-blur", "0x6", "-quality", "92", blurred])
            #expect(result.status == 0, "\(result.stderr)")
            let report = try #require(try Sharpness.compare(finished: blurred, finishSource: Self.photo, detailSource: half, settings: settings))
            let softest = try #require(report.softest)
            #expect(softest.left == left && softest.top == top && softest.ratio < 1, "\(corner): \(report)")
        }
    }
}
