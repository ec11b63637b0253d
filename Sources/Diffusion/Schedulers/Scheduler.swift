import Foundation
import Neural

/// A sampler stepping latents from noise to image, step by step, like diffusers' schedulers.
public protocol Scheduler: Sendable {
    /// The UNet's timestep for each step, in order.
    var timesteps: [Float] { get }
    /// What the initial noise is multiplied by.
    var initNoiseSigma: Float { get }
    /// The UNet input for step `index` (Euler-type samplers divide by √(σ² + 1)).
    func scaleModelInput(_ sample: Tensor, step index: Int) throws -> Tensor
    /// One denoising step; ancestral samplers draw their noise from `generator`.
    func step(_ modelOutput: Tensor, step index: Int, sample: Tensor, generator: inout TorchGenerator) throws -> Tensor
    /// img2img: `original` noised to the level of step `index` (diffusers' `add_noise` at the begin index).
    func addNoise(_ original: Tensor, noise: Tensor, step index: Int) throws -> Tensor
}

/// add_noise for schedulers indexed by training timestep: √ᾱₜ·x + √(1−ᾱₜ)·ε.
func addNoise(_ original: Tensor, noise: Tensor, alphaCumprod: Float) throws -> Tensor {
    try combine(original, alphaCumprod.squareRoot(), noise, (1 - alphaCumprod).squareRoot())
}

/// sample·a + other·b, element-wise, for same-shaped tensors (float32, as torch evaluates it).
func combine(_ sample: Tensor, _ a: Float, _ other: Tensor, _ b: Float) throws -> Tensor {
    try sample.backend.weightedSum([(sample, a), (other, b)])
}
