// stockwerk-gpu-check: the GPU backend on its own, for a machine with a GPU (docs/gpu.md). It
// needs the Swift runtime (built with --static-swift-stdlib, none), the Vulkan loader and this
// code: no libvips, no oneDNN, no BLAS, so it runs where only the GPU driver is installed.
//
//   stockwerk-gpu-check devices
//   stockwerk-gpu-check parity FIXTURES [--device N]            the diffusers fixtures (Tests/Fixtures), as the tests
//   stockwerk-gpu-check time MODEL_FOLDER --size N [--steps 25] [--device N] [--fp32-weights]
//   stockwerk-gpu-check vae-memory SIZE… [--device N]     SD's VAE decode: device memory per size
//
// `time` prints one JSON line with the load time, the guided step (median), the VAE decode and
// the whole image (text, steps and decode), and the device memory's peak.
import Diffusion
import Foundation
import Neural
import VulkanBackend

func fail(_ message: String, status: Int32 = 2) -> Never {
    FileHandle.standardError.write(Data("stockwerk-gpu-check: \(message)\n".utf8))
    exit(status)
}

func option(_ name: String, in arguments: [String]) -> String? {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
    return arguments[index + 1]
}

func device(_ arguments: [String]) -> VulkanDevices.Device {
    if let reason = VulkanDevices.unavailableReason() { fail(reason) }
    let devices = VulkanDevices.all()
    if let index = option("--device", in: arguments).flatMap(Int.init) {
        guard let chosen = devices.first(where: { $0.index == index }) else { fail("no Vulkan device \(index); `devices` lists them") }
        return chosen
    }
    guard let chosen = VulkanDevices.preferred() ?? devices.first else { fail("no Vulkan device") }
    return chosen
}

func seconds(since start: Date) -> Double { Date().timeIntervalSince(start) }

/// The fixture pipelines (FIXTURES/pipelines/tiny-{sd1,sd2,sdxl}) on the GPU against diffusers' values, with the
/// test suite's bounds: latents within 1e-3, the mean pixel within 1/255.
func parity(fixtures: String, on chosen: VulkanDevices.Device) throws -> Bool {
    let backend = try VulkanBackend(device: chosen)
    var passed = true
    for style in ["tiny-sd1", "tiny-sd2", "tiny-sdxl"] {
        let folder = fixtures + "/pipelines/" + style
        let model = try StableDiffusionModel(path: folder, backend: backend)
        let expected = try SafeTensorsFile(path: folder + "/expected.safetensors")
        let prompt = expected.metadata["prompt"] ?? "", negative = expected.metadata["negative_prompt"] ?? ""
        for sampler in Sampler.allCases {
            for guidance in ["0", "7.5"] {
                let key = "txt2img.\(sampler.rawValue).\(guidance)"
                guard expected.entries[key + ".seed"] != nil else { continue }
                let request = GenerationRequest(prompt: prompt, negativePrompt: negative, seed: UInt64(try expected.tensor(key + ".seed").storage[0]),
                                                steps: 5, guidance: Float(guidance) ?? 0, sampler: sampler, width: 16, height: 16)
                let result = try Pipeline(model: model).generate(request)
                let latents = try expected.tensor(key + ".latents"), image = try expected.tensor(key + ".image")
                let ours = try result.latents.host(), pixels = try result.image.host()
                let worst = zip(ours.storage, latents.storage).map { abs($0 - $1) }.max() ?? .infinity
                let meanPixel = zip(pixels.storage, image.storage).map { abs($0 - $1) }.reduce(0, +) / Float(max(image.count, 1))
                let ok = ours.shape == latents.shape && worst <= 1e-3 && meanPixel <= 1.0 / 255
                passed = passed && ok
                print(String(format: "%@ %@ %@: latents within %.2e, mean pixel %.2e", ok ? "ok  " : "FAIL", style, key, worst, meanPixel))
            }
        }
    }
    return passed
}

/// A full-size model from a diffusers folder (Tools/bench/make_random_sd15.py, make_random_sdxl.py):
/// the same request diffusers' reference times (Tools/gpu/diffusers_timing.py), guidance 7.5.
func time(folder: String, size: Int, steps: Int, halfWeights: Bool, on chosen: VulkanDevices.Device) throws {
    let backend = try VulkanBackend(device: chosen, keepingHalfWeights: halfWeights)
    let loading = Date()
    let model = try StableDiffusionModel(path: folder, backend: backend)
    let loadSeconds = seconds(since: loading)
    let pipeline = Pipeline(model: model)
    func request(_ steps: Int) -> GenerationRequest {
        GenerationRequest(prompt: "a photo of a lighthouse on a cliff at dawn", negativePrompt: "blurry", seed: 1, steps: steps, guidance: 7.5,
                          sampler: .euler, width: size, height: size)
    }
    _ = try pipeline.generate(request(2))  // kernels built, weights in place
    var stepEnds: [Date] = []
    let whole = Date()
    let result = try pipeline.generate(request(steps)) { _, _ in stepEnds.append(Date()) }
    let wholeSeconds = seconds(since: whole)
    let stepTimes = zip(stepEnds.dropFirst(), stepEnds).map { $0.timeIntervalSince($1) }.sorted()
    var decodeTimes: [Double] = []
    for _ in 0..<3 {
        let start = Date()
        _ = try model.decoder.decode(latents: result.latents).host()
        decodeTimes.append(seconds(since: start))
    }
    let line: [String: Any] = [
        "model": folder, "device": chosen.name, "size": size, "steps": steps, "weights": halfWeights ? "16-bit" : "fp32",
        "load_s": loadSeconds, "step_ms": (stepTimes.isEmpty ? 0 : stepTimes[stepTimes.count / 2]) * 1000,
        "decode_ms": decodeTimes.sorted()[1] * 1000, "image_s": wholeSeconds,
        "peak_device_gb": Double(backend.memoryUse.peak) / 1e9,
    ]
    let data = try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
}

/// The device memory SD's VAE (random full-size weights) takes to decode whole images of each
/// size, above what its weights hold: what VAEDecoder's memory rule estimates.
func vaeMemory(sizes: [Int], on chosen: VulkanDevices.Device) throws {
    let backend = try VulkanBackend(device: chosen)
    let decoder = try VAEDecoder(randomSD15Seed: 0, backend: backend)
    for size in sizes {
        backend.releaseUnusedMemory()
        let before = backend.memoryUse.inUse
        backend.resetPeakMemory()
        var generator = TorchGenerator(seed: 0)
        let start = Date()
        _ = try decoder.decode(latents: backend.tensor(generator.randn(shape: [1, 4, size / 8, size / 8]))).host()
        let peak = backend.memoryUse.peak - before
        print(String(format: "%d²: %.0f MB above the weights, %.0f bytes a pixel, %.1f s", size, Double(peak) / 1e6, Double(peak) / Double(size * size),
                     seconds(since: start)))
    }
}

let arguments = Array(CommandLine.arguments.dropFirst())
do {
    switch arguments.first {
    case "devices":
        if let reason = VulkanDevices.unavailableReason() { fail(reason) }
        for device in VulkanDevices.all() { print("gpu:\(device.index)  \(device.summary)") }
    case "parity":
        guard arguments.count >= 2 else { fail("parity needs the fixtures folder (Tests/Fixtures)") }
        if !(try parity(fixtures: arguments[1], on: device(arguments))) { fail("parity failed", status: 1) }
    case "time":
        guard arguments.count >= 2, let size = option("--size", in: arguments).flatMap(Int.init), size > 0, size % 8 == 0 else {
            fail("time needs MODEL_FOLDER --size N (a multiple of 8)")
        }
        let steps = option("--steps", in: arguments).flatMap(Int.init) ?? 25
        try time(folder: arguments[1], size: size, steps: max(steps, 2), halfWeights: !arguments.contains("--fp32-weights"), on: device(arguments))
    case "vae-memory":
        let sizes = arguments.dropFirst().prefix { !$0.hasPrefix("--") }.compactMap(Int.init)
        guard !sizes.isEmpty, sizes.allSatisfy({ $0 > 0 && $0 % 8 == 0 }) else { fail("vae-memory needs image sizes (multiples of 8)") }
        try vaeMemory(sizes: sizes, on: device(arguments))
    default:
        fail("usage: stockwerk-gpu-check devices | parity FIXTURES [--device N] | time MODEL_FOLDER --size N [--steps 25] [--device N] [--fp32-weights] | vae-memory SIZE… [--device N]")
    }
} catch {
    fail("\(error)")
}
