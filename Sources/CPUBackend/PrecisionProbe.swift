import Foundation
import Neural

/// Finds which precision runs each kind of op faster on this CPU, by timing SD-sized ops in both:
/// a UNet feed-forward projection (4096 × 320 → 1280) and a UNet 3×3 convolution (2 × 320 × 64²).
/// CPU flags alone do not tell (an AVX512-BF16 Xeon without AMX runs bf16 matrix products 2.5×
/// faster but bf16 convolutions slower; see docs/benchmarks.md).
public enum PrecisionProbe {
    public struct Measurement: Codable, Sendable, Equatable {
        /// Seconds for one op, best of a few runs; nil where bf16 cannot run here.
        public var linearF32: Double, linearBF16: Double?
        public var convolutionF32: Double, convolutionBF16: Double?
        public var choice: OpPrecisions
    }

    /// bf16 must be at least this much faster to be chosen (run-to-run noise is ±10–20 %).
    static let margin = 0.9

    public static func measure() -> Measurement {
        var generator = TorchGenerator(seed: 0)
        let tokens = generator.randn(shape: [4096, 320]), projection = generator.randn(shape: [1280, 320])
        let image = generator.randn(shape: [2, 320, 64, 64]), kernel = HostTensor(shape: [320, 320, 3, 3], storage: generator.randn(count: 320 * 320 * 9).map { $0 * 0.02 })
        func time(_ body: () throws -> Void) -> Double? {
            guard (try? body()) != nil else { return nil }  // warm-up: primitives created, pages touched
            var best = Double.infinity
            for _ in 0..<3 {
                let start = DispatchTime.now().uptimeNanoseconds
                guard (try? body()) != nil else { return nil }
                best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            }
            return best
        }
        func linear(_ backend: CPUBackend) -> Double? {
            guard let layer = try? Linear(backend: backend, weight: projection, bias: nil) else { return nil }
            let x = backend.tensor(tokens)
            return time { _ = try layer(x) }
        }
        func convolution(_ backend: CPUBackend) -> Double? {
            guard let prepared = try? backend.prepareConvolution(weight: kernel, bias: nil, stride: 1, padding: 1, paddingEnd: 1) else { return nil }
            let x = backend.tensor(image)
            return time { _ = try backend.conv2d(x, prepared) }
        }
        let f32 = CPUBackend(precision: .fp32), bf16 = CPUBackend(precision: .bf16)
        let linearF32 = linear(f32) ?? .infinity, linearBF16 = linear(bf16)
        let convolutionF32 = convolution(f32) ?? .infinity, convolutionBF16 = convolution(bf16)
        func faster(_ f32: Double, _ bf16: Double?) -> DType { bf16.map { $0 < f32 * margin } == true ? .bf16 : .f32 }
        return Measurement(linearF32: linearF32, linearBF16: linearBF16, convolutionF32: convolutionF32, convolutionBF16: convolutionBF16,
                           choice: OpPrecisions(linear: faster(linearF32, linearBF16), convolution: faster(convolutionF32, convolutionBF16)))
    }

    /// The CPU's model name (/proc/cpuinfo), which the measurement is cached under.
    public static var cpuModel: String {
        let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let line = info.split(separator: "\n").first { $0.hasPrefix("model name") }
        return line.flatMap { $0.split(separator: ":", maxSplits: 1).last }.map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown CPU"
    }
}
