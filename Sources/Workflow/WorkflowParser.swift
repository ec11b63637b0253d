import AtomicFiles
import Diffusion
import Foundation
import Neural
import Imaging
import Metadata
import Yams

/// Turns workflow YAML into a `WorkflowSpec`, reporting every problem with file:line:column.
public enum WorkflowParser {
    static let topKeys = ["version", "name", "import", "generate", "describe", "refine", "upscale", "finish", "metadata", "agencies", "checks", "review", "output", "engine"]
    static let refineKeys = ["mode", "upscale", "factor", "strength", "steps", "sampler", "model", "guidance", "tile_size", "tile_overlap"]
    static let generateKeys = ["model", "models_folder", "prompts", "prompt", "negative", "seeds", "seed", "count", "size", "steps",
                               "sampler", "guidance", "wildcards", "max_prompts", "loras", "loras_folder", "vae", "embeddings_folder", "clip_skip", "refiner"]
    static let samplers = ["ddim", "euler", "euler-a", "dpmpp-2m", "dpmpp-2m-karras", "lcm"]
    static let importKeys = ["files", "ai_generated", "sidecars", "embedded_metadata"]
    static let finishKeys = ["long_edge", "megapixels", "shrink_kernel", "enlarge_interpolator", "max_enlargement",
                             "sharpen", "quality", "chroma_subsampling", "progressive"]
    static let sharpenKeys = ["sigma", "threshold", "flat_amount", "amount"]
    static let metadataKeys = ["title", "description", "keywords", "creator", "copyright", "credit", "source", "instructions",
                               "city", "country", "data_mining", "digital_source_type", "categories", "editorial",
                               "keep_camera_exif", "resolution_dpi"]
    /// JPEG can hold at most 65,535 px a side; agencies cap far lower.
    static let maxEdge = 65_000

    public static func parse(file path: String) throws -> WorkflowSpec {
        guard let text = RegularFile.text(atPath: path) else {
            throw WorkflowValidationError(issues: [WorkflowIssue("cannot read the workflow file", file: path, line: 1, column: 1,
                                                                 hint: "check the path; workflows live in Workflows/*.yaml")])
        }
        return try parse(text: text, file: path)
    }

    public static func parse(text: String, file path: String) throws -> WorkflowSpec {
        let reader = YAMLNodeReader(file: path)
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw WorkflowValidationError(issues: [WorkflowIssue("the workflow file is empty", file: path, line: 1, column: 1,
                                                                     hint: "start from Workflows/quickstart.yaml")])
            }
            root = node
        } catch let error as YamlError {
            throw WorkflowValidationError(issues: [yamlSyntaxIssue(error, file: path)])
        }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        func resolve(_ relative: String) -> String {
            relative.hasPrefix("/") ? relative : folder.appendingPathComponent(relative).standardizedFileURL.path
        }

        guard let top = reader.mapping(root, path: "the workflow", allowed: topKeys) else {
            throw WorkflowValidationError(issues: reader.issues)
        }
        if let version = top["version"], let number = reader.int(version.value, path: "version", range: 1...1000), number != 1 {
            reader.issue("workflow version \(number) is not supported", at: version.value, hint: "this Stockwerk reads `version: 1`")
        }
        var name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        if let entry = top["name"], let given = reader.string(entry.value, path: "name") {
            // The name becomes the default output folder's name: one plain folder name, nothing that climbs out.
            if given.contains("/") || given == "." || given == ".." || given.trimmingCharacters(in: .whitespaces).isEmpty
                || given.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                reader.issue("name `\(TerminalText.escaped(given))` is not a plain name (it would place the output outside out/)", at: entry.value,
                             hint: "use words, digits and dashes, e.g. `name: autumn-batch`; set `output:` to choose the folder")
            } else {
                name = given
            }
        }

        var imports: [WorkflowSpec.ImportSource] = []
        if let entry = top["import"] {
            let items: [Node]
            if case .sequence(let list) = entry.value { items = Array(list) } else { items = [entry.value] }
            if items.isEmpty {
                reader.issue("import is an empty list, so there are no images to work on", at: entry.value,
                             hint: "add `files: \"photos/*.jpg\"`, or remove `import:`")
            }
            for (index, item) in items.enumerated() {
                let label = items.count > 1 ? "import[\(index)]" : "import"
                if let source = parseImport(item, path: label, reader: reader, resolve: resolve) { imports.append(source) }
            }
        }
        var generate: WorkflowSpec.GenerateSource?
        if let entry = top["generate"] { generate = parseGenerate(entry.value, at: entry.key, reader: reader, resolve: resolve) }
        if top["import"] == nil, top["generate"] == nil {
            reader.issue("the workflow has no `import` or `generate` section, so there are no images to work on", at: root,
                         hint: "add `import:` with `files: \"photos/*.jpg\"`, or `generate:` with a model and prompts (see docs/workflow.md)")
        }

        var describe: WorkflowSpec.DescribeSettings?
        if let entry = top["describe"] {
            var settings = WorkflowSpec.DescribeSettings(location: location(entry.key))
            if case .scalar = entry.value {
                if reader.bool(entry.value, path: "describe") == false { settings.maxKeywords = 0 }
            } else if let map = reader.mapping(entry.value, path: "describe", allowed: ["max_keywords", "exclude"]) {
                if let value = map["max_keywords"].flatMap({ reader.int($0.value, path: "describe.max_keywords", range: 1...200) }) { settings.maxKeywords = value }
                settings.exclude = map["exclude"].flatMap { reader.strings($0.value, path: "describe.exclude", splitCommas: true) } ?? []
            }
            if settings.maxKeywords != 0 { describe = settings }
        }

        var refine: WorkflowSpec.RefineSettings?
        if let entry = top["refine"] {
            refine = parseRefine(entry.value, location: location(entry.key), reader: reader)
            if generate == nil {
                reader.issue("refine works on generated images, and this workflow generates none", at: entry.key,
                             hint: "add a `generate:` section, or remove `refine:` (imported photos are enlarged by `finish:`)")
            }
        }

        var upscale: WorkflowSpec.UpscaleSettings?
        if let entry = top["upscale"] { upscale = parseUpscale(entry.value, location: location(entry.key), reader: reader) }

        var finish = FinishSettings()
        var finishLocation = WorkflowSpec.Location(line: 1, column: 1)
        if let entry = top["finish"] {
            finishLocation = .init(line: entry.key.mark?.line ?? 1, column: entry.key.mark?.column ?? 1)
            finish = parseFinish(entry.value, reader: reader) ?? finish
        }

        var metadata = WorkflowSpec.MetadataDefaults()
        if let entry = top["metadata"] { metadata = parseMetadata(entry.value, reader: reader) ?? metadata }

        var agencies: [String] = []
        var agencyLocations: [String: WorkflowSpec.Location] = [:]
        if let entry = top["agencies"] {
            let nodes: [Node]
            switch entry.value {
            case .sequence(let list): nodes = Array(list)
            case .scalar: nodes = [entry.value]
            default:
                reader.issue("agencies must be a list of agency names", at: entry.value, hint: "write `agencies: [adobe-stock, shutterstock]`")
                nodes = []
            }
            for node in nodes {
                guard let agency = reader.string(node, path: "agencies[]") else { continue }
                agencies.append(agency)
                agencyLocations[agency] = .init(line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
            }
        }

        var checks = WorkflowSpec.CheckSettings()
        if let entry = top["checks"] { checks = parseChecks(entry.value, agencies: agencies, reader: reader) }
        var review = WorkflowSpec.Review.off
        if let entry = top["review"], let value = reader.choice(entry.value, path: "review", WorkflowSpec.Review.self, cases: [.off, .required]) {
            review = value
        }

        var precision = Precision.fp32, weights = WeightStorage.auto, device = EngineDevice.cpu
        var deviceLocation: WorkflowSpec.Location?
        if let entry = top["engine"], let map = reader.mapping(entry.value, path: "engine", allowed: ["precision", "weights", "device"]) {
            if let value = map["device"], let text = reader.string(value.value, path: "engine.device") {
                deviceLocation = location(value.value)
                if let choice = EngineDevice(text) { device = choice } else {
                    reader.issue("engine.device `\(text)` is not one of \(EngineDevice.choices)", at: value.value, hint: "write e.g. `engine: {device: gpu}`")
                }
            }
            if let value = map["precision"], let choice = reader.choice(value.value, path: "engine.precision", Precision.self, cases: Precision.allCases) {
                precision = choice
            }
            if let value = map["weights"], let choice = reader.choice(value.value, path: "engine.weights", WeightStorage.self, cases: WeightStorage.allCases) {
                weights = choice
            }
            if generate == nil && upscale == nil {
                reader.issue("engine settings apply to generated and learned-upscaled images, and this workflow has neither", at: entry.key,
                             hint: "add a `generate:` or `upscale:` section, or remove `engine:`")
            }
        }

        var output = resolve("out/" + name)
        if let entry = top["output"], let text = reader.string(entry.value, path: "output") {
            if text.trimmingCharacters(in: .whitespaces).isEmpty {
                reader.issue("output is empty", at: entry.value, hint: "name a folder, e.g. `output: out/my-batch`")
            } else {
                output = resolve(text)
            }
        }

        guard reader.issues.isEmpty else { throw WorkflowValidationError(issues: reader.issues) }
        var spec = WorkflowSpec(file: path, name: name, imports: imports, generate: generate, describe: describe, refine: refine, finish: finish, metadata: metadata,
                                agencies: agencies, output: output, finishLocation: finishLocation, agencyLocations: agencyLocations)
        if let entry = top["output"] { spec.outputLocation = location(entry.value) }
        spec.upscale = upscale
        spec.checks = checks
        spec.review = review
        spec.precision = precision
        spec.weights = weights
        spec.device = device
        spec.deviceLocation = deviceLocation
        return spec
    }

    static func yamlSyntaxIssue(_ error: YamlError, file: String) -> WorkflowIssue {
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _):
            let what = [context?.text, problem].compactMap { $0 }.joined(separator: ": ")
            return WorkflowIssue("YAML syntax error: \(what)", file: file, line: mark.line, column: mark.column,
                                 hint: "check indentation (spaces, not tabs) and quotes around text holding `:` or `#`")
        default:
            return WorkflowIssue("YAML error: \(error)", file: file, line: 1, column: 1, hint: "check the file's YAML syntax")
        }
    }

    static func parseImport(_ node: Node, path: String, reader: YAMLNodeReader, resolve: (String) -> String) -> WorkflowSpec.ImportSource? {
        guard let map = reader.mapping(node, path: path, allowed: importKeys) else { return nil }
        guard let files = map["files"] else {
            reader.issue("\(path) needs `files`", at: node, hint: "add `files: \"photos/*.jpg\"` (a glob relative to the workflow file)")
            return nil
        }
        guard let patterns = reader.strings(files.value, path: path + ".files"), !patterns.isEmpty else { return nil }
        return WorkflowSpec.ImportSource(
            patterns: patterns.map(resolve),
            aiGenerated: map["ai_generated"].flatMap { reader.bool($0.value, path: path + ".ai_generated") },
            readSidecars: map["sidecars"].flatMap { reader.bool($0.value, path: path + ".sidecars") } ?? true,
            readEmbeddedMetadata: map["embedded_metadata"].flatMap { reader.bool($0.value, path: path + ".embedded_metadata") } ?? true,
            location: .init(line: files.value.mark?.line ?? 1, column: files.value.mark?.column ?? 1))
    }

    static func location(_ node: Node) -> WorkflowSpec.Location { .init(line: node.mark?.line ?? 1, column: node.mark?.column ?? 1) }

    static func parseGenerate(_ node: Node, at key: Node, reader: YAMLNodeReader, resolve: (String) -> String) -> WorkflowSpec.GenerateSource? {
        guard let map = reader.mapping(node, path: "generate", allowed: generateKeys) else { return nil }
        guard let model = map["model"], let modelName = reader.string(model.value, path: "generate.model") else {
            reader.issue("generate needs `model`", at: node, hint: "name a preset from presets/models/ (e.g. `model: sd15`) or a path to a diffusers folder or .safetensors file")
            return nil
        }
        var prompts: [String] = [], promptLocations: [WorkflowSpec.Location] = []
        if map["prompts"] != nil, map["prompt"] != nil {
            reader.issue("generate has both `prompt` and `prompts`", at: map["prompt"]!.key, hint: "keep one: `prompts` takes a list")
        }
        if let entry = map["prompts"] ?? map["prompt"] {
            let nodes: [Node]
            if case .sequence(let list) = entry.value { nodes = Array(list) } else { nodes = [entry.value] }
            for item in nodes {
                guard let prompt = reader.string(item, path: "generate.prompts[]") else { continue }
                if prompt.trimmingCharacters(in: .whitespaces).isEmpty {
                    reader.issue("a prompt is empty", at: item, hint: "describe the image, e.g. \"a red bicycle against a white wall\"")
                    continue
                }
                prompts.append(prompt)
                promptLocations.append(location(item))
            }
        } else {
            reader.issue("generate needs `prompts`", at: node, hint: "add `prompts: [\"a red bicycle against a white wall\"]`")
        }
        var seeds: [UInt64] = []
        if let entry = map["seeds"] {
            if map["count"] != nil || map["seed"] != nil {
                reader.issue("generate has `seeds` and also `seed`/`count`", at: entry.key, hint: "give a list of seeds, or a first `seed` and a `count`")
            }
            let nodes: [Node]
            if case .sequence(let list) = entry.value { nodes = Array(list) } else { nodes = [entry.value] }
            for item in nodes {
                guard let text = reader.string(item, path: "generate.seeds[]") else { continue }
                guard let seed = UInt64(text) else {
                    reader.issue("seed `\(text)` is not a whole number from 0 to \(UInt64.max)", at: item, hint: "write seeds like `seeds: [1, 2, 3]`")
                    continue
                }
                seeds.append(seed)
            }
        } else {
            let first = map["seed"].flatMap { entry -> UInt64? in
                guard let text = reader.string(entry.value, path: "generate.seed") else { return nil }
                guard let seed = UInt64(text) else {
                    reader.issue("seed `\(text)` is not a whole number from 0 to \(UInt64.max)", at: entry.value, hint: "write e.g. `seed: 1000`")
                    return nil
                }
                return seed
            } ?? 0
            let count = map["count"].flatMap { reader.int($0.value, path: "generate.count", range: 1...100_000) } ?? 1
            if first > UInt64.max - UInt64(count - 1), let entry = map["seed"] {
                // Seeds count up from `seed`; past the largest seed they would wrap to 0, 1, … silently.
                reader.issue("seeds from \(first) counting \(count) would pass the largest seed, \(UInt64.max)", at: entry.value,
                             hint: "start at \(UInt64.max - UInt64(count - 1)) or lower, or give `seeds:` as a list")
            } else {
                seeds = (0..<count).map { first + UInt64($0) }
            }
        }
        var width: Int?, height: Int?
        if let entry = map["size"], let text = reader.string(entry.value, path: "generate.size") {
            if let size = ModelLocator.parseSize(text), [size.width, size.height].allSatisfy({ (8...4096).contains($0) && $0 % 8 == 0 }) {
                width = size.width; height = size.height
            } else {
                reader.issue("generate.size `\(text)` is not WIDTHxHEIGHT in multiples of 8 (8 to 4096)", at: entry.value,
                             hint: "SD 1.x is trained at 512x512, SD 2.1 at 768x768; e.g. `size: 512x768`")
            }
        }
        var sampler: String?
        if let entry = map["sampler"], let text = reader.string(entry.value, path: "generate.sampler") {
            if samplers.contains(text) { sampler = text } else {
                let suggestion = YAMLNodeReader.closest(to: text, in: samplers).map { "did you mean `\($0)`? " } ?? ""
                reader.issue("unknown sampler `\(text)`", at: entry.value, hint: "\(suggestion)samplers: \(samplers.joined(separator: ", "))")
            }
        }
        var loras: [WorkflowSpec.LoRASetting] = []
        if let entry = map["loras"] {
            let nodes: [Node]
            if case .sequence(let list) = entry.value { nodes = Array(list) } else { nodes = [entry.value] }
            for item in nodes {
                if case .mapping = item {
                    guard let fields = reader.mapping(item, path: "generate.loras[]", allowed: ["name", "weight"]) else { continue }
                    guard let name = fields["name"].flatMap({ reader.string($0.value, path: "generate.loras[].name") }), !name.isEmpty else {
                        reader.issue("a LoRA needs a `name`", at: item, hint: "write e.g. `loras: [{name: my-style, weight: 0.8}]`")
                        continue
                    }
                    let weight = fields["weight"].flatMap { reader.double($0.value, path: "generate.loras[].weight", range: -10...10) } ?? 1
                    loras.append(.init(name: name, weight: weight))
                } else if let name = reader.string(item, path: "generate.loras[]"), !name.isEmpty {
                    loras.append(.init(name: name, weight: 1))
                }
            }
        }
        var source = WorkflowSpec.GenerateSource(
            model: modelName, modelsFolder: map["models_folder"].flatMap { reader.string($0.value, path: "generate.models_folder") }.map(resolve),
            prompts: prompts, negativePrompt: map["negative"].flatMap { reader.string($0.value, path: "generate.negative") } ?? "",
            seeds: seeds, width: width, height: height,
            steps: map["steps"].flatMap { reader.int($0.value, path: "generate.steps", range: 1...1000) },
            sampler: sampler, guidance: map["guidance"].flatMap { reader.double($0.value, path: "generate.guidance", range: 0...50) },
            wildcardsFolder: resolve(map["wildcards"].flatMap { reader.string($0.value, path: "generate.wildcards") } ?? "wildcards"),
            maxPrompts: map["max_prompts"].flatMap { reader.int($0.value, path: "generate.max_prompts", range: 1...1_000_000) } ?? 100,
            location: location(key), modelLocation: location(model.value), promptLocations: promptLocations)
        source.loras = loras
        source.lorasFolder = map["loras_folder"].flatMap { reader.string($0.value, path: "generate.loras_folder") }.map(resolve)
        source.clipSkip = map["clip_skip"].flatMap { reader.int($0.value, path: "generate.clip_skip", range: 1...12) }.flatMap { $0 == 1 ? nil : $0 }
        source.embeddingsFolder = map["embeddings_folder"].flatMap { reader.string($0.value, path: "generate.embeddings_folder") }.map(resolve)
        if let entry = map["vae"], let vae = reader.string(entry.value, path: "generate.vae") {
            source.vae = vae
            source.vaeLocation = location(entry.value)
        }
        if let entry = map["refiner"] { source.refiner = parseRefiner(entry.value, reader: reader) }
        return source
    }

    /// `refiner: NAME` or `refiner: {model: NAME, switch_at: 0.8}`.
    static func parseRefiner(_ node: Node, reader: YAMLNodeReader) -> WorkflowSpec.RefinerSetting? {
        if case .mapping = node {
            guard let fields = reader.mapping(node, path: "generate.refiner", allowed: ["model", "switch_at"]) else { return nil }
            guard let model = fields["model"], let name = reader.string(model.value, path: "generate.refiner.model"), !name.isEmpty else {
                reader.issue("the refiner needs a `model`", at: node, hint: "write e.g. `refiner: {model: sdxl-refiner, switch_at: 0.8}`")
                return nil
            }
            let switchAt = fields["switch_at"].flatMap { reader.double($0.value, path: "generate.refiner.switch_at", range: 0.01...0.99) }
            return .init(model: name, switchAt: switchAt ?? WorkflowSpec.RefinerSetting.defaultSwitch, location: location(model.value))
        }
        guard let name = reader.string(node, path: "generate.refiner"), !name.isEmpty else { return nil }
        return .init(model: name, switchAt: WorkflowSpec.RefinerSetting.defaultSwitch, location: location(node))
    }

    static func parseRefine(_ node: Node, location: WorkflowSpec.Location, reader: YAMLNodeReader) -> WorkflowSpec.RefineSettings? {
        guard let map = reader.mapping(node, path: "refine", allowed: refineKeys) else { return nil }
        var settings = WorkflowSpec.RefineSettings(location: location)
        if let entry = map["mode"], let mode = reader.choice(entry.value, path: "refine.mode", WorkflowSpec.RefineSettings.Mode.self,
                                                             cases: WorkflowSpec.RefineSettings.Mode.allCases) {
            settings.mode = mode
        }
        // Each mode's own settings; one that does not apply is a mistake worth naming.
        let x2 = settings.mode == .x2Upscaler
        for key in x2 ? ["upscale", "strength", "sampler"] : ["model", "guidance"] {
            guard let entry = map[key] else { continue }
            reader.issue("refine.\(key) does not apply to mode \(settings.mode.rawValue)", at: entry.key,
                         hint: x2 ? "the x2 upscaler always doubles, draws from noise guided by the small latents, and samples with its own Euler scheduler; remove `\(key)`"
                                  : "`model` and `guidance` belong to `mode: x2-upscaler`; remove `\(key)`")
        }
        if x2, let entry = map["factor"], let value = reader.double(entry.value, path: "refine.factor", range: 1...4), value != 2 {
            reader.issue("refine.factor is \(value), but the x2 upscaler only doubles", at: entry.value,
                         hint: "remove `factor` (it is 2), or use `mode: latent` or `mode: pixel` for other factors; finish enlarges the rest")
        }
        if x2, let entry = map["model"], let value = reader.string(entry.value, path: "refine.model") {
            settings.model = value
            settings.modelLocation = Self.location(entry.value)
        }
        if x2, let entry = map["guidance"], let value = reader.double(entry.value, path: "refine.guidance", range: 0...50) { settings.guidance = value }
        if !x2, let entry = map["upscale"] {
            let latentModes = HiresRefine.Enlargement.allCases.filter { $0 != .pixel }
            if let value = reader.choice(entry.value, path: "refine.upscale", HiresRefine.Enlargement.self, cases: latentModes) { settings.upscale = value.rawValue }
        }
        if !x2, let entry = map["factor"], let value = reader.double(entry.value, path: "refine.factor", range: 1...4) { settings.factor = value }
        if !x2, let entry = map["strength"], let value = reader.double(entry.value, path: "refine.strength", range: 0.01...1) { settings.strength = value }
        if let entry = map["steps"], let value = reader.int(entry.value, path: "refine.steps", range: 1...1000) { settings.steps = value }
        if !x2, let entry = map["sampler"], let value = reader.string(entry.value, path: "refine.sampler") {
            if samplers.contains(value) { settings.sampler = value } else {
                reader.issue("refine.sampler cannot be `\(value)`", at: entry.value, hint: "choose one of \(samplers.joined(separator: ", "))")
            }
        }
        if let entry = map["tile_size"], let value = reader.int(entry.value, path: "refine.tile_size", range: 16...256) { settings.tileSize = value }
        if let entry = map["tile_overlap"], let value = reader.int(entry.value, path: "refine.tile_overlap", range: 0...128) {
            if value * 2 >= settings.tileSize {
                reader.issue("refine.tile_overlap \(value) is half the tile size or more", at: entry.value, hint: "keep it under tile_size / 2 (default 16 of 64)")
            } else { settings.tileOverlap = value }
        }
        return settings
    }

    static func parseUpscale(_ node: Node, location: WorkflowSpec.Location, reader: YAMLNodeReader) -> WorkflowSpec.UpscaleSettings? {
        if node.scalar != nil, let model = reader.string(node, path: "upscale") {  // `upscale: NAME`
            return WorkflowSpec.UpscaleSettings(model: model, location: location, modelLocation: Self.location(node))
        }
        guard let map = reader.mapping(node, path: "upscale", allowed: ["model", "tile_size", "tile_overlap", "redraw"]) else { return nil }
        guard let entry = map["model"], let model = reader.string(entry.value, path: "upscale.model") else {
            reader.issue("upscale needs a model", at: node, hint: "write `upscale: {model: realesr-general-x4v3}` (a .safetensors file, or its name in the models folder's upscalers/)")
            return nil
        }
        var settings = WorkflowSpec.UpscaleSettings(model: model, location: location, modelLocation: Self.location(entry.value))
        if let entry = map["tile_size"], let value = reader.int(entry.value, path: "upscale.tile_size", range: 32...2048) { settings.tileSize = value }
        if let entry = map["tile_overlap"], let value = reader.int(entry.value, path: "upscale.tile_overlap", range: 0...512) {
            if value * 2 >= settings.tileSize {
                reader.issue("upscale.tile_overlap \(value) is half the tile size or more", at: entry.value,
                             hint: "keep it under tile_size / 2 (default \(UpscalerTiling.standard.overlap) of \(UpscalerTiling.standard.size))")
            } else { settings.tileOverlap = value }
        }
        if let entry = map["redraw"] { settings.redraw = parseRedraw(entry.value, location: Self.location(entry.key), reader: reader) }
        return settings
    }

    static func parseChecks(_ node: Node, agencies: [String], reader: YAMLNodeReader) -> WorkflowSpec.CheckSettings {
        var checks = WorkflowSpec.CheckSettings()
        guard let map = reader.mapping(node, path: "checks", allowed: ["soft"]), let entry = map["soft"] else { return checks }
        let gates = WorkflowSpec.CheckSettings.Gate.allCases
        if entry.value.scalar != nil {
            checks.soft = reader.choice(entry.value, path: "checks.soft", WorkflowSpec.CheckSettings.Gate.self, cases: gates)
        } else if let byAgency = reader.mapping(entry.value, path: "checks.soft", allowed: agencies) {  // (only agencies the workflow sends to)
            for (agency, value) in byAgency {
                if let gate = reader.choice(value.value, path: "checks.soft.\(agency)", WorkflowSpec.CheckSettings.Gate.self, cases: gates) {
                    checks.softByAgency[agency] = gate
                }
            }
        }
        return checks
    }

    static func parseRedraw(_ node: Node, location: WorkflowSpec.Location, reader: YAMLNodeReader) -> WorkflowSpec.RedrawSettings? {
        guard let map = reader.mapping(node, path: "upscale.redraw", allowed: ["strength", "steps", "tile", "overlap", "seam_fix"]) else { return nil }
        var settings = WorkflowSpec.RedrawSettings(location: location)
        if let entry = map["strength"], let value = reader.double(entry.value, path: "upscale.redraw.strength", range: 0.01...1) { settings.strength = value }
        if let entry = map["steps"], let value = reader.int(entry.value, path: "upscale.redraw.steps", range: 1...200) { settings.steps = value }
        if let entry = map["seam_fix"], let value = reader.double(entry.value, path: "upscale.redraw.seam_fix", range: 0.01...1) { settings.seamFix = value }
        if let entry = map["tile"], let value = reader.int(entry.value, path: "upscale.redraw.tile", range: 16...4096) {
            if value % 16 == 0 { settings.tile = value } else {
                reader.issue("upscale.redraw.tile \(value) is not a multiple of 16", at: entry.value, hint: "use the model's native size: 512 (SD 1.5), 768 (SD 2), 1024 (SDXL)")
            }
        }
        if let entry = map["overlap"], let value = reader.int(entry.value, path: "upscale.redraw.overlap", range: 0...2048) {
            if value % 8 != 0 || value * 2 > (settings.tile ?? 4096) {
                reader.issue("upscale.redraw.overlap \(value) must be a multiple of 8 and at most half the tile", at: entry.value, hint: "the default is 64")
            } else { settings.overlap = value }
        }
        if let steps = settings.steps, Int(Double(steps) * min(settings.strength, settings.seamFix ?? 1)) < 1 {
            reader.issue("upscale.redraw runs no step: \(steps) steps × strength \(min(settings.strength, settings.seamFix ?? 1)) is under one", at: node,
                         hint: "raise the steps or the strength")
        }
        return settings
    }

    static func parseFinish(_ node: Node, reader: YAMLNodeReader) -> FinishSettings? {
        guard let map = reader.mapping(node, path: "finish", allowed: finishKeys) else { return nil }
        var settings = FinishSettings()
        if let edge = map["long_edge"], let megapixels = map["megapixels"] {
            reader.issue("finish has both long_edge and megapixels", at: megapixels.key,
                         hint: "keep one: long_edge (pixels of the longer side) or megapixels (total size)")
            _ = edge
        } else if let edge = map["long_edge"] {
            if let value = reader.int(edge.value, path: "finish.long_edge", range: 16...maxEdge) { settings.target = .longEdge(value) }
        } else if let megapixels = map["megapixels"] {
            if let value = reader.double(megapixels.value, path: "finish.megapixels", range: 0.01...1000) { settings.target = .megapixels(value) }
        }
        if let entry = map["shrink_kernel"], let value = reader.choice(entry.value, path: "finish.shrink_kernel", FinishSettings.ShrinkKernel.self, cases: FinishSettings.ShrinkKernel.allCases) {
            settings.shrinkKernel = value
        }
        if let entry = map["enlarge_interpolator"], let value = reader.choice(entry.value, path: "finish.enlarge_interpolator", FinishSettings.Interpolator.self, cases: FinishSettings.Interpolator.allCases) {
            settings.enlargeInterpolator = value
        }
        if let entry = map["max_enlargement"], let value = reader.double(entry.value, path: "finish.max_enlargement", range: 1...64) {
            settings.maxEnlargement = value
        }
        if let entry = map["sharpen"] { settings.sharpen = parseSharpen(entry.value, reader: reader) ?? settings.sharpen }
        if let entry = map["quality"], let value = reader.int(entry.value, path: "finish.quality", range: 1...100) { settings.quality = value }
        if let entry = map["chroma_subsampling"], let value = reader.choice(entry.value, path: "finish.chroma_subsampling", FinishSettings.ChromaSubsampling.self, cases: FinishSettings.ChromaSubsampling.allCases) {
            settings.chromaSubsampling = value
        }
        if let entry = map["progressive"], let value = reader.bool(entry.value, path: "finish.progressive") { settings.progressive = value }
        return settings
    }

    /// `sharpen: none | mild | strong` or a mapping of the vips_sharpen parameters.
    static func parseSharpen(_ node: Node, reader: YAMLNodeReader) -> FinishSettings.Sharpen?? {
        if case .scalar(let scalar) = node {
            switch scalar.string {
            case "none", "false", "off": return .some(nil)
            case "mild", "true", "on": return .some(.mild)
            case "strong": return .some(.strong)
            default:
                reader.issue("finish.sharpen cannot be `\(scalar.string)`", at: node,
                             hint: "use none, mild, strong, or a mapping with sigma, threshold, flat_amount, amount")
                return nil
            }
        }
        guard let map = reader.mapping(node, path: "finish.sharpen", allowed: sharpenKeys) else { return nil }
        var sharpen = FinishSettings.Sharpen.mild
        if let entry = map["sigma"], let value = reader.double(entry.value, path: "finish.sharpen.sigma", range: 0.1...10) { sharpen.sigma = value }
        if let entry = map["threshold"], let value = reader.double(entry.value, path: "finish.sharpen.threshold", range: 0...100) { sharpen.threshold = value }
        if let entry = map["flat_amount"], let value = reader.double(entry.value, path: "finish.sharpen.flat_amount", range: 0...10) { sharpen.flatAmount = value }
        if let entry = map["amount"], let value = reader.double(entry.value, path: "finish.sharpen.amount", range: 0...10) { sharpen.amount = value }
        return .some(sharpen)
    }

    static func parseMetadata(_ node: Node, reader: YAMLNodeReader) -> WorkflowSpec.MetadataDefaults? {
        guard let map = reader.mapping(node, path: "metadata", allowed: metadataKeys) else { return nil }
        var defaults = WorkflowSpec.MetadataDefaults()
        defaults.title = map["title"].flatMap { reader.string($0.value, path: "metadata.title") }
        defaults.description = map["description"].flatMap { reader.string($0.value, path: "metadata.description") }
        defaults.keywords = map["keywords"].flatMap { reader.strings($0.value, path: "metadata.keywords", splitCommas: true) } ?? []
        defaults.creators = map["creator"].flatMap { reader.strings($0.value, path: "metadata.creator") } ?? []
        defaults.copyright = map["copyright"].flatMap { reader.string($0.value, path: "metadata.copyright") }
        defaults.credit = map["credit"].flatMap { reader.string($0.value, path: "metadata.credit") }
        defaults.source = map["source"].flatMap { reader.string($0.value, path: "metadata.source") }
        defaults.instructions = map["instructions"].flatMap { reader.string($0.value, path: "metadata.instructions") }
        defaults.city = map["city"].flatMap { reader.string($0.value, path: "metadata.city") }
        defaults.country = map["country"].flatMap { reader.string($0.value, path: "metadata.country") }
        if let entry = map["data_mining"], let value = reader.choice(entry.value, path: "metadata.data_mining", DataMining.self, cases: DataMining.allCases) {
            defaults.dataMining = value
        }
        if let entry = map["digital_source_type"], let value = reader.choice(entry.value, path: "metadata.digital_source_type", WorkflowSpec.DigitalSourceTypeChoice.self, cases: WorkflowSpec.DigitalSourceTypeChoice.allCases) {
            defaults.digitalSourceType = value
        }
        if let entry = map["categories"] {
            if case .mapping(let categories) = entry.value {
                for (key, value) in categories {
                    guard let agency = reader.string(key, path: "metadata.categories") else { continue }
                    if let names = reader.strings(value, path: "metadata.categories.\(agency)") {
                        defaults.categories[agency] = names.joined(separator: ",")
                    }
                }
            } else {
                reader.issue("metadata.categories must map agency names to categories", at: entry.value,
                             hint: "e.g. `categories: {adobe-stock: 11, shutterstock: [Nature, Science]}`")
            }
        }
        if let entry = map["editorial"], let value = reader.bool(entry.value, path: "metadata.editorial") { defaults.editorial = value }
        if let entry = map["keep_camera_exif"], let value = reader.bool(entry.value, path: "metadata.keep_camera_exif") { defaults.keepCameraEXIF = value }
        if let entry = map["resolution_dpi"], let value = reader.int(entry.value, path: "metadata.resolution_dpi", range: 1...10_000) { defaults.resolutionDPI = value }
        return defaults
    }
}
