import Foundation

/// AutoencoderKL's shape, from a diffusers `vae/config.json`.
public struct VAEConfig: Decodable, Sendable, Equatable {
    public var blockOutChannels: [Int]
    public var layersPerBlock: Int
    public var latentChannels: Int
    public var normGroups: Int
    public var outChannels: Int
    public var scalingFactor: Float
    public var usePostQuantConv: Bool
    public var midBlockAttention: Bool
    public var inChannels: Int
    public var useQuantConv: Bool

    enum CodingKeys: String, CodingKey {
        case blockOutChannels = "block_out_channels", layersPerBlock = "layers_per_block", latentChannels = "latent_channels"
        case normGroups = "norm_num_groups", outChannels = "out_channels", scalingFactor = "scaling_factor"
        case usePostQuantConv = "use_post_quant_conv", midBlockAttention = "mid_block_add_attention"
        case inChannels = "in_channels", useQuantConv = "use_quant_conv"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        blockOutChannels = try c.decode([Int].self, forKey: .blockOutChannels)
        layersPerBlock = try c.decodeIfPresent(Int.self, forKey: .layersPerBlock) ?? 2
        latentChannels = try c.decodeIfPresent(Int.self, forKey: .latentChannels) ?? 4
        normGroups = try c.decodeIfPresent(Int.self, forKey: .normGroups) ?? 32
        outChannels = try c.decodeIfPresent(Int.self, forKey: .outChannels) ?? 3
        scalingFactor = try c.decodeIfPresent(Float.self, forKey: .scalingFactor) ?? 0.18215
        usePostQuantConv = try c.decodeIfPresent(Bool.self, forKey: .usePostQuantConv) ?? true
        midBlockAttention = try c.decodeIfPresent(Bool.self, forKey: .midBlockAttention) ?? true
        inChannels = try c.decodeIfPresent(Int.self, forKey: .inChannels) ?? 3
        useQuantConv = try c.decodeIfPresent(Bool.self, forKey: .useQuantConv) ?? true
        try ConfigCheck.check(problem)
    }
}
