import CPUBackend
import Diffusion
import Foundation
import Neural
import TestSupport
import Testing

/// bf16 accuracy against diffusers (issue 17): on the tiny pipelines, Stockwerk's bf16 result may
/// be at most 1.5× as far from diffusers' fp32 result as diffusers' own bf16 autocast is
/// (Tools/reference/build_fixtures.py bf16: txt2img, DDIM, guidance 7.5, three seeds).
@Suite struct PrecisionTests {
    static func relativeL2(_ a: [Float], _ reference: [Float]) -> Double {
        let difference = zip(a, reference).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
        return (difference / reference.reduce(0.0) { $0 + Double($1) * Double($1) }).squareRoot()
    }

    /// Where oneDNN has no bf16 product (AVX2-only CPUs), a bf16 engine is refused at load with
    /// what to use instead, never computed some other way without saying so.
    @Test(.enabled(if: !CPUBackend.hasBF16MatrixProduct, "this CPU has a bf16 matrix product"))
    func bf16IsRefusedWhereTheCPUHasNone() throws {
        do {
            _ = try StableDiffusionModel(path: PipelineTests.folder("tiny-sd1"), backend: CPUBackend(precision: .bf16))
            Issue.record("a bf16 model loaded on a CPU without bf16")
        } catch let error as NeuralError {
            #expect(error.description.contains("bf16") && error.hint.contains("--precision fp32"), "\(error)")
        }
    }

    /// Peak signal-to-noise ratio of an image in [0, 1] against the reference.
    static func psnr(_ a: [Float], _ reference: [Float]) -> Double {
        let mse = zip(a, reference).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) } / Double(a.count)
        return 10 * log10(1 / mse)
    }

    @Test(.enabled(if: CPUBackend.hasBF16MatrixProduct, "this CPU has no bf16 matrix product"), arguments: ["sd1", "sd2"])
    func bf16IsWithinOneAndAHalfTimesDiffusersOwnBF16Error(style: String) throws {
        let expected = try SafeTensorsFile(path: PipelineTests.folder("bf16-\(style).safetensors"))
        let model = try StableDiffusionModel(path: PipelineTests.folder("tiny-" + style), backend: CPUBackend(precision: .bf16))
        let prompt = try #require(expected.metadata["prompt"]), negative = try #require(expected.metadata["negative_prompt"])
        for seed in [3000, 3001, 3002] {
            let request = GenerationRequest(prompt: prompt, negativePrompt: negative, seed: UInt64(seed), steps: 5, guidance: 7.5,
                                            sampler: .ddim, width: 16, height: 16)
            let result = try Pipeline(model: model).generate(request)
            let fp32 = try expected.tensor("\(seed).fp32.latents").storage, theirs = try expected.tensor("\(seed).bf16.latents").storage
            let ours = Self.relativeL2(result.latents.storage, fp32), reference = Self.relativeL2(theirs, fp32)
            #expect(ours > 0 && ours <= 1.5 * reference, "\(style) seed \(seed): latents' relative L2 error \(ours), diffusers' bf16 \(reference)")
            let image = try expected.tensor("\(seed).fp32.image").storage
            let ourPSNR = Self.psnr(result.image.storage, image), theirPSNR = Self.psnr(try expected.tensor("\(seed).bf16.image").storage, image)
            // 1.5× the RMS error is 3.5 dB less.
            #expect(ourPSNR >= theirPSNR - 20 * log10(1.5), "\(style) seed \(seed): PSNR \(ourPSNR) dB, diffusers' bf16 \(theirPSNR) dB")
        }
    }

    @Test func recordedPrecisionNamesRoundTrip() {
        for ops in [OpPrecisions.fp32, .bf16, OpPrecisions(linear: .bf16, convolution: .f32), OpPrecisions(linear: .f32, convolution: .bf16)] {
            #expect(OpPrecisions(name: ops.name) == ops, "\(ops.name)")
            #expect(!ops.name.contains(","))
        }
        #expect(OpPrecisions(name: "fp64") == nil && OpPrecisions(name: "bf16 linear + fp32 convolutions") == nil)
    }
}
