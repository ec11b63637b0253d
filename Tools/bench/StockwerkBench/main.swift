// Release-build benchmark for the finish and metadata stages (see docs/benchmarks.md and
// Tools/bench/bench.sh, which runs ImageMagick and ExifTool on the same inputs in the same run).
import Agencies
import Diffusion
import Foundation
import Keywording
import Imaging
import Metadata
import Neural
import Workflow

/// A full-size UNet of `configJSON` with random weights, `steps` guided steps (batch 2) at
/// `size`² pixels, each timed; SDXL's added conditioning when the config has it.
func guidedUNetSteps(_ configJSON: String, name: String, steps: Int, size: Int) throws {
    let config = try JSONDecoder().decode(UNetConfig.self, from: Data(configJSON.utf8))
    let built = Date()
    let unet = try UNet(randomWeights: config, roundedToHalf: halfWeights, backend: engine)
    print(String(format: "built random %@ UNet in %.1f s", name, Date().timeIntervalSince(built)))
    var generator = TorchGenerator(seed: 0)
    let latent = engine.tensor(generator.randn(shape: [2, 4, size / 8, size / 8]))
    let context = engine.tensor(generator.randn(shape: [2, 77, config.crossAttentionDim]))
    let ids: [Float] = [Float(size), Float(size), 0, 0, Float(size), Float(size)]
    let pooled = config.projectionClassEmbeddingsInputDim - ids.count * config.additionTimeEmbedDim
    let added = config.additionEmbedType == nil ? nil
        : AddedConditioning(textEmbeds: engine.tensor(generator.randn(shape: [2, pooled])), timeIds: [ids, ids])
    for step in 0..<steps {
        let begin = Date()
        let out = try unet(latent, timestep: Float(999 - step * 50), context: context, added: added)
        print(String(format: "guided step %d at %dx%d: %.2f s (output %@)", step + 1, size, size, Date().timeIntervalSince(begin), "\(out.shape)"))
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("error: \(message)\nusage: stockwerk-bench finish OUT_DIR [bicubic|nohalo|lbb] [sharpen|nosharpen] FILES… | metadata FILES…\n".utf8))
    exit(2)
}

let arguments = Array(CommandLine.arguments.dropFirst())
/// STOCKWERK_PRECISION=auto|fp32|bf16 picks the engine's precision (fp32 when unset);
/// STOCKWERK_WEIGHTS=16-bit makes random weights fp16 values (as an fp16 checkpoint's) kept in 16 bits.
let halfWeights = ProcessInfo.processInfo.environment["STOCKWERK_WEIGHTS"] == "16-bit"
let engine = EngineBackend.backend(EngineBackend.resolve(Precision(rawValue: ProcessInfo.processInfo.environment["STOCKWERK_PRECISION"] ?? "fp32") ?? .fp32),
                                   halfWeights: halfWeights)
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
    // The full field set of docs/benchmarks.md, the same values bench.sh gives ExifTool, written
    // to every file as one batch (header read, image data copied in the kernel, one flush).
    var metadata = StockMetadata(
        title: "Cup of coffee with latte art on a wooden café table",
        description: "A white porcelain cup of coffee with heart latte art on a saucer, on a rustic wooden café table, seen from above.",
        keywords: ["coffee", "latte art", "cup", "cappuccino", "café", "wooden table", "breakfast", "drink", "espresso",
                   "morning", "top view", "saucer", "hot drink", "foam", "barista", "beverage", "caffeine", "table",
                   "rustic", "ceramic", "heart", "aroma", "relax", "break", "warm"],
        creators: ["Zoë Müller"], copyright: "© 2026 Zoë Müller",
        digitalSourceType: .trainedAlgorithmicMedia, software: "Stockwerk")
    metadata.credit = "Zoë Müller / Stockwerk"
    metadata.source = "Stockwerk"
    metadata.city = "Zürich"
    metadata.country = "Schweiz"
    metadata.dateCreated = "2026-11-25T08:30:00+01:00"
    metadata.aiSystem = "Stockwerk Stable Diffusion engine, model sd15"
    metadata.aiPrompt = "cup of coffee with latte art, wooden table, top view"
    let files = Array(arguments.dropFirst())
    do { _ = try MetadataWriter.write(files.map { (metadata, $0, $0) }) } catch { fail("\(error)") }
    count = files.count
case "keyword":
    // keyword PRESETS_FOLDER FILES…: metadata + pixels + text per image, the model loaded once (not
    // timed). Each file is timed on its first touch: a second decode would hit libvips' cache.
    guard arguments.count >= 3 else { fail("usage: keyword PRESETS_FOLDER FILES…") }
    do {
        let keyworder = try FileDescriber.keyworder(presetsFolder: arguments[1])
        _ = try keyworder.describeText(KeywordSource(prompt: "warm-up: first-call allocations"))
        var times: [Double] = []
        for file in arguments.dropFirst(2) {
            let start = Date()
            let (result, metadata) = try FileDescriber.describe(file, keyworder: keyworder)
            times.append(Date().timeIntervalSince(start))
            // The text part alone, for the breakdown (no cache involved).
            let textStart = Date()
            _ = try keyworder.describeText(KeywordSource(title: metadata.title, description: metadata.description, keywords: Array(metadata.keywords.prefix(25))))
            let text = Date().timeIntervalSince(textStart)
            print(String(format: "%@: %.0f ms (text alone %.0f ms), %d keywords", (file as NSString).lastPathComponent, times.last! * 1000,
                         text * 1000, result.keywords.count))
        }
        let sorted = times.sorted()
        print(String(format: "median %.0f ms, max %.0f ms over %d images", sorted[sorted.count / 2] * 1000, sorted.last! * 1000, sorted.count))
        count = times.count
    } catch { fail("\(error)") }
case "keywording-eval":
    // keywording-eval MODEL_FOLDER PRESETS_KEYWORDS EVALUATION_JSON: precision@10 / recall@25, ours vs baseline.
    guard arguments.count == 4 || (arguments.count == 5 && arguments[4] == "--cases") else {
        fail("usage: keywording-eval MODEL_FOLDER PRESETS_KEYWORDS_FOLDER EVALUATION_JSON [--cases]")
    }
    do {
        let keyworder = Keyworder(vocabulary: try KeywordVocabulary(folder: arguments[2]), encoder: try SentenceEncoder(folder: arguments[1], backend: engine))
        let cases = try KeywordEvaluation.load(arguments[3])
        let start = Date()
        let (ours, baseline) = try KeywordEvaluation.run(cases, keyworder: keyworder)
        print(String(format: "%d cases in %.2f s", cases.count, Date().timeIntervalSince(start)))
        print(String(format: "stockwerk: precision@10 %.3f  recall@25 %.3f", ours.precisionAt10, ours.recallAt25))
        print(String(format: "baseline:  precision@10 %.3f  recall@25 %.3f", baseline.precisionAt10, baseline.recallAt25))
        // --cases: every case's first ten, the editor's words marked with *, then what was missed.
        if arguments.count == 5 {
            for item in cases {
                let forms = keyworder.vocabulary.wordForms
                let gold = Set(item.keywords.map(forms.normalized))
                let top = try keyworder.describe(KeywordSource(prompt: item.text)).keywords.prefix(25).map(forms.normalized)
                let marked = top.prefix(10).map { gold.contains($0) ? "*" + $0 : $0 }
                let missed = gold.subtracting(top).sorted()
                print("\(item.text)\n  top10: \(marked.joined(separator: ", "))\n  missed@25: \(missed.joined(separator: ", "))")
            }
        }
        for item in cases.prefix(3) {
            let result = try keyworder.describe(KeywordSource(prompt: item.text))
            print("\n\(item.text)\n  title: \(result.title)\n  description: \(result.description)\n  keywords: \(result.keywords.prefix(25).joined(separator: ", "))")
        }
    } catch { fail("\(error)") }
    count = 1
case "sgemm":
    // sgemm N REPEATS: square single-precision matrix products (a linear layer without bias) on the backend.
    guard arguments.count == 3, let n = Int(arguments[1]), let repeats = Int(arguments[2]) else { fail("usage: sgemm N REPEATS") }
    var generator = TorchGenerator(seed: 0)
    let backend = engine
    let a = backend.tensor(generator.randn(shape: [n, n]))
    let layer = try! Linear(backend: backend, weight: generator.randn(shape: [n, n]), bias: nil)
    func product() { _ = try! layer(a) }
    product()  // warm-up: thread start, page faults
    var rates: [Double] = []
    for _ in 0..<repeats {
        let begin = Date()
        product()
        rates.append(2 * pow(Double(n), 3) / Date().timeIntervalSince(begin) / 1e9)
    }
    rates.sort()
    print(String(format: "sgemm %d: median %.1f GFLOP/s, best %.1f (%d runs)", n, rates[rates.count / 2], rates.last!, repeats))
    exit(0)
case "linear-shapes":
    // The projection shapes of a 77-token text encoder, timed one by one.
    var generator = TorchGenerator(seed: 0)
    let backend = engine
    for (m, n, k) in [(77, 768, 768), (77, 3072, 768), (77, 768, 3072), (77, 2304, 768)] {
        let x = backend.tensor(generator.randn(shape: [m, k]))
        let layer = try! Linear(backend: backend, weight: generator.randn(shape: [n, k]), bias: generator.randn(shape: [n]))
        _ = try! layer(x)
        let begin = Date()
        for _ in 0..<200 { _ = try! layer(x) }
        let seconds = Date().timeIntervalSince(begin) / 200
        print(String(format: "linear %dx%dx%d: %.3f ms, %.1f GFLOP/s", m, n, k, seconds * 1000, 2 * Double(m * n * k) / seconds / 1e9))
    }
    let q = backend.tensor(generator.randn(shape: [77, 12 * 64]))
    _ = try! backend.attention(query: q, key: q, value: q, heads: 12, causal: true)
    let begin = Date()
    for _ in 0..<200 { _ = try! backend.attention(query: q, key: q, value: q, heads: 12, causal: true) }
    print(String(format: "attention 12x77x64 causal: %.3f ms", Date().timeIntervalSince(begin) / 200 * 1000))
    let x = backend.tensor(generator.randn(shape: [77, 3072]))
    let beginGELU = Date()
    for _ in 0..<200 { _ = try! backend.activation(x, .quickGELU) }
    print(String(format: "quick-GELU 77x3072: %.3f ms", Date().timeIntervalSince(beginGELU) / 200 * 1000))
    exit(0)
case "attention-4096":
    // SD 1.5's largest self-attention (64×64 latent = 4096 tokens, 8 heads × 40): time and, with
    // /usr/bin/time, peak memory. The full score matrix alone would be 8 × 4096² × 4 B = 537 MB.
    var generator = TorchGenerator(seed: 0)
    let backend = engine
    let q = backend.tensor(generator.randn(shape: [4096, 8 * 40]))
    let begin = Date()
    let out = try! backend.attention(query: q, key: q, value: q, heads: 8, causal: false)
    print(String(format: "attention 8x4096x40: %.0f ms, output %d values", Date().timeIntervalSince(begin) * 1000, out.count))
    exit(0)
case "unet-step":
    // unet-step STEPS [SIZE]: full-size SD 1.5 UNet (random weights), guided steps (batch 2) at SIZE² pixels.
    guard arguments.count >= 2, let steps = Int(arguments[1]) else { fail("usage: unet-step STEPS [SIZE]") }
    let size = arguments.count > 2 ? Int(arguments[2]) ?? 512 : 512
    do { try guidedUNetSteps(StableDiffusionModel.sd15UNet, name: "SD 1.5", steps: steps, size: size) } catch { fail("\(error)") }
    exit(0)
case "sdxl-unet-step":
    // sdxl-unet-step STEPS [SIZE]: full-size SDXL base UNet (random weights), guided steps (batch 2) at SIZE² pixels,
    // with SDXL's added conditioning (pooled text embeds and six time ids per sample).
    guard arguments.count >= 2, let steps = Int(arguments[1]) else { fail("usage: sdxl-unet-step STEPS [SIZE]") }
    let size = arguments.count > 2 ? Int(arguments[2]) ?? 1024 : 1024
    do { try guidedUNetSteps(StableDiffusionModel.sdxlUNet, name: "SDXL", steps: steps, size: size) } catch { fail("\(error)") }
    exit(0)
case "pipeline":
    // pipeline STEPS: the whole txt2img pipeline, full-size SD 1.5 (random weights), 512x512,
    // guidance 7.5, DDIM: per-step seconds and VAE decode time; run under /usr/bin/time for peak RSS.
    guard arguments.count == 2, let steps = Int(arguments[1]) else { fail("usage: pipeline STEPS") }
    do {
        let built = Date()
        let model = try StableDiffusionModel(randomSD15WithMerges: "presets/clip/bpe_simple_vocab_16e6.txt.gz", backend: engine)
        print(String(format: "built random SD 1.5 pipeline in %.1f s", Date().timeIntervalSince(built)))
        let request = GenerationRequest(prompt: "a lighthouse on a cliff at dawn, photo", negativePrompt: "blurry", seed: 0, steps: steps,
                                        guidance: 7.5, sampler: .ddim, width: 512, height: 512)
        let begin = Date()
        var last = begin
        let result = try Pipeline(model: model).generate(request) { done, total in
            print(String(format: "step %d/%d: %.2f s", done, total, Date().timeIntervalSince(last)))
            last = Date()
        }
        print(String(format: "VAE decode and output: %.2f s; whole generate: %.1f s; image %@", Date().timeIntervalSince(last),
                     Date().timeIntervalSince(begin), "\(result.image.shape)"))
    } catch { fail("\(error)") }
    exit(0)
case "upscale-compare":
    // upscale-compare OUT_FOLDER PHOTOS…: each photo finished to 6144 px with every enlarging
    // interpolator, without and with mild sharpening: time, detail against plain bicubic, and a
    // side-by-side PNG of 256-px centre crops at 100 % (plain bicubic | nohalo | lbb | bicubic + mild).
    guard arguments.count >= 3 else { fail("usage: upscale-compare OUT_FOLDER PHOTOS…") }
    do {
        let folder = arguments[1]
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for photo in arguments.dropFirst(2) {
            let stem = ((photo as NSString).lastPathComponent as NSString).deletingPathExtension
            var crops: [RGBImage] = []
            for (interpolator, sharpen) in [(FinishSettings.Interpolator.bicubic, false), (.nohalo, false), (.lbb, false), (.bicubic, true),
                                            (.nohalo, true), (.lbb, true)] {
                var settings = FinishSettings(target: .longEdge(6144))
                settings.maxEnlargement = 64
                settings.enlargeInterpolator = interpolator
                settings.sharpen = sharpen ? .mild : nil
                let out = folder + "/\(stem)-\(interpolator.rawValue)\(sharpen ? "-mild" : "").jpg"
                let begin = Date()
                let result = try Finisher.finish(source: photo, destination: out, settings: settings)
                let seconds = Date().timeIntervalSince(begin)
                let report = try Sharpness.compare(finished: out, finishSource: photo, detailSource: photo, settings: settings)
                print(String(format: "%@ %@%@: %dx%d in %.2f s, detail %.1f (bicubic %.1f) = %.2f×, at 100 %% %.2f× %@", stem, interpolator.rawValue,
                             sharpen ? " + mild" : "", result.width, result.height, seconds, report?.detail ?? 0, report?.bicubicDetail ?? 0,
                             report?.ratio ?? 0, report?.pixelRatio ?? 0, report?.verdict.rawValue ?? "-"))
                if crops.count < 4 && (!sharpen || interpolator == .bicubic) {
                    let full = try RGBImage.read(out)
                    let side = 256, left = (full.width - side) / 2, top = (full.height - side) / 2
                    var pixels: [UInt8] = []
                    for y in top..<(top + side) { pixels += full.pixels[((y * full.width + left) * 3)..<((y * full.width + left + side) * 3)] }
                    crops.append(RGBImage(width: side, height: side, pixels: pixels))
                }
                try? FileManager.default.removeItem(atPath: out)
            }
            // Calibration of the detail figure: (1) an ideal ×2 refine — the photo itself finished,
            // measured against its half-size copy as the source; (2) heavy sharpening.
            let half = folder + "/\(stem)-half.png"
            var halfSettings = FinishSettings(target: .longEdge(3072))
            halfSettings.sharpen = nil
            let original = try ImageInfo.read(photo)
            halfSettings.target = .longEdge(max(original.width, original.height) / 2)
            _ = try Finisher.finish(source: photo, destination: half + ".jpg", settings: FinishSettings(target: halfSettings.target, sharpen: nil, quality: 100))
            for (label, sharpen) in [("ideal x2 refine", nil), ("heavy sharpening", FinishSettings.Sharpen(sigma: 2, threshold: 0.5, flatAmount: 3, amount: 5))] as [(String, FinishSettings.Sharpen?)] {
                var settings = FinishSettings(target: .longEdge(6144))
                settings.maxEnlargement = 64
                settings.sharpen = sharpen
                let out = folder + "/\(stem)-calibration.jpg"
                _ = try Finisher.finish(source: photo, destination: out, settings: settings)
                let report = try Sharpness.compare(finished: out, finishSource: photo, detailSource: sharpen == nil ? half + ".jpg" : photo, settings: settings)
                print(String(format: "%@ %@: detail %.1f (bicubic %.1f) = %.2f×, at 100 %% %.2f× %@", stem, label, report?.detail ?? 0,
                             report?.bicubicDetail ?? 0, report?.ratio ?? 0, report?.pixelRatio ?? 0, report?.verdict.rawValue ?? "-"))
                try? FileManager.default.removeItem(atPath: out)
            }
            try? FileManager.default.removeItem(atPath: half + ".jpg")
            // Side by side with 8-px white gaps.
            let side = 256, gap = 8, width = crops.count * side + (crops.count - 1) * gap
            var joined = [UInt8](repeating: 255, count: width * side * 3)
            for (i, crop) in crops.enumerated() {
                for y in 0..<side {
                    let target = (y * width + i * (side + gap)) * 3
                    joined.replaceSubrange(target..<(target + side * 3), with: crop.pixels[(y * side * 3)..<((y + 1) * side * 3)])
                }
            }
            try RGBImage(width: width, height: side, pixels: joined).write(to: folder + "/\(stem)-crops.png")
        }
    } catch { fail("\(error)") }
    exit(0)
case "x2-upscaler":
    // x2-upscaler FOLDER LOW_RES STEPS: the x2 latent upscaler pipeline (a diffusers folder, e.g.
    // Tools/bench/make_random_x2_upscaler.py's) on random LOW_RES² latents, guidance 0: seconds per
    // step, then the VAE decode; run under /usr/bin/time for peak RSS. Same work as x2_upscaler_reference.py.
    guard arguments.count == 4, let low = Int(arguments[2]), let steps = Int(arguments[3]) else { fail("usage: x2-upscaler FOLDER LOW_RES STEPS") }
    do {
        let built = Date()
        let model = try LatentUpscalerModel(path: arguments[1], backend: engine)
        print(String(format: "stockwerk: loaded the x2 upscaler in %.1f s", Date().timeIntervalSince(built)))
        var generator = TorchGenerator(seed: 0)
        let latents = engine.tensor(generator.randn(shape: [1, 4, low, low]))
        let request = LatentUpscaler.Request(prompt: "a lighthouse on a cliff at dawn, photo", seed: 0, steps: steps, guidance: 0)
        let begin = Date()
        var last = begin
        let result = try LatentUpscaler(model: model).upscale(latents, request) { done, total in
            print(String(format: "stockwerk: step %d/%d at %d² latents: %.2f s", done, total, 2 * low, Date().timeIntervalSince(last)))
            last = Date()
        }
        print(String(format: "stockwerk: VAE decode %@: %.2f s; whole upscale %.1f s", "\(result.image.shape)", Date().timeIntervalSince(last),
                     Date().timeIntervalSince(begin)))
    } catch { fail("\(error)") }
    exit(0)
case "vae-decode":
    // vae-decode SIZE whole|tiled: full-size SD 1.5 VAE (random weights) decoding SIZE×SIZE pixels,
    // whole or in 512-px tiles (VAETiling.standard, tiled whatever the size); run under /usr/bin/time for peak RSS.
    guard arguments.count == 3, let size = Int(arguments[1]), ["whole", "tiled"].contains(arguments[2]) else { fail("usage: vae-decode SIZE whole|tiled") }
    do {
        let decoder = try VAEDecoder(randomSD15Seed: 0, backend: engine)
        var generator = TorchGenerator(seed: 0)
        let latents = engine.tensor(generator.randn(shape: [1, 4, size / 8, size / 8]))
        var tiling = VAETiling.standard
        tiling.wholeUpTo = arguments[2] == "whole" ? Int.max : 0
        let begin = Date()
        let image = try decoder.decode(latents: latents, tiling: tiling)
        print(String(format: "VAE decode %d×%d %@: %.1f s, image %@", size, size, arguments[2], Date().timeIntervalSince(begin), "\(image.shape)"))
    } catch { fail("\(error)") }
    exit(0)
case "text-encoder":
    // text-encoder REPEATS: full-size SD 1.5 text tower (random weights), one 77-token prompt.
    guard arguments.count == 2, let repeats = Int(arguments[1]) else { fail("usage: text-encoder REPEATS") }
    do {
        let encoder = try CLIPTextEncoder.random(config: .sd1, seed: 0, backend: engine)
        let ids = [49406] + (0..<20).map { 320 + $0 } + Array(repeating: 49407, count: 56)
        _ = try encoder.encode(ids)  // warm-up
        var times: [Double] = []
        for _ in 0..<repeats {
            let begin = Date()
            _ = try encoder.encode(ids)
            times.append(Date().timeIntervalSince(begin) * 1000)
        }
        times.sort()
        print(String(format: "text-encoder sd1.5: median %.1f ms, best %.1f ms per prompt (%d runs)", times[times.count / 2], times[0], repeats))
    } catch { fail("\(error)") }
    exit(0)
case "provenance":
    // provenance FILES…: what `check` reads of every file before deciding: its facts (libvips
    // header), metadata and provenance (readEmbedded), and the AI decision. bench-provenance.sh runs
    // `exiftool -j` over the same files in the same run.
    var ai = 0
    for file in arguments.dropFirst() {
        do {
            let info = try ImageInfo.read(file)
            if AIDecision.decide(try readEmbedded(of: file, info: info).provenance, declared: nil).isAI { ai += 1 }
        } catch { fail("\(file): \(error)") }
        count += 1
    }
    FileHandle.standardError.write(Data("provenance: \(ai) of \(count) files AI\n".utf8))
case "upscale":
    // upscale MODEL.safetensors SIZE TILE OVERLAP: a random SIZE² image in [0, 1] through the learned
    // upscaler in TILE-px tiles (Tools/bench/upscaler-compare.sh runs PyTorch on the same tiles).
    guard arguments.count >= 5, let size = Int(arguments[2]), let tile = Int(arguments[3]), let overlap = Int(arguments[4]) else { fail("upscale MODEL SIZE TILE OVERLAP") }
    do {
        let model = try SuperResolutionModel(path: arguments[1], backend: engine)
        var generator = TorchGenerator(seed: 0)
        let image = engine.tensor(HostTensor(shape: [1, 3, size, size], storage: generator.randn(count: 3 * size * size).map { min(max($0 * 0.2 + 0.5, 0), 1) }))
        let begin = Date()
        let out = try model.upscale(image, tiles: UpscalerTiling(size: tile, overlap: overlap, wholeUpTo: tile)).host()
        print(String(format: "stockwerk %@ %@ %d² → %d×%d in %d-px tiles: %.2f s", model.architecture.description, engine.precision.name, size, out.shape[3], out.shape[2], tile,
                     Date().timeIntervalSince(begin)))
    } catch { fail("\(error)") }
default:
    fail("unknown mode \(mode)")
}
let seconds = Date().timeIntervalSince(start)
print(String(format: "%@: %d images in %.3f s = %.3f images/s", mode, count, seconds, Double(count) / seconds))
