import Foundation
import Neural

/// A Stable Diffusion model loaded from a diffusers folder (model_index.json, tokenizer/,
/// text_encoder/, unet/, vae/, scheduler/). Weights stay memory-mapped; nothing is converted.
public final class StableDiffusionModel: @unchecked Sendable {
    public let path: String
    public let tokenizer: CLIPTokenizer
    public let textEncoder: CLIPTextEncoder
    public let unet: UNet
    public let decoder: VAEDecoder
    public let encoder: VAEEncoder
    public let schedulerConfig: SchedulerConfig

    /// Pixels per latent cell: 2^(VAE levels − 1), 8 for every SD 1.x/2.x model.
    public var vaeScaleFactor: Int { 1 << (decoder.config.blockOutChannels.count - 1) }
    /// Image sizes must be multiples of this: the VAE factor times the UNet's downsampling.
    public var sizeMultiple: Int { vaeScaleFactor << (unet.config.blockOutChannels.count - 1) }

    /// The full-size SD 1.5 architecture with random weights (benchmarks: nothing to download).
    /// The tokenizer is CLIP's standard vocabulary from `clipMerges` (presets/clip/).
    public init(randomSD15WithMerges clipMerges: String, seed: UInt64 = 0) throws {
        path = "random SD 1.5"
        tokenizer = try CLIPTokenizer.fromCLIPMerges(gzipFile: clipMerges)
        func decode<T: Decodable>(_ type: T.Type, _ json: String) throws -> T { try JSONDecoder().decode(type, from: Data(json.utf8)) }
        textEncoder = try CLIPTextEncoder.random(config: decode(CLIPTextConfig.self, Self.sd15TextEncoder), seed: seed)
        unet = try UNet(randomWeights: decode(UNetConfig.self, Self.sd15UNet), seed: seed)
        let vae = VAEBlocks(randomWeights: try decode(VAEConfig.self, Self.sd15VAE), seed: seed)
        decoder = try VAEDecoder(blocks: vae)
        encoder = try VAEEncoder(blocks: vae)
        schedulerConfig = try decode(SchedulerConfig.self, "{}")
    }

    static let sd15TextEncoder = #"{"vocab_size": 49408, "hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12, "num_attention_heads": 12, "max_position_embeddings": 77, "hidden_act": "quick_gelu"}"#
    public static let sd15UNet = #"{"block_out_channels": [320, 640, 1280, 1280], "layers_per_block": 2, "attention_head_dim": 8, "cross_attention_dim": 768, "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"], "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"], "sample_size": 64}"#
    static let sd15VAE = #"{"block_out_channels": [128, 256, 512, 512], "layers_per_block": 2, "latent_channels": 4, "scaling_factor": 0.18215}"#

    public init(path: String) throws {
        try ModelFiles.refusePickle(path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw DiffusionError.modelFiles(path: path, reason: "no such file or folder")
        }
        guard isDirectory.boolValue else {
            throw DiffusionError.modelFiles(path: path, reason: "single-file checkpoints are not supported yet; use the model's diffusers folder")
        }
        self.path = path
        let index = path + "/model_index.json"
        guard let data = FileManager.default.contents(atPath: index) else {
            throw DiffusionError.modelFiles(path: index, reason: "missing: this is not a diffusers model folder")
        }
        guard let components = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw DiffusionError.modelFiles(path: index, reason: "not valid JSON")
        }
        let pipelineClass = components["_class_name"] as? String ?? "?"
        let known = ["StableDiffusionPipeline", "StableDiffusionImg2ImgPipeline", "StableDiffusionInpaintPipeline"]
        guard known.contains(pipelineClass) else {
            throw DiffusionError.modelFiles(path: index, reason: "\(pipelineClass) is not a Stable Diffusion 1.x/2.x pipeline (SDXL, SD3 and others are not supported)")
        }
        tokenizer = try CLIPTokenizer.load(folder: path + "/tokenizer")
        textEncoder = try CLIPTextEncoder(folder: path + "/text_encoder")
        unet = try UNet(folder: path + "/unet")
        let vae = try VAEBlocks(folder: path + "/vae")
        decoder = try VAEDecoder(blocks: vae)
        encoder = try VAEEncoder(blocks: vae)
        schedulerConfig = try SchedulerConfig.load(path + "/scheduler/scheduler_config.json")
        guard textEncoder.config.hiddenSize == unet.config.crossAttentionDim else {
            throw DiffusionError.modelFiles(path: path, reason: "the text encoder gives \(textEncoder.config.hiddenSize)-wide states but the UNet attends to \(unet.config.crossAttentionDim)")
        }
        guard unet.config.inChannels == vae.config.latentChannels else {
            throw DiffusionError.modelFiles(path: path, reason: "the UNet takes \(unet.config.inChannels) channels but the VAE makes \(vae.config.latentChannels) (inpainting UNets are not supported)")
        }
    }
}
