import AtomicFiles
import Foundation
import Neural

/// A Stable Diffusion 1.x/2.x or SDXL model, from a diffusers folder (model_index.json,
/// tokenizer/, text_encoder/, [tokenizer_2/, text_encoder_2/,] unet/, vae/, scheduler/) or a
/// single-file original checkpoint in safetensors.
public final class StableDiffusionModel: Sendable {
    public let path: String
    /// Where its tensors live and its ops run.
    public let backend: any Backend
    /// Prompts → what the UNet attends to (and SDXL's pooled text embeds).
    public let text: TextConditioner
    public let unet: UNet
    public let decoder: VAEDecoder
    public let encoder: VAEEncoder
    public let schedulerConfig: SchedulerConfig

    /// Pixels per latent cell: 2^(VAE levels − 1), 8 for every SD 1.x/2.x model.
    public var vaeScaleFactor: Int { 1 << (decoder.config.blockOutChannels.count - 1) }
    /// Image sizes must be multiples of this: the VAE factor (8 on SD), as in diffusers. The UNet
    /// takes latents its downsampling does not divide (520×520, 640×480).
    public var sizeMultiple: Int { vaeScaleFactor }
    /// SDXL: how many time ids the UNet's added conditioning takes: 6 (original size, crop, target
    /// size: the base model) or 5 (original size, crop, aesthetic score: the refiner); nil on SD 1.x/2.x.
    public var addedTimeIDs: Int? {
        guard let pooled = text.pooledWidth, unet.config.additionEmbedType != nil else { return nil }
        return (unet.config.projectionClassEmbeddingsInputDim - pooled) / unet.config.additionTimeEmbedDim
    }

    /// The full-size SD 1.5 architecture with random weights (benchmarks: nothing to download).
    /// The tokenizer is CLIP's standard vocabulary from `clipMerges` (presets/clip/).
    public init(randomSD15WithMerges clipMerges: String, seed: UInt64 = 0, backend: any Backend) throws {
        path = "random SD 1.5"
        self.backend = backend
        func decode<T: Decodable>(_ type: T.Type, _ json: String) throws -> T { try JSONDecoder().decode(type, from: Data(json.utf8)) }
        text = try TextConditioner(towers: [TextTower(tokenizer: CLIPTokenizer.fromCLIPMerges(gzipFile: clipMerges),
                                                      encoder: CLIPTextEncoder.random(config: decode(CLIPTextConfig.self, Self.sd15TextEncoder), seed: seed, backend: backend))],
                                   style: .lastHiddenState, path: path)
        unet = try UNet(randomWeights: decode(UNetConfig.self, Self.sd15UNet), seed: seed, backend: backend)
        let vae = VAEWeights(randomWeights: try decode(VAEConfig.self, Self.sd15VAE), seed: seed)
        decoder = try VAEDecoder(weights: vae, backend: backend)
        encoder = try VAEEncoder(weights: vae, backend: backend)
        schedulerConfig = SchedulerConfig()
    }

    static let sd15TextEncoder = #"{"vocab_size": 49408, "hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12, "num_attention_heads": 12, "max_position_embeddings": 77, "hidden_act": "quick_gelu"}"#
    /// stabilityai/stable-diffusion-xl-base-1.0's unet/config.json (what shapes it has).
    public static let sdxlUNet = #"{"block_out_channels": [320, 640, 1280], "layers_per_block": 2, "attention_head_dim": [5, 10, 20], "cross_attention_dim": 2048, "use_linear_projection": true, "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"], "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"], "transformer_layers_per_block": [1, 2, 10], "addition_embed_type": "text_time", "addition_time_embed_dim": 256, "projection_class_embeddings_input_dim": 2816, "sample_size": 128}"#
    public static let sd15UNet = #"{"block_out_channels": [320, 640, 1280, 1280], "layers_per_block": 2, "attention_head_dim": 8, "cross_attention_dim": 768, "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"], "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"], "sample_size": 64}"#
    static let sd15VAE = #"{"block_out_channels": [128, 256, 512, 512], "layers_per_block": 2, "latent_channels": 4, "scaling_factor": 0.18215}"#

    /// How to read a model. Only single-file checkpoints need more than the path.
    public struct LoadOptions: Sendable, Equatable {
        /// A diffusers folder whose configs (tokenizer/, text_encoder/, unet/, vae/, scheduler/)
        /// describe a single-file checkpoint, like diffusers' `from_single_file(config:)`. When nil,
        /// the configs are inferred from the tensors (SingleFileCheckpoint).
        public var configFolder: String?
        /// CLIP's merges file (presets/clip/bpe_simple_vocab_16e6.txt.gz): the tokenizer of a
        /// single file without `configFolder`.
        public var clipMerges: String?
        /// Overrides the scheduler's prediction type. Needed for SD 2.x single files, whose tensors
        /// do not tell 768-v (v-prediction, the default) from base (epsilon).
        public var prediction: SchedulerConfig.Prediction?
        /// Overrides the scheduler's timestep spacing (SD-Turbo's single file needs `trailing`).
        public var spacing: SchedulerConfig.Spacing?
        /// LoRAs merged into the UNet and text encoders at load, in this order.
        public var loras: [LoRAReference]
        /// Another VAE: a diffusers VAE folder or a .safetensors file (VAEChoice).
        public var vae: String?
        /// Textual-inversion files prompts may name (by file name).
        public var embeddings: [String]

        public init(configFolder: String? = nil, clipMerges: String? = nil, prediction: SchedulerConfig.Prediction? = nil,
                    spacing: SchedulerConfig.Spacing? = nil, loras: [LoRAReference] = [], vae: String? = nil, embeddings: [String] = []) {
            self.configFolder = configFolder
            self.clipMerges = clipMerges
            self.prediction = prediction
            self.spacing = spacing
            self.loras = loras
            self.vae = vae
            self.embeddings = embeddings
        }
    }

    /// Opens a diffusers folder or a single-file `.safetensors` checkpoint.
    public convenience init(path: String, options: LoadOptions = LoadOptions(), backend: any Backend) throws {
        try ModelFiles.refusePickle(path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw DiffusionError.modelFiles(path: path, reason: "no such file or folder")
        }
        let loras = options.loras.isEmpty ? nil : try LoRASet(options.loras)
        let parts = isDirectory.boolValue ? try Self.folderParts(path, loras: loras, backend: backend)
            : try Self.singleFileParts(path, options: options, loras: loras, backend: backend)
        try loras?.checkAllUsed()
        // A VAE folder brings its config, as in diffusers; a single file is read with the model's.
        let vae = try options.vae.map { try VAEChoice.weights($0, replacing: parts.vae.config) } ?? parts.vae
        var scheduler = parts.scheduler
        if let prediction = options.prediction { scheduler.prediction = prediction }
        if let spacing = options.spacing { scheduler.spacing = spacing }
        var text = parts.text
        text.embeddings = try options.embeddings.map(TextualInversion.init(path:))
        try self.init(path: path, text: text, unet: parts.unet, vae: vae, scheduler: scheduler, backend: backend)
    }

    private init(path: String, text: TextConditioner, unet: UNet, vae: VAEWeights, scheduler: SchedulerConfig, backend: any Backend) throws {
        self.path = path
        self.backend = backend
        self.text = text
        self.unet = unet
        decoder = try VAEDecoder(weights: vae, backend: backend)
        encoder = try VAEEncoder(weights: vae, backend: backend)
        schedulerConfig = scheduler
        guard text.contextWidth == unet.config.crossAttentionDim else {
            throw DiffusionError.modelFiles(path: path, reason: "the text encoders give \(text.contextWidth)-wide states but the UNet attends to \(unet.config.crossAttentionDim)")
        }
        guard (text.style == .sdxl) == (unet.config.additionEmbedType != nil) else {
            throw DiffusionError.modelFiles(path: path, reason: text.style == .sdxl ? "SDXL text encoders with a UNet that takes no pooled text embeds"
                                                                                    : "the UNet takes SDXL's added conditioning but the model has no SDXL text encoders")
        }
        if let pooled = text.pooledWidth {
            let rest = unet.config.projectionClassEmbeddingsInputDim - pooled, dim = unet.config.additionTimeEmbedDim
            guard rest > 0, rest % dim == 0, [5, 6].contains(rest / dim) else {
                throw DiffusionError.modelFiles(path: path, reason: "the UNet's add_embedding takes \(unet.config.projectionClassEmbeddingsInputDim) values: \(pooled) pooled text values "
                                                + "leave \(rest), which is not 5 or 6 time ids of \(dim) (SDXL base or refiner)")
            }
        }
        guard unet.config.inChannels == vae.config.latentChannels else {
            throw DiffusionError.modelFiles(path: path, reason: "the UNet takes \(unet.config.inChannels) channels but the VAE makes \(vae.config.latentChannels) (inpainting UNets are not supported)")
        }
    }

    private typealias Parts = (text: TextConditioner, unet: UNet, vae: VAEWeights, scheduler: SchedulerConfig)

    /// What a LoRA may call a UNet weight's module: diffusers' name and the original UNet's (SDXL
    /// LoRAs from kohya-ss use the latter).
    static func unetModuleNames(_ config: UNetConfig) -> @Sendable (String) -> [String] {
        let upAttention = Set(config.upBlockTypes.indices.filter { config.upBlockTypes[$0].hasPrefix("CrossAttn") })
        let layers = config.layersPerBlock
        return { module in
            guard let ldm = CheckpointKeys.unet(module + ".weight", layersPerBlock: layers, upLevelsWithAttention: upAttention) else { return [module] }
            return [module, String(ldm.dropFirst(CheckpointKeys.unetPrefix.count).dropLast(".weight".count))]
        }
    }

    /// A text tower's weight names with or without transformers' `text_model.` level.
    static let textModuleNames: @Sendable (String) -> [String] = { module in
        [module.hasPrefix("text_model.") ? String(module.dropFirst("text_model.".count)) : module]
    }

    private static func folderParts(_ path: String, loras: LoRASet?, backend: any Backend) throws -> Parts {
        let index = path + "/model_index.json"
        guard let data = RegularFile.contents(atPath: index) else {
            throw DiffusionError.modelFiles(path: index, reason: "missing: this is not a diffusers model folder")
        }
        guard let components = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw DiffusionError.modelFiles(path: index, reason: "not valid JSON")
        }
        let pipelineClass = components["_class_name"] as? String ?? "?"
        let sd = ["StableDiffusionPipeline", "StableDiffusionImg2ImgPipeline", "StableDiffusionInpaintPipeline"]
        let sdxl = ["StableDiffusionXLPipeline", "StableDiffusionXLImg2ImgPipeline"]
        guard sd.contains(pipelineClass) || sdxl.contains(pipelineClass) else {
            throw DiffusionError.modelFiles(path: index, reason: "\(pipelineClass) is not a Stable Diffusion 1.x/2.x or SDXL pipeline (SD3, Flux and others are not supported)")
        }
        // A component listed as [null, null] is absent (the SDXL refiner has no first text encoder).
        func present(_ name: String) -> Bool { ((components[name] as? [Any])?.first as? String) != nil }
        let suffixes = sdxl.contains(pipelineClass) ? ["", "_2"].filter { present("text_encoder" + $0) } : [""]
        let towers = try suffixes.map { suffix in
            let component: LoRASet.Component = suffix.isEmpty ? .textEncoder : .textEncoder2
            return TextTower(tokenizer: try CLIPTokenizer.load(folder: path + "/tokenizer" + suffix),
                             encoder: try CLIPTextEncoder(folder: path + "/text_encoder" + suffix, backend: backend,
                                                          adjusting: loras.map { set in { set.adjusting($0, component, moduleNames: textModuleNames) } }))
        }
        let text = try TextConditioner(towers: towers, style: sdxl.contains(pipelineClass) ? .sdxl : .lastHiddenState,
                                       zerosForEmptyNegative: components["force_zeros_for_empty_prompt"] as? Bool ?? sdxl.contains(pipelineClass), path: index)
        let unet = try UNet(folder: path + "/unet", backend: backend,
                            adjusting: loras.map { set in { source, config in set.adjusting(source, .unet, moduleNames: unetModuleNames(config)) } })
        return (text, unet, try VAEWeights(folder: path + "/vae"),
                try SchedulerConfig.load(path + "/scheduler/scheduler_config.json"))
    }

    private static func singleFileParts(_ path: String, options: LoadOptions, loras: LoRASet?, backend: any Backend) throws -> Parts {
        guard path.lowercased().hasSuffix(".safetensors") else {
            throw DiffusionError.modelFiles(path: path, reason: "a model is a diffusers folder or a single .safetensors checkpoint")
        }
        let file = try SafeTensorsFile(path: path)
        let shapes = file.entries.mapValues(\.shape)
        // Without a config folder every config comes from the tensors; with one, only the family.
        let inferred = options.configFolder == nil ? try SingleFileCheckpoint(shapes: shapes, path: path) : nil
        let family = try inferred?.family ?? SingleFileCheckpoint.family(shapes: shapes, path: path)
        // Each text tower's folder suffix in a diffusers layout, and the padding its tokenizer uses
        // (SD 2.x's and SDXL's OpenCLIP pad with "!", id 0; CLIP ViT-L repeats the end token).
        let towers: [(suffix: String, pad: String)]
        switch family {
        case .sd1: towers = [("", CLIPTokenizer.endText)]
        case .sd2: towers = [("", "!")]
        case .sdxl: towers = [("", CLIPTokenizer.endText), ("_2", "!")]
        case .sdxlRefiner: towers = [("_2", "!")]
        }
        let tokenizers: [CLIPTokenizer], scheduler: SchedulerConfig
        // SDXL base conditions an empty negative prompt on zeros; the refiner encodes it.
        var zerosForEmptyNegative = family == .sdxl
        let configs: SingleFileCheckpoint
        if let folder = options.configFolder {
            func read<T: Decodable>(_ type: T.Type, _ name: String) throws -> T {
                guard let data = RegularFile.contents(atPath: folder + "/" + name) else {
                    throw DiffusionError.modelFiles(path: folder + "/" + name, reason: "missing: the config folder must be a diffusers model folder")
                }
                do { return try JSONDecoder().decode(type, from: data) } catch {
                    throw DiffusionError.modelFiles(path: folder + "/" + name, reason: "not a valid config: \(error)")
                }
            }
            let textConfigs = try towers.map { try read(CLIPTextConfig.self, "text_encoder\($0.suffix)/config.json") }
            configs = SingleFileCheckpoint(family: family, textEncoder: textConfigs[0], secondTextEncoder: textConfigs.count > 1 ? textConfigs[1] : nil,
                                           unet: try read(UNetConfig.self, "unet/config.json"), vae: try read(VAEConfig.self, "vae/config.json"))
            tokenizers = try towers.map { try CLIPTokenizer.load(folder: folder + "/tokenizer" + $0.suffix) }
            scheduler = try SchedulerConfig.load(folder + "/scheduler/scheduler_config.json")
            if let data = RegularFile.contents(atPath: folder + "/model_index.json"),
               let index = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let zeros = index["force_zeros_for_empty_prompt"] as? Bool {
                zerosForEmptyNegative = zeros
            }
        } else {
            guard let merges = options.clipMerges else {
                throw DiffusionError.modelFiles(path: path, reason: "a single-file checkpoint needs CLIP's merges file (presets/clip/) or a config folder")
            }
            configs = try inferred ?? SingleFileCheckpoint(shapes: shapes, path: path)
            tokenizers = try towers.map { try CLIPTokenizer.fromCLIPMerges(gzipFile: merges, padToken: $0.pad) }
            scheduler = SchedulerConfig(prediction: family == .sd2 ? .vPrediction : .epsilon)
        }
        let parts = configs.parts(of: file)
        let configName = "the \(family.rawValue) UNet config"
        let sources = [(configs.textEncoder, parts.textEncoder)] + (configs.secondTextEncoder.flatMap { config in parts.secondTextEncoder.map { (config, $0) } }.map { [$0] } ?? [])
        let text = try TextConditioner(towers: zip(zip(tokenizers, sources), towers).map { pair, tower in
            let (tokenizer, source) = pair
            let component: LoRASet.Component = tower.suffix.isEmpty ? .textEncoder : .textEncoder2
            let adjusted = loras.map { $0.adjusting(source.1, component, moduleNames: textModuleNames) } ?? source.1
            return TextTower(tokenizer: tokenizer, encoder: try CLIPTextEncoder(config: source.0, source: adjusted, backend: backend))
        }, style: family.isSDXL ? .sdxl : .lastHiddenState, zerosForEmptyNegative: zerosForEmptyNegative, path: path)
        let unetSource = loras.map { $0.adjusting(parts.unet, .unet, moduleNames: unetModuleNames(configs.unet)) } ?? parts.unet
        return (text, try UNet(config: configs.unet, weights: unetSource, configName: configName, backend: backend),
                VAEWeights(config: configs.vae, weights: parts.vae), scheduler)
    }
}
