import Foundation
import Imaging

/// What the pixels say, in the words stock buyers search with: orientation, dominant colours,
/// brightness, copy space (a plain third of the frame for text) and isolated-on-white. Read
/// from a 96-px thumbnail, which libvips makes from a 6K JPEG with shrink-on-load.
public struct ImageAnalysis: Sendable, Codable, Equatable {
    public var orientation: String
    /// Colour names covering at least 12 % of the picture, largest first.
    public var colors: [String]
    /// Mean luminance, 0 (black) to 1 (white).
    public var brightness: Double
    /// Sides whose third of the frame is plain ("left", "right", "top", "bottom").
    public var copySpace: [String]
    public var isolatedOnWhite: Bool

    /// The analysis as keywords.
    public var keywords: [String] {
        var words = [orientation] + colors
        if brightness < 0.3 { words += ["dark", "low key"] } else if brightness > 0.75 { words += ["bright", "high key"] }
        if !copySpace.isEmpty { words.append("copy space") }
        if isolatedOnWhite { words += ["isolated", "white background"] }
        return words
    }

    public static func analyze(_ path: String) throws -> ImageAnalysis {
        let info = try ImageInfo.read(path)
        return analyze(try Thumbnails.rgb(path, size: 96), width: info.width, height: info.height)
    }

    /// From a small RGB copy; `width`/`height` are the full image's (for the orientation).
    public static func analyze(_ image: RGBImage, width: Int, height: Int) -> ImageAnalysis {
        let ratio = Double(width) / Double(max(1, height))
        let orientation = ratio > 1.05 ? "horizontal" : (ratio < 0.95 ? "vertical" : "square")
        let w = image.width, h = image.height, count = w * h
        var luma = [Double](repeating: 0, count: count)
        var colourCounts: [String: Int] = [:]
        for i in 0..<count {
            let r = Double(image.pixels[i * 3]) / 255, g = Double(image.pixels[i * 3 + 1]) / 255, b = Double(image.pixels[i * 3 + 2]) / 255
            luma[i] = 0.2126 * r + 0.7152 * g + 0.0722 * b
            colourCounts[colourName(r, g, b), default: 0] += 1
        }
        let colours = colourCounts.filter { Double($0.value) >= 0.12 * Double(count) }.sorted { $0.value > $1.value }.map(\.key)
        let brightness = luma.reduce(0, +) / Double(max(1, count))
        return ImageAnalysis(orientation: orientation, colors: colours, brightness: brightness,
                             copySpace: plainThirds(luma, width: w, height: h), isolatedOnWhite: whiteBorder(luma, width: w, height: h))
    }

    static func colourName(_ r: Double, _ g: Double, _ b: Double) -> String {
        let maximum = max(r, g, b), minimum = min(r, g, b), delta = maximum - minimum
        let saturation = maximum == 0 ? 0 : delta / maximum, value = maximum
        if saturation < 0.18 || delta < 0.08 { return value > 0.85 ? "white" : (value < 0.2 ? "black" : "gray") }
        var hue: Double
        if maximum == r { hue = 60 * ((g - b) / delta) } else if maximum == g { hue = 60 * ((b - r) / delta + 2) } else { hue = 60 * ((r - g) / delta + 4) }
        if hue < 0 { hue += 360 }
        if value < 0.2 { return "black" }
        switch hue {
        case ..<15, 345...: return value < 0.55 ? "brown" : "red"
        case 15..<45: return value < 0.6 ? "brown" : "orange"
        case 45..<70: return "yellow"
        case 70..<165: return "green"
        case 165..<200: return "turquoise"
        case 200..<260: return "blue"
        case 260..<300: return "purple"
        default: return "pink"
        }
    }

    /// Sides whose third of the frame has almost no detail: its mean gradient is under a quarter
    /// of the whole image's and under 2 % of full scale.
    static func plainThirds(_ luma: [Double], width w: Int, height h: Int) -> [String] {
        guard w >= 6, h >= 6 else { return [] }
        var gradient = [Double](repeating: 0, count: w * h)
        for y in 0..<(h - 1) { for x in 0..<(w - 1) {
            gradient[y * w + x] = abs(luma[y * w + x + 1] - luma[y * w + x]) + abs(luma[(y + 1) * w + x] - luma[y * w + x])
        } }
        func mean(_ xs: Range<Int>, _ ys: Range<Int>) -> Double {
            var sum = 0.0
            for y in ys { for x in xs { sum += gradient[y * w + x] } }
            return sum / Double(max(1, xs.count * ys.count))
        }
        let overall = mean(0..<(w - 1), 0..<(h - 1))
        let thirds: [(String, Range<Int>, Range<Int>)] = [
            ("left", 0..<(w / 3), 0..<(h - 1)), ("right", (2 * w / 3)..<(w - 1), 0..<(h - 1)),
            ("top", 0..<(w - 1), 0..<(h / 3)), ("bottom", 0..<(w - 1), (2 * h / 3)..<(h - 1)),
        ]
        return thirds.filter { let m = mean($0.1, $0.2); return m < 0.02 && m < 0.25 * overall }.map(\.0)
    }

    /// A white, even frame around the subject: the outer 6 % ring is bright and flat.
    static func whiteBorder(_ luma: [Double], width w: Int, height h: Int) -> Bool {
        let ring = max(1, min(w, h) * 6 / 100)
        var values: [Double] = []
        for y in 0..<h { for x in 0..<w where x < ring || y < ring || x >= w - ring || y >= h - ring { values.append(luma[y * w + x]) } }
        let mean = values.reduce(0, +) / Double(max(1, values.count))
        let spread = (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(1, values.count))).squareRoot()
        return mean > 0.93 && spread < 0.04
    }
}
