// Release-build benchmark for the finish and metadata stages (see docs/benchmarks.md and
// Tools/bench/bench.sh, which runs ImageMagick and ExifTool on the same inputs in the same run).
import Foundation
import Imaging
import Metadata

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("error: \(message)\nusage: stockwerk-bench finish OUT_DIR [bicubic|nohalo|lbb] [sharpen|nosharpen] FILES… | metadata FILES…\n".utf8))
    exit(2)
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard let mode = arguments.first else { fail("no mode given") }
let start = Date()
var count = 0

switch mode {
case "finish":
    guard arguments.count >= 5, let interpolator = FinishSettings.Interpolator(rawValue: arguments[2]) else { fail("bad finish arguments") }
    let folder = arguments[1]
    let settings = FinishSettings(target: .longEdge(6144), enlargeInterpolator: interpolator, maxEnlargement: 64,
                                  sharpen: arguments[3] == "sharpen" ? .mild : nil, quality: 92, chromaSubsampling: .off)
    for (index, file) in arguments.dropFirst(4).enumerated() {
        do {
            try Finisher.finish(source: file, destination: "\(folder)/\(index).jpg", settings: settings)
        } catch { fail("\(error)") }
        count += 1
    }
case "metadata":
    let metadata = StockMetadata(
        title: "Cup of coffee with latte art on a wooden café table",
        description: "A white porcelain cup of coffee with heart latte art on a saucer, on a rustic wooden café table, seen from above.",
        keywords: ["coffee", "latte art", "cup", "cappuccino", "café", "wooden table", "breakfast", "drink", "espresso",
                   "morning", "top view", "saucer", "hot drink", "foam", "barista", "beverage", "caffeine", "table",
                   "rustic", "ceramic", "heart", "aroma", "relax", "break", "warm"],
        creators: ["Zoë Müller"], copyright: "© 2026 Zoë Müller",
        digitalSourceType: .trainedAlgorithmicMedia, software: "Stockwerk")
    for file in arguments.dropFirst() {
        do { try MetadataWriter.write(metadata, source: file, destination: file) } catch { fail("\(error)") }
        count += 1
    }
default:
    fail("unknown mode \(mode)")
}
let seconds = Date().timeIntervalSince(start)
print(String(format: "%@: %d images in %.3f s = %.3f images/s", mode, count, seconds, Double(count) / seconds))
