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
}
