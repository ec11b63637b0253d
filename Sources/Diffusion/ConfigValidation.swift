/// A model config whose values cannot describe a working model: sizes of zero, heads or norm
/// groups that do not divide the channels, a noise schedule that is not one. Found when the
/// config is read, so a bad file is an error naming the key, never a trap deep in a layer.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// The checks shared by every config: each returns the first problem, or nil.
enum ConfigCheck {
    static let maxSize = 1 << 20  // no layer of a real model comes near a million channels

    static func positive(_ values: [(String, Int)]) -> String? {
        values.first { !(1...maxSize).contains($0.1) }.map { "\($0.0) is \($0.1); it must be between 1 and \(maxSize)" }
    }

    static func divides(_ divisor: (String, Int), _ values: [(String, Int)]) -> String? {
        guard divisor.1 > 0 else { return "\(divisor.0) is \(divisor.1); it must be at least 1" }
        return values.first { $0.1 % divisor.1 != 0 }.map { "\($0.0) \($0.1) does not divide by \(divisor.0) \(divisor.1)" }
    }

    static func finite(_ name: String, _ value: Float, in range: ClosedRange<Float>) -> String? {
        value.isFinite && range.contains(value) ? nil : "\(name) is \(value); it must be between \(range.lowerBound) and \(range.upperBound)"
    }

    static func check(_ problem: String?) throws {
        if let problem { throw ConfigError(message: problem) }
    }
}

extension UNetConfig {
    var problem: String? {
        if blockOutChannels.isEmpty { return "block_out_channels is empty" }
        let channels = blockOutChannels.enumerated().map { ("block_out_channels[\($0.offset)]", $0.element) }
        return ConfigCheck.positive(channels + [("layers_per_block", layersPerBlock), ("in_channels", inChannels), ("out_channels", outChannels),
                                                ("cross_attention_dim", crossAttentionDim), ("sample_size", sampleSize)]
                                    + heads.enumerated().map { ("attention heads[\($0.offset)]", $0.element) }
                                    + transformerLayers.enumerated().map { ("transformer_layers_per_block[\($0.offset)]", $0.element) })
            ?? (transformerLayers.count == blockOutChannels.count ? nil
                : "transformer_layers_per_block has \(transformerLayers.count) entries for \(blockOutChannels.count) levels")
            ?? addedConditioningProblem
            ?? ConfigCheck.divides(("norm_num_groups", normGroups), channels)
            ?? zip(channels, heads).lazy.compactMap { ConfigCheck.divides(("attention heads", $1), [$0]) }.first
            ?? ConfigCheck.finite("norm_eps", normEpsilon, in: 0...1)
    }
}

extension UNetConfig {
    /// SDXL's "text_time" conditioning needs both widths; other kinds are models this engine does not run.
    var addedConditioningProblem: String? {
        guard let additionEmbedType else { return nil }
        guard additionEmbedType == "text_time" else { return "addition_embed_type \(additionEmbedType) is not supported (SDXL's text_time is)" }
        return ConfigCheck.positive([("addition_time_embed_dim", additionTimeEmbedDim), ("projection_class_embeddings_input_dim", projectionClassEmbeddingsInputDim)])
            ?? ConfigCheck.divides(("addition_time_embed_dim", 2), [("addition_time_embed_dim", additionTimeEmbedDim)])
    }
}

extension VAEConfig {
    var problem: String? {
        if blockOutChannels.isEmpty { return "block_out_channels is empty" }
        let channels = blockOutChannels.enumerated().map { ("block_out_channels[\($0.offset)]", $0.element) }
        return ConfigCheck.positive(channels + [("layers_per_block", layersPerBlock), ("latent_channels", latentChannels),
                                                ("in_channels", inChannels), ("out_channels", outChannels)])
            ?? ConfigCheck.divides(("norm_num_groups", normGroups), channels)
            ?? ConfigCheck.finite("scaling_factor", scalingFactor, in: 1e-6...1e6)
    }
}

extension CLIPTextConfig {
    var problem: String? {
        ConfigCheck.positive([("vocab_size", vocabSize), ("hidden_size", hiddenSize), ("intermediate_size", intermediateSize),
                              ("num_hidden_layers", layers), ("num_attention_heads", heads), ("max_position_embeddings", maxPositions)])
            ?? ConfigCheck.divides(("num_attention_heads", heads), [("hidden_size", hiddenSize)])
            ?? ConfigCheck.finite("layer_norm_eps", layerNormEpsilon, in: 0...1)
    }
}

extension SchedulerConfig {
    var problem: String? {
        if !(2...100_000).contains(trainTimesteps) { return "num_train_timesteps is \(trainTimesteps); it must be between 2 and 100000" }
        // Betas are probabilities of noise per step: 0 ≤ start ≤ end < 1 (scaled_linear squares their roots, same range).
        if let problem = ConfigCheck.finite("beta_start", betaStart, in: 0...0.999) ?? ConfigCheck.finite("beta_end", betaEnd, in: 0...0.999) { return problem }
        if betaStart > betaEnd { return "beta_start \(betaStart) is above beta_end \(betaEnd)" }
        if !(0..<trainTimesteps).contains(stepsOffset) { return "steps_offset is \(stepsOffset); it must be between 0 and \(trainTimesteps - 1)" }
        if !(1...trainTimesteps).contains(originalInferenceSteps) {
            return "original_inference_steps is \(originalInferenceSteps); it must be between 1 and num_train_timesteps (\(trainTimesteps))"
        }
        return ConfigCheck.finite("timestep_scaling", timestepScaling, in: 1e-6...1e6)
    }
}
