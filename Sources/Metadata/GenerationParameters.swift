import Foundation

/// How an image was generated, complete enough to make it again (`stockwerk rerun`). Stored as
/// our JSON in XMP (stockwerk:Generation) and as AUTOMATIC1111's "parameters" text in EXIF
/// UserComment, the form most image browsers and prompt tools read.
public struct GenerationParameters: Codable, Sendable, Equatable {
    public var prompt: String
    public var negativePrompt: String
    public var seed: UInt64
    public var steps: Int
    /// Stockwerk's sampler id (`dpmpp-2m-karras`, …).
    public var sampler: String
    public var guidance: Double
    public var width: Int
    public var height: Int
    /// The model's preset name, or its file or folder name.
    public var model: String
    /// AUTOMATIC1111's "AutoV2" hash: the first 10 hex digits of the weights file's SHA-256.
    public var modelHash: String
    /// Where the model was loaded from when the image was made (a path on that machine).
    public var modelPath: String?
    /// Prediction type forced on the model (SD 2.x single files), if any.
    public var prediction: String?
    /// The hires refine pass that followed (A1111's "hires fix"), if any.
    public var hires: Hires?
    /// The engine's precision when not fp32: "bf16", or which op kinds ran in bf16
    /// ("bf16 linear + fp32 convolution"). Part of what makes the pixels.
    public var precision: String?
    /// Another VAE than the model's: its file or folder name and A1111's VAE hash (the first 10
    /// hex digits of its weights file's SHA-256).
    public var vae: String?
    public var vaeHash: String?
    /// Read from another tool's A1111 text: the settings Stockwerk does not apply (extensions,
    /// Clip skip, Eta, …), as written, and `RNG: GPU` when the text names no noise source (A1111
    /// draws its noise on the GPU unless it says otherwise). nil for Stockwerk's own parameters.
    public var otherSettings: [String: String]?
    /// A1111's Clip skip when not 1.
    public var clipSkip: Int?
    /// The GPU that made the image ("gpu (NAME)"); nil: the CPU.
    public var device: String?

    /// How a GPU is recorded: "gpu (NAME)", commas left out (A1111's settings line is comma-separated).
    public static func deviceName(_ name: String) -> String { "gpu (" + name.replacingOccurrences(of: ",", with: ";") + ")" }
    /// SDXL's refiner, when the base handed over to one (A1111's "Refiner" and "Refiner switch at").
    public var refiner: Refiner?

    /// The refiner that ran the last steps: its name and A1111 hash, where it was loaded from,
    /// and the fraction of the steps the base ran before handing over.
    public struct Refiner: Codable, Sendable, Equatable {
        public var model: String
        public var modelHash: String
        public var modelPath: String?
        public var switchAt: Double

        public init(model: String, modelHash: String, modelPath: String? = nil, switchAt: Double) {
            self.model = model; self.modelHash = modelHash; self.modelPath = modelPath; self.switchAt = switchAt
        }
    }

    /// A second, img2img pass over the enlarged first result.
    public struct Hires: Codable, Sendable, Equatable {
        /// Stockwerk's enlargement id: `bicubic-antialiased`, `nearest-exact`, … or `pixel`.
        public var upscaler: String
        public var factor: Double
        public var steps: Int
        public var strength: Double
        /// The pass's sampler when it differs from the first pass's.
        public var sampler: String?
        /// VAE tiles (latent pixels) when not the standard 64 overlapping by 16.
        public var tileSize: Int?, tileOverlap: Int?
        /// A pass with its own model (the x2 latent upscaler): its name, hash and where it was.
        public var model: String?, modelHash: String?, modelPath: String?
        /// That model's guidance scale.
        public var guidance: Double?

        public init(upscaler: String, factor: Double, steps: Int, strength: Double, sampler: String? = nil, tileSize: Int? = nil, tileOverlap: Int? = nil,
                    model: String? = nil, modelHash: String? = nil, modelPath: String? = nil, guidance: Double? = nil) {
            self.upscaler = upscaler; self.factor = factor; self.steps = steps; self.strength = strength; self.sampler = sampler
            self.tileSize = tileSize; self.tileOverlap = tileOverlap
            self.model = model; self.modelHash = modelHash; self.modelPath = modelPath; self.guidance = guidance
        }

        /// A1111's names for the latent upscalers; our pixel pass and the x2 upscaler model have no A1111 twin.
        static let a1111Upscalers = ["nearest-exact": "Latent (nearest-exact)", "bilinear": "Latent", "bilinear-antialiased": "Latent (antialiased)",
                                     "bicubic": "Latent (bicubic)", "bicubic-antialiased": "Latent (bicubic antialiased)", "pixel": "Stockwerk pixel (bicubic)",
                                     "x2-upscaler": "SD x2 latent upscaler"]
    }

    public init(prompt: String, negativePrompt: String = "", seed: UInt64, steps: Int, sampler: String, guidance: Double,
                width: Int, height: Int, model: String, modelHash: String, modelPath: String? = nil, prediction: String? = nil, precision: String? = nil) {
        self.prompt = prompt; self.negativePrompt = negativePrompt; self.seed = seed; self.steps = steps
        self.sampler = sampler; self.guidance = guidance; self.width = width; self.height = height
        self.model = model; self.modelHash = modelHash; self.modelPath = modelPath; self.prediction = prediction
        self.precision = precision
    }

    /// Our sampler ids and AUTOMATIC1111's names for the same samplers.
    static let a1111Samplers = ["ddim": "DDIM", "euler": "Euler", "euler-a": "Euler a", "dpmpp-2m": "DPM++ 2M",
                                "dpmpp-2m-karras": "DPM++ 2M Karras", "lcm": "LCM"]

    /// The JSON we keep in XMP (sorted keys: the same parameters give the same bytes).
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    public static func fromJSON(_ text: String) -> GenerationParameters? {
        try? JSONDecoder().decode(GenerationParameters.self, from: Data(text.utf8))
    }

    /// AUTOMATIC1111's text: the prompt, `Negative prompt: …`, then one line of `Key: value` pairs.
    public var a1111Text: String {
        var lines = [prompt]
        if !negativePrompt.isEmpty { lines.append("Negative prompt: " + negativePrompt) }
        let cfg = guidance == guidance.rounded() ? String(Int(guidance)) : String(guidance)
        lines.append("Steps: \(steps), Sampler: \(Self.a1111Samplers[sampler] ?? sampler), CFG scale: \(cfg), Seed: \(seed), "
                     + "Size: \(width)x\(height), Model hash: \(modelHash), Model: \(model)"
                     + (vaeHash.map { ", VAE hash: \($0)" } ?? "") + (vae.map { ", VAE: \($0)" } ?? "") + (clipSkip.map { ", Clip skip: \($0)" } ?? "") + refinerText + hiresText
                     + (precision.map { ", Precision: \($0)" } ?? "") + (device.map { ", Device: \($0)" } ?? "") + ", RNG: CPU")
        return lines.joined(separator: "\n")
    }

    /// A1111's refiner keys: "Refiner: name [hash], Refiner switch at: 0.8".
    var refinerText: String {
        guard let refiner else { return "" }
        return ", Refiner: \(refiner.model) [\(refiner.modelHash)], Refiner switch at: \(refiner.switchAt)"
    }

    /// A1111's hires keys, appended to the settings line.
    var hiresText: String {
        guard let hires else { return "" }
        func number(_ value: Double) -> String { value == value.rounded() ? String(Int(value)) : String(value) }
        var text = ", Denoising strength: \(number(hires.strength)), Hires upscale: \(number(hires.factor)), Hires steps: \(hires.steps), "
            + "Hires upscaler: \(Hires.a1111Upscalers[hires.upscaler] ?? hires.upscaler)"
        if let sampler = hires.sampler { text += ", Hires sampler: \(Self.a1111Samplers[sampler] ?? sampler)" }
        // A1111's keys for a hires pass with another checkpoint and its own CFG scale.
        if let model = hires.model { text += ", Hires checkpoint: \(model)" + (hires.modelHash.map { " [\($0)]" } ?? "") }
        if let guidance = hires.guidance { text += ", Hires CFG Scale: \(number(guidance))" }
        return text
    }

    /// The A1111 keys `fromA1111` takes in (or that change nothing: Version, hashes it lists).
    static let a1111KeysRead: Set<String> = ["Steps", "Sampler", "Schedule type", "CFG scale", "Seed", "Size", "Model hash", "Model", "Precision",
                                             "VAE", "VAE hash", "Denoising strength", "Version", "Lora hashes", "Clip skip",
                                             "Refiner", "Refiner switch at", "Device"]

    /// Reads AUTOMATIC1111's text (ours, or one written by A1111, Forge or similar tools).
    /// Returns nil when the settings line lacks steps, sampler, CFG scale, seed or size.
    public static func fromA1111(_ text: String) -> GenerationParameters? {
        var lines = text.components(separatedBy: "\n")
        guard let settingsIndex = lines.lastIndex(where: { $0.hasPrefix("Steps: ") }) else { return nil }
        let settings = lines[settingsIndex]
        lines.removeSubrange(settingsIndex...)
        var negative = ""
        if let index = lines.firstIndex(where: { $0.hasPrefix("Negative prompt: ") }) {
            negative = ([String(lines[index].dropFirst("Negative prompt: ".count))] + lines[(index + 1)...]).joined(separator: "\n")
            lines.removeSubrange(index...)
        }
        var values: [String: String] = [:]
        for pair in settings.components(separatedBy: ", ") {
            guard let colon = pair.range(of: ": ") else { continue }
            values[String(pair[..<colon.lowerBound])] = String(pair[colon.upperBound...])
        }
        let size = values["Size"]?.split(separator: "x").compactMap { Int($0) } ?? []
        let samplerName = values["Sampler"].map { name in values["Schedule type"] == "Karras" && !name.hasSuffix("Karras") ? name + " Karras" : name }
        guard let steps = values["Steps"].flatMap(Int.init), let samplerName, let guidance = values["CFG scale"].flatMap(Double.init),
              let seed = values["Seed"].flatMap(UInt64.init), size.count == 2 else { return nil }
        let sampler = a1111Samplers.first { $0.value == samplerName }?.key ?? samplerName
        var parameters = GenerationParameters(prompt: lines.joined(separator: "\n"), negativePrompt: negative, seed: seed, steps: steps, sampler: sampler,
                                              guidance: guidance, width: size[0], height: size[1], model: values["Model"] ?? "",
                                              modelHash: values["Model hash"] ?? "")
        parameters.precision = values["Precision"]
        parameters.device = values["Device"]
        (parameters.vae, parameters.vaeHash) = (values["VAE"], values["VAE hash"])
        parameters.clipSkip = values["Clip skip"].flatMap(Int.init).flatMap { $0 == 1 ? nil : $0 }
        if let named = values["Refiner"], let switchAt = values["Refiner switch at"].flatMap(Double.init) {
            let (name, hash) = nameAndHash(named)
            parameters.refiner = Refiner(model: name, modelHash: hash ?? "", switchAt: switchAt)
        }
        var other = values.filter { !Self.a1111KeysRead.contains($0.key) && !$0.key.hasPrefix("Hires ") }
        if values["RNG"] == "CPU" { other["RNG"] = nil } else if values["RNG"] == nil { other["RNG"] = "GPU" }
        parameters.otherSettings = other.isEmpty ? nil : other
        // A1111 omits Hires steps when they equal the first pass's steps.
        if let factor = values["Hires upscale"].flatMap(Double.init), let strength = values["Denoising strength"].flatMap(Double.init) {
            let upscalerName = values["Hires upscaler"] ?? "Latent"
            let upscaler = Hires.a1111Upscalers.first { $0.value == upscalerName }?.key ?? upscalerName
            let hiresSampler = values["Hires sampler"].map { name in a1111Samplers.first { $0.value == name }?.key ?? name }
            parameters.hires = Hires(upscaler: upscaler, factor: factor, steps: values["Hires steps"].flatMap(Int.init) ?? steps, strength: strength,
                                     sampler: hiresSampler, guidance: values["Hires CFG Scale"].flatMap(Double.init))
            if let checkpoint = values["Hires checkpoint"], checkpoint != "Use same checkpoint" {
                let (name, hash) = nameAndHash(checkpoint)
                parameters.hires?.model = name
                parameters.hires?.modelHash = hash
            }
        }
        return parameters
    }

    /// "name [hash]", as A1111 writes its checkpoints; the hash is nil when there is none.
    static func nameAndHash(_ text: String) -> (name: String, hash: String?) {
        guard text.hasSuffix("]"), let open = text.lastIndex(of: "[") else { return (text, nil) }
        return (text[..<open].trimmingCharacters(in: .whitespaces), String(text[text.index(after: open)..<text.index(before: text.endIndex)]))
    }
}
