/// diffusers' ResnetBlock2D: GroupNorm → SiLU → conv → (+ time embedding per channel) → GroupNorm
/// → SiLU → conv, plus the input (through a 1×1 convolution when the width changes).
public struct ResnetBlock: Sendable {
    let norm1: GroupNorm, conv1: Conv2d, norm2: GroupNorm, conv2: Conv2d
    let timeProjection: Linear?
    let shortcut: Conv2d?

    /// `timeEmbedding`: the width of the time embedding the block adds (the UNet's), nil for none (the VAE's).
    public init(_ w: WeightLoader, _ prefix: String, inputs: Int, outputs: Int, groups: Int, epsilon: Float, timeEmbedding: Int? = nil) throws {
        norm1 = try GroupNorm(w, prefix + ".norm1", channels: inputs, groups: groups, epsilon: epsilon)
        conv1 = try Conv2d(w, prefix + ".conv1", inputs: inputs, outputs: outputs, kernel: 3)
        timeProjection = try timeEmbedding.map { try Linear(w, prefix + ".time_emb_proj", inputs: $0, outputs: outputs) }
        norm2 = try GroupNorm(w, prefix + ".norm2", channels: outputs, groups: groups, epsilon: epsilon)
        conv2 = try Conv2d(w, prefix + ".conv2", inputs: outputs, outputs: outputs, kernel: 3)
        shortcut = inputs == outputs ? nil : try Conv2d(w, prefix + ".conv_shortcut", inputs: inputs, outputs: outputs, kernel: 1)
    }

    /// `activatedTime`: SiLU of the time embedding [1, width] (computed once per step by the UNet).
    /// `x` is consumed: a caller that hands it over with `consume` lets it go as soon as the block
    /// has read it, and each intermediate goes once the next op has read it (the VAE decoder's
    /// 1024² decode peaked at 3.2 GB of live tensors, now 2.7 GB).
    public func callAsFunction(_ x: consuming Tensor, activatedTime: Tensor? = nil) throws -> Tensor {
        let backend = x.backend
        let skip = try shortcut.map { try $0(x) } ?? copy x
        // Each input is let go (consume) as soon as the next op has made its output.
        let normed = try norm1(consume x, activation: .silu)  // in place when nothing else holds x
        var h = try conv1(consume normed)
        if let timeProjection, let activatedTime {
            h = try backend.addPerChannel(h, try timeProjection(activatedTime))
        }
        let normedAgain = try norm2(consume h, activation: .silu)
        return try conv2(consume normedAgain, adding: skip)
    }
}
