import Foundation

/// Where a diffusers-named tensor lives in an original (CompVis/LDM) single-file checkpoint, the
/// layout of most SD 1.x/2.x files on the Hub and Civitai.
struct CheckpointLocation: Equatable {
    var key: String
    /// A slice of the first axis: OpenCLIP stores q, k and v stacked in one `in_proj` tensor.
    var rows: Range<Int>? = nil
    /// Drop trailing 1×1 axes: the LDM VAE's attention uses 1×1 convolutions where diffusers has linears.
    var squeeze = false
    /// Swap the two axes of a matrix: OpenCLIP stores its text projection as x·P, diffusers as a linear's weight Pᵀ.
    var transpose = false
}

/// Renaming diffusers names to LDM names. Each function takes what the layout depends on.
enum CheckpointKeys {
    static let unetPrefix = "model.diffusion_model."
    static let vaePrefix = "first_stage_model."
    /// SD 1.x: transformers' CLIPTextModel under this prefix, names otherwise unchanged.
    static let clipPrefix = "cond_stage_model.transformer."
    /// SD 2.x: an OpenCLIP text tower.
    static let openCLIPPrefix = "cond_stage_model.model."
    /// SDXL base: CLIP ViT-L (transformers names) and OpenCLIP ViT-bigG; the refiner has only the latter, first.
    static let sdxlCLIPPrefix = "conditioner.embedders.0.transformer."
    static let sdxlOpenCLIPPrefix = "conditioner.embedders.1.model."
    static let refinerOpenCLIPPrefix = "conditioner.embedders.0.model."

    private static let resnetNames = ["norm1": "in_layers.0", "conv1": "in_layers.2", "time_emb_proj": "emb_layers.1",
                                      "norm2": "out_layers.0", "conv2": "out_layers.3", "conv_shortcut": "skip_connection"]
    private static let unetFixed = ["time_embedding.linear_1": "time_embed.0", "time_embedding.linear_2": "time_embed.2",
                                    "add_embedding.linear_1": "label_emb.0.0", "add_embedding.linear_2": "label_emb.0.2",
                                    "conv_in": "input_blocks.0.0", "conv_norm_out": "out.0", "conv_out": "out.2"]

    /// LDM numbers the UNet's blocks flat: input block 1 + level·(layers+1) + j (the last of a
    /// level is its downsampler), output block level·(layers+1) + j (its upsampler sits after the
    /// resnet and, where there is one, the attention).
    static func unet(_ name: String, layersPerBlock layers: Int, upLevelsWithAttention: Set<Int>) -> String? {
        let parts = name.split(separator: ".").map(String.init)
        for (ours, theirs) in unetFixed where name.hasPrefix(ours + ".") { return unetPrefix + theirs + name.dropFirst(ours.count) }
        func resnet(_ rest: ArraySlice<String>) -> String? {
            guard let first = rest.first, let renamed = resnetNames[first] else { return nil }
            return ([renamed] + rest.dropFirst()).joined(separator: ".")
        }
        if parts.count >= 4, parts[0] == "mid_block", let j = Int(parts[2]) {
            let tail = parts[3...]
            switch parts[1] {
            case "resnets": return resnet(tail).map { unetPrefix + "middle_block.\(j == 0 ? 0 : 2).\($0)" }
            case "attentions": return unetPrefix + "middle_block.1." + tail.joined(separator: ".")
            default: return nil
            }
        }
        guard parts.count >= 5, let j = Int(parts[3]) else { return nil }
        let rest = parts[4...]
        switch (parts[0], parts[2]) {
        case ("down_blocks", let kind):
            guard let level = Int(parts[1]) else { return nil }
            let index = 1 + level * (layers + 1)
            switch kind {
            case "resnets": return resnet(rest).map { unetPrefix + "input_blocks.\(index + j).0.\($0)" }
            case "attentions": return unetPrefix + "input_blocks.\(index + j).1." + rest.joined(separator: ".")
            case "downsamplers" where rest.first == "conv": return unetPrefix + "input_blocks.\(index + layers).0.op." + rest.dropFirst().joined(separator: ".")
            default: return nil
            }
        case ("up_blocks", let kind):
            guard let level = Int(parts[1]) else { return nil }
            let index = level * (layers + 1)
            switch kind {
            case "resnets": return resnet(rest).map { unetPrefix + "output_blocks.\(index + j).0.\($0)" }
            case "attentions": return unetPrefix + "output_blocks.\(index + j).1." + rest.joined(separator: ".")
            case "upsamplers":
                let slot = upLevelsWithAttention.contains(level) ? 2 : 1
                return unetPrefix + "output_blocks.\(index + layers).\(slot)." + rest.joined(separator: ".")
            default: return nil
            }
        default:
            return nil
        }
    }

    /// The VAE keeps diffusers' order in the encoder but numbers the decoder's levels from the
    /// bottom (`up.0` is the last level diffusers runs).
    static func vae(_ name: String, levels: Int) -> CheckpointLocation? {
        var parts = name.split(separator: ".").map(String.init).map { part -> String in
            switch part {
            case "conv_norm_out": return "norm_out"
            case "conv_shortcut": return "nin_shortcut"
            default: return part
            }
        }
        guard parts.count >= 3 else { return CheckpointLocation(key: vaePrefix + name) }
        let coder = parts[0]
        if parts[1] == "mid_block", parts.count >= 5, let j = Int(parts[3]) {
            if parts[2] == "resnets" { return CheckpointLocation(key: vaePrefix + "\(coder).mid.block_\(j + 1)." + parts[4...].joined(separator: ".")) }
            let module = parts[4..<(parts.count - 1)].joined(separator: "."), field = parts[parts.count - 1]
            let renamed = ["group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out.0": "proj_out"][module]
            return renamed.map { CheckpointLocation(key: vaePrefix + "\(coder).mid.attn_1.\($0).\(field)", squeeze: field == "weight" && $0 != "norm") }
        }
        if parts[1] == "down_blocks" || parts[1] == "up_blocks", parts.count >= 5, var level = Int(parts[2]) {
            if parts[1] == "up_blocks" { level = levels - 1 - level }
            let stage = parts[1] == "down_blocks" ? "down" : "up"
            switch parts[3] {
            case "resnets": return CheckpointLocation(key: vaePrefix + "\(coder).\(stage).\(level).block." + parts[4...].joined(separator: "."))
            case "downsamplers", "upsamplers":
                parts = Array(parts[5...])
                return CheckpointLocation(key: vaePrefix + "\(coder).\(stage).\(level).\(stage == "down" ? "downsample" : "upsample")." + parts.joined(separator: "."))
            default: return nil
            }
        }
        return CheckpointLocation(key: vaePrefix + parts.joined(separator: "."))
    }

    /// OpenCLIP names (SD 2.x under `cond_stage_model.model.`, SDXL under its embedder's prefix).
    /// `width` is the text tower's hidden size, the height of each of q, k and v inside `in_proj`.
    static func openCLIP(_ name: String, width: Int, prefix: String = openCLIPPrefix) -> CheckpointLocation? {
        switch name {
        case "embeddings.token_embedding.weight": return CheckpointLocation(key: prefix + "token_embedding.weight")
        case "embeddings.position_embedding.weight": return CheckpointLocation(key: prefix + "positional_embedding")
        case "final_layer_norm.weight", "final_layer_norm.bias":
            return CheckpointLocation(key: prefix + "ln_final." + name.split(separator: ".").last!)
        case "text_projection.weight": return CheckpointLocation(key: prefix + "text_projection", transpose: true)
        default: break
        }
        let parts = name.split(separator: ".").map(String.init)
        guard parts.count >= 5, parts[0] == "encoder", parts[1] == "layers", let layer = Int(parts[2]) else { return nil }
        let block = prefix + "transformer.resblocks.\(layer)."
        let module = parts[3..<(parts.count - 1)].joined(separator: "."), field = parts[parts.count - 1]
        if let part = ["self_attn.q_proj": 0, "self_attn.k_proj": 1, "self_attn.v_proj": 2][module] {
            return CheckpointLocation(key: block + "attn.in_proj_" + field, rows: part * width..<(part + 1) * width)
        }
        let renamed = ["layer_norm1": "ln_1", "layer_norm2": "ln_2", "self_attn.out_proj": "attn.out_proj",
                       "mlp.fc1": "mlp.c_fc", "mlp.fc2": "mlp.c_proj"][module]
        return renamed.map { CheckpointLocation(key: block + $0 + "." + field) }
    }
}
