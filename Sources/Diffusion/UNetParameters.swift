import Foundation
import Neural

/// Every tensor a UNet2DConditionModel of a given config has, by diffusers name, with its shape.
/// Loading checks a file against this list before any work (a truncated or foreign file fails
/// with the tensor's name), and the benchmark builds random full-size models from it.
enum UNetParameters {
    static func shapes(_ config: UNetConfig) -> [(name: String, shape: [Int])] {
        var out: [(String, [Int])] = []
        let channels = config.blockOutChannels, timeDim = channels[0] * 4
        func conv(_ p: String, _ o: Int, _ i: Int, _ k: Int) { out += [(p + ".weight", [o, i, k, k]), (p + ".bias", [o])] }
        func norm(_ p: String, _ c: Int) { out += [(p + ".weight", [c]), (p + ".bias", [c])] }
        func linear(_ p: String, _ o: Int, _ i: Int, bias: Bool = true) { out.append((p + ".weight", [o, i])); if bias { out.append((p + ".bias", [o])) } }
        func resnet(_ p: String, _ i: Int, _ o: Int) {
            norm(p + ".norm1", i); conv(p + ".conv1", o, i, 3); linear(p + ".time_emb_proj", o, timeDim)
            norm(p + ".norm2", o); conv(p + ".conv2", o, o, 3)
            if i != o { conv(p + ".conv_shortcut", o, i, 1) }
        }
        func transformer(_ p: String, _ c: Int, depth: Int) {
            norm(p + ".norm", c)
            if config.useLinearProjection { linear(p + ".proj_in", c, c); linear(p + ".proj_out", c, c) } else {
                conv(p + ".proj_in", c, c, 1); conv(p + ".proj_out", c, c, 1)
            }
            for index in 0..<depth {
                let b = p + ".transformer_blocks.\(index)"
                for n in ["norm1", "norm2", "norm3"] { norm(b + "." + n, c) }
                for (attention, source) in [("attn1", c), ("attn2", config.crossAttentionDim)] {
                    linear(b + ".\(attention).to_q", c, c, bias: false)
                    linear(b + ".\(attention).to_k", c, source, bias: false)
                    linear(b + ".\(attention).to_v", c, source, bias: false)
                    linear(b + ".\(attention).to_out.0", c, c)
                }
                linear(b + ".ff.net.0.proj", 8 * c, c)
                linear(b + ".ff.net.2", c, 4 * c)
            }
        }
        linear("time_embedding.linear_1", timeDim, channels[0])
        linear("time_embedding.linear_2", timeDim, timeDim)
        if config.additionEmbedType != nil {
            linear("add_embedding.linear_1", timeDim, config.projectionClassEmbeddingsInputDim)
            linear("add_embedding.linear_2", timeDim, timeDim)
        }
        conv("conv_in", channels[0], config.inChannels, 3)
        var previous = channels[0]
        for (level, type) in config.downBlockTypes.enumerated() {
            let c = channels[level]
            for j in 0..<config.layersPerBlock {
                resnet("down_blocks.\(level).resnets.\(j)", j == 0 ? previous : c, c)
                if type.hasPrefix("CrossAttn") { transformer("down_blocks.\(level).attentions.\(j)", c, depth: config.transformerLayers[level]) }
            }
            if level != channels.count - 1 { conv("down_blocks.\(level).downsamplers.0.conv", c, c, 3) }
            previous = c
        }
        let last = channels.last!
        resnet("mid_block.resnets.0", last, last)
        transformer("mid_block.attentions.0", last, depth: config.transformerLayers.last!)
        resnet("mid_block.resnets.1", last, last)
        let reversed = Array(channels.reversed()), upDepths = Array(config.transformerLayers.reversed())
        previous = last
        for (level, type) in config.upBlockTypes.enumerated() {
            let c = reversed[level], input = reversed[min(level + 1, reversed.count - 1)]
            for j in 0...config.layersPerBlock {
                let skip = j == config.layersPerBlock ? input : c
                resnet("up_blocks.\(level).resnets.\(j)", (j == 0 ? previous : c) + skip, c)
                if type.hasPrefix("CrossAttn") { transformer("up_blocks.\(level).attentions.\(j)", c, depth: upDepths[level]) }
            }
            if level != reversed.count - 1 { conv("up_blocks.\(level).upsamplers.0.conv", c, c, 3) }
            previous = c
        }
        norm("conv_norm_out", channels[0])
        conv("conv_out", config.outChannels, channels[0], 3)
        return out
    }
}

/// Random weights for benchmarks (nothing to download): norms at 1 and 0, everything else
/// uniform in ±0.02, drawn in the order the layers ask for them; `roundedToHalf`: rounded to
/// fp16 values, as an fp16 checkpoint holds them.
final class RandomTensors: @unchecked Sendable {
    private var state: UInt64
    private let lock = NSLock()
    private let roundedToHalf: Bool

    init(seed: UInt64, roundedToHalf: Bool = false) {
        state = seed &+ 0x9E37_79B9_7F4A_7C15
        self.roundedToHalf = roundedToHalf
    }

    /// Layers read their weights from this.
    func loader(backend: any Backend) -> WeightLoader {
        WeightLoader(backend: backend) { name, shape in self.tensor(name, shape) }
    }

    func tensor(_ name: String, _ shape: [Int]) -> HostTensor {
        let count = shape.reduce(1, *)
        if name.contains("norm") {
            return HostTensor(shape: shape, storage: [Float](repeating: name.hasSuffix(".weight") ? 1 : 0, count: count))
        }
        lock.lock()
        defer { lock.unlock() }
        var values = [Float](repeating: 0, count: count)
        for i in 0..<count {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            values[i] = (Float(state >> 40) / Float(1 << 24) - 0.5) * 0.04
            if roundedToHalf { values[i] = HalfFloat.toFloat(HalfFloat.fromFloat(values[i])) }
        }
        return HostTensor(shape: shape, storage: values)
    }
}
