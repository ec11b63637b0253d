@testable import Diffusion
import CPUBackend
import Foundation
import Neural
import TestSupport
import Testing

/// Reading configs from an original-layout checkpoint's tensors, and refusing files that are not one.
@Suite struct SingleFileCheckpointTests {
    static let base = TestSupport.repositoryRoot + "/Tests/Fixtures/pipelines/"

    func decode<T: Decodable>(_ type: T.Type, _ path: String) throws -> T {
        try JSONDecoder().decode(type, from: try #require(FileManager.default.contents(atPath: path)))
    }

    func infer(_ shapes: [String: [Int]]) throws -> SingleFileCheckpoint { try SingleFileCheckpoint(shapes: shapes, path: "test.safetensors") }

    /// Everything with a shape matches the config diffusers wrote for the same model.
    @Test(arguments: ["sd1", "sd2"])
    func infersWhatTheTensorsShow(style: String) throws {
        let file = try SafeTensorsFile(path: Self.base + "tiny-\(style).safetensors")
        let inferred = try infer(file.entries.mapValues(\.shape))
        let folder = Self.base + "tiny-" + style
        let unet = try decode(UNetConfig.self, folder + "/unet/config.json")
        let vae = try decode(VAEConfig.self, folder + "/vae/config.json")
        let text = try decode(CLIPTextConfig.self, folder + "/text_encoder/config.json")
        #expect(inferred.family == (style == "sd1" ? .sd1 : .sd2))
        #expect(inferred.unet.blockOutChannels == unet.blockOutChannels && inferred.unet.layersPerBlock == unet.layersPerBlock)
        #expect(inferred.unet.downBlockTypes == unet.downBlockTypes && inferred.unet.upBlockTypes == unet.upBlockTypes)
        #expect(inferred.unet.useLinearProjection == unet.useLinearProjection && inferred.unet.crossAttentionDim == unet.crossAttentionDim)
        #expect(inferred.unet.inChannels == 4 && inferred.unet.outChannels == 4)
        #expect(inferred.vae.blockOutChannels == vae.blockOutChannels && inferred.vae.layersPerBlock == vae.layersPerBlock)
        #expect(inferred.vae.latentChannels == vae.latentChannels && inferred.vae.midBlockAttention)
        #expect(inferred.textEncoder.hiddenSize == text.hiddenSize && inferred.textEncoder.layers == text.layers)
        #expect(inferred.textEncoder.intermediateSize == text.intermediateSize && inferred.textEncoder.vocabSize == text.vocabSize)
        #expect(inferred.textEncoder.activation == text.activation)
    }

    /// The full-size SD 1.5 and SD 2.1 (768-v) tensor lists, renamed to LDM keys, give back the
    /// configs of the published diffusers folders, heads included.
    @Test func fullSizeModelsGiveThePublishedConfigs() throws {
        let tinyVAE = try SafeTensorsFile(path: Self.base + "tiny-sd1.safetensors").entries.mapValues(\.shape).filter { $0.key.hasPrefix("first_stage_model.") }
        func ldmShapes(_ unet: UNetConfig, text: [String: [Int]]) -> [String: [Int]] {
            var shapes = tinyVAE.merging(text) { a, _ in a }
            let upAttention = Set(unet.upBlockTypes.indices.filter { unet.upBlockTypes[$0].hasPrefix("CrossAttn") })
            for (name, shape) in UNetParameters.shapes(unet) {
                shapes[CheckpointKeys.unet(name, layersPerBlock: unet.layersPerBlock, upLevelsWithAttention: upAttention)!] = shape
            }
            return shapes
        }
        let sd15 = try JSONDecoder().decode(UNetConfig.self, from: Data(StableDiffusionModel.sd15UNet.utf8))
        var clip: [String: [Int]] = ["cond_stage_model.transformer.text_model.embeddings.token_embedding.weight": [49408, 768],
                                     "cond_stage_model.transformer.text_model.embeddings.position_embedding.weight": [77, 768]]
        for i in 0..<12 { clip["cond_stage_model.transformer.text_model.encoder.layers.\(i).mlp.fc1.weight"] = [3072, 768] }
        let inferred15 = try infer(ldmShapes(sd15, text: clip))
        #expect(inferred15.family == .sd1 && inferred15.unet == sd15 && inferred15.textEncoder == .sd1)

        let sd21 = try JSONDecoder().decode(UNetConfig.self, from: Data(#"{"block_out_channels": [320, 640, 1280, 1280], "layers_per_block": 2, "attention_head_dim": [5, 10, 20, 20], "cross_attention_dim": 1024, "use_linear_projection": true, "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"], "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"], "sample_size": 96}"#.utf8))
        var openCLIP: [String: [Int]] = ["cond_stage_model.model.token_embedding.weight": [49408, 1024], "cond_stage_model.model.positional_embedding": [77, 1024]]
        for i in 0..<24 { openCLIP["cond_stage_model.model.transformer.resblocks.\(i).mlp.c_fc.weight"] = [4096, 1024] }
        let inferred21 = try infer(ldmShapes(sd21, text: openCLIP))
        #expect(inferred21.family == .sd2 && inferred21.unet == sd21)
        #expect(inferred21.textEncoder == CLIPTextConfig(vocabSize: 49408, hiddenSize: 1024, intermediateSize: 4096, layers: 23, heads: 16,
                                                          maxPositions: 77, activation: .gelu))
    }

    /// The full-size SDXL base tensor list (UNet from the published config, CLIP ViT-L and
    /// OpenCLIP ViT-bigG), renamed to the original layout, gives back the published configs.
    @Test func fullSizeSDXLGivesThePublishedConfigs() throws {
        let published = try JSONDecoder().decode(UNetConfig.self, from: Data(#"{"block_out_channels": [320, 640, 1280], "layers_per_block": 2, "attention_head_dim": [5, 10, 20], "cross_attention_dim": 2048, "use_linear_projection": true, "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"], "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"], "transformer_layers_per_block": [1, 2, 10], "addition_embed_type": "text_time", "addition_time_embed_dim": 256, "projection_class_embeddings_input_dim": 2816, "sample_size": 128}"#.utf8))
        var shapes = try SafeTensorsFile(path: Self.base + "tiny-sd1.safetensors").entries.mapValues(\.shape).filter { $0.key.hasPrefix("first_stage_model.") }
        let upAttention = Set(published.upBlockTypes.indices.filter { published.upBlockTypes[$0].hasPrefix("CrossAttn") })
        for (name, shape) in UNetParameters.shapes(published) {
            shapes[try #require(CheckpointKeys.unet(name, layersPerBlock: 2, upLevelsWithAttention: upAttention), "\(name)")] = shape
        }
        let clip = "conditioner.embedders.0.transformer.text_model.", open = "conditioner.embedders.1.model."
        shapes[clip + "embeddings.token_embedding.weight"] = [49408, 768]
        shapes[clip + "embeddings.position_embedding.weight"] = [77, 768]
        for i in 0..<12 { shapes[clip + "encoder.layers.\(i).mlp.fc1.weight"] = [3072, 768] }
        shapes[open + "token_embedding.weight"] = [49408, 1280]
        shapes[open + "positional_embedding"] = [77, 1280]
        for i in 0..<32 { shapes[open + "transformer.resblocks.\(i).mlp.c_fc.weight"] = [5120, 1280] }
        let inferred = try infer(shapes)
        #expect(inferred.family == .sdxl && inferred.unet == published, "\(inferred.unet)")
        #expect(inferred.textEncoder == .sd1 && inferred.vae.scalingFactor == 0.13025)
        #expect(inferred.secondTextEncoder == CLIPTextConfig(vocabSize: 49408, hiddenSize: 1280, intermediateSize: 5120, layers: 32, heads: 20,
                                                              maxPositions: 77, activation: .gelu))
    }

    func loadError(_ path: String) -> String {
        do { _ = try StableDiffusionModel(path: path, options: .init(clipMerges: TestSupport.presetsFolder + "/clip/bpe_simple_vocab_16e6.txt.gz"), backend: CPUBackend.shared); return "" } catch { return "\(error)" }
    }

    @Test func otherFilesAreRefusedWithTheReason() throws {
        let folder = try TestSupport.temporaryFolder("single-file")
        let one = HostTensor(zeros: [1])
        try SafeTensorsWriter.write([("conditioner.embedders.0.transformer.text_model.embeddings.token_embedding.weight", one),
                                     ("model.diffusion_model.input_blocks.0.0.weight", one), ("first_stage_model.x", one)], to: folder + "/xl.safetensors")
        #expect(loadError(folder + "/xl.safetensors").contains("SDXL checkpoint needs both text encoders"))
        try SafeTensorsWriter.write([("model.diffusion_model.input_blocks.0.0.weight", one)], to: folder + "/no-vae.safetensors")
        #expect(loadError(folder + "/no-vae.safetensors").contains("no first_stage_model"))
        try SafeTensorsWriter.write([("weight", one)], to: folder + "/lora.safetensors")
        #expect(loadError(folder + "/lora.safetensors").contains("not a Stable Diffusion"))
        FileManager.default.createFile(atPath: folder + "/model.gguf", contents: Data([1, 2, 3]))
        #expect(loadError(folder + "/model.gguf").contains(".safetensors"))

        let truncated = folder + "/truncated.safetensors"
        try FileManager.default.copyItem(atPath: Self.base + "tiny-sd1.safetensors", toPath: truncated)
        let handle = try #require(FileHandle(forUpdatingAtPath: truncated))
        try handle.truncate(atOffset: 200_000)
        try handle.close()
        #expect(loadError(truncated).contains("truncated.safetensors"))
    }
}
