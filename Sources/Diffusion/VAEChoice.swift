import Foundation
import Neural

/// Another VAE for a model (`vae:` / `--vae`): SD 1.5's ft-MSE VAE, SDXL's fp16-fix VAE, a
/// fine-tune's own. A diffusers VAE folder, or one `.safetensors` file in diffusers' names or in
/// the original layout (`encoder.down.0.block.0…`, with or without `first_stage_model.`), read
/// with the model's VAE config: a VAE of another shape is refused, naming the tensor.
enum VAEChoice {
    static func weights(_ path: String, replacing model: VAEConfig) throws -> VAEWeights {
        try ModelFiles.refusePickle(path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw DiffusionError.modelFiles(path: path, reason: "no such VAE file or folder")
        }
        let weights: VAEWeights
        if isDirectory.boolValue {
            weights = try VAEWeights(folder: path)
        } else {
            guard path.lowercased().hasSuffix(".safetensors") else {
                throw DiffusionError.modelFiles(path: path, reason: "a VAE is a diffusers folder or a .safetensors file")
            }
            let file = try SafeTensorsFile(path: path)
            if file.entries["decoder.conv_in.weight"] != nil, file.entries["decoder.up_blocks.0.resnets.0.conv1.weight"] != nil {
                weights = VAEWeights(config: model, weights: file)
            } else if file.entries["decoder.up.0.block.0.conv1.weight"] != nil || file.entries[CheckpointKeys.vaePrefix + "decoder.up.0.block.0.conv1.weight"] != nil {
                let prefixed = file.entries[CheckpointKeys.vaePrefix + "decoder.conv_in.weight"] != nil, levels = model.blockOutChannels.count
                weights = VAEWeights(config: model, weights: CheckpointPart(file: file) { name in
                    CheckpointKeys.vae(name, levels: levels).map { location in
                        var location = location
                        if !prefixed { location.key = String(location.key.dropFirst(CheckpointKeys.vaePrefix.count)) }
                        return location
                    }
                })
            } else {
                throw DiffusionError.modelFiles(path: path, reason: "not a VAE: it has neither decoder.conv_in (diffusers) nor decoder.up.0 (original layout) tensors")
            }
        }
        guard weights.config.latentChannels == model.latentChannels, weights.config.blockOutChannels.count == model.blockOutChannels.count else {
            throw DiffusionError.modelFiles(path: path, reason: "this VAE has \(weights.config.latentChannels) latent channels and \(weights.config.blockOutChannels.count) levels; the model's has \(model.latentChannels) and \(model.blockOutChannels.count)")
        }
        return weights
    }
}
