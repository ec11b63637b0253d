import CPUBackend
import Diffusion
import Foundation
import Neural
import TestSupport
import Testing
@testable import VulkanBackend

/// The Vulkan backend against the CPU backend, op by op, and whole pipelines against the same
/// diffusers fixtures the CPU backend is held to. CI runs them on Mesa's software device
/// (lavapipe, Debian mesa-vulkan-drivers, installed by Tools/install-deps.sh); a machine with a
/// GPU runs them there.
@Suite struct VulkanBackendTests {
    /// One backend for the suite: the first device (a GPU when there is one, else lavapipe).
    static let backend = TestBackend.vulkanBackend
    let cpu = CPUBackend.shared

    func gpu() throws -> VulkanBackend { try Self.backend.get() }

    func random(_ shape: [Int], seed: UInt64, scale: Float = 1) -> HostTensor {
        var generator = TorchGenerator(seed: seed)
        return HostTensor(shape: shape, storage: generator.randn(count: shape.reduce(1, *)).map { $0 * scale })
    }

    /// The largest difference between the two backends' results, relative to the CPU's largest value.
    func gap(_ vulkan: Tensor, _ reference: Tensor) throws -> Float {
        let a = try vulkan.host(), b = try reference.host()
        guard a.shape == b.shape else { return .infinity }
        let scale = max(b.storage.map(abs).max() ?? 1, 1e-6)
        return (zip(a.storage, b.storage).map { abs($0 - $1) }.max() ?? 0) / scale
    }

    @Test func findsADeviceAndSaysWhatItIs() throws {
        let devices = VulkanDevices.all()
        #expect(!devices.isEmpty, "\(VulkanDevices.unavailableReason() ?? "no devices")")
        let backend = try gpu()
        #expect(backend.name.hasPrefix("vulkan (") && !backend.device.name.isEmpty && backend.device.memoryBytes > 0)
    }

    @Test func uploadsAndReadsBackExactly() throws {
        let backend = try gpu()
        let values = random([3, 5, 7], seed: 1)
        let tensor = backend.tensor(values)
        #expect(tensor.buffer is VulkanBuffer)
        #expect(try tensor.host().storage == values.storage)
    }

    @Test func linearLayersMatchTheCPU() throws {
        let backend = try gpu()
        let x = random([77, 96], seed: 2), weight = random([130, 96], seed: 3, scale: 0.1), bias = random([130], seed: 4)
        for b in [bias, nil] {
            let ours = try backend.linear(backend.tensor(x), try backend.prepareLinear(weight: weight, bias: b))
            let theirs = try cpu.linear(cpu.tensor(x), try cpu.prepareLinear(weight: weight, bias: b))
            #expect(try gap(ours, theirs) < 1e-5)
        }
        let geglu = random([260, 96], seed: 5, scale: 0.1)
        let ours = try backend.linearGEGLU(backend.tensor(x), try backend.prepareLinear(weight: geglu, bias: random([260], seed: 6)))
        let theirs = try cpu.linearGEGLU(cpu.tensor(x), try cpu.prepareLinear(weight: geglu, bias: random([260], seed: 6)))
        #expect(try gap(ours, theirs) < 1e-5)
    }

    /// 3×3 same-size, 1×1, stride 2 with bottom/right padding only (the VAE encoder's), and a residual.
    @Test(arguments: [(16, 24, 3, 1, 1, 1), (24, 8, 1, 1, 0, 0), (8, 16, 3, 2, 0, 1)])
    func convolutionsMatchTheCPU(inputs: Int, outputs: Int, kernel: Int, stride: Int, padding: Int, paddingEnd: Int) throws {
        let backend = try gpu()
        let x = random([2, inputs, 19, 13], seed: 7)
        let weight = random([outputs, inputs, kernel, kernel], seed: 8, scale: 0.2), bias = random([outputs], seed: 9)
        let ours = try backend.conv2d(backend.tensor(x), try backend.prepareConvolution(weight: weight, bias: bias, stride: stride, padding: padding, paddingEnd: paddingEnd))
        let plain = try cpu.prepareConvolution(weight: weight, bias: bias, stride: stride, padding: padding, paddingEnd: paddingEnd)
        let theirs = try cpu.conv2d(cpu.tensor(x), plain)
        #expect(try gap(ours, theirs) < 1e-5)
        let residual = random(theirs.shape, seed: 10)
        let withResidual = try backend.conv2d(backend.tensor(x), try backend.prepareConvolution(weight: weight, bias: nil, stride: stride, padding: padding,
                                                                                                paddingEnd: paddingEnd), adding: backend.tensor(residual))
        let reference = try cpu.conv2d(cpu.tensor(x), try cpu.prepareConvolution(weight: weight, bias: nil, stride: stride, padding: padding, paddingEnd: paddingEnd),
                                       adding: cpu.tensor(residual))
        #expect(try gap(withResidual, reference) < 1e-5)
    }

    @Test func normsMatchTheCPU() throws {
        let backend = try gpu()
        let x = random([2, 32, 9, 7], seed: 11, scale: 3), scale = random([32], seed: 12), shift = random([32], seed: 13)
        for activation in [nil, Activation.silu, .gelu] {
            let ours = try backend.groupNorm(backend.tensor(x), groups: 8, scale: backend.tensor(scale), shift: backend.tensor(shift), epsilon: 1e-5, activation: activation)
            let theirs = try cpu.groupNorm(cpu.tensor(x), groups: 8, scale: cpu.tensor(scale), shift: cpu.tensor(shift), epsilon: 1e-5, activation: activation)
            #expect(try gap(ours, theirs) < 1e-5, "\(String(describing: activation))")
        }
        let rows = random([77, 48], seed: 14, scale: 2), weight = random([48], seed: 15), offset = random([48], seed: 16)
        let ours = try backend.layerNorm(backend.tensor(rows), scale: backend.tensor(weight), shift: backend.tensor(offset), epsilon: 1e-5)
        let theirs = try cpu.layerNorm(cpu.tensor(rows), scale: cpu.tensor(weight), shift: cpu.tensor(offset), epsilon: 1e-5)
        #expect(try gap(ours, theirs) < 1e-5)
    }

    @Test func attentionMatchesTheCPU() throws {
        let backend = try gpu()
        let q = random([70, 64], seed: 17), k = random([77, 64], seed: 18), v = random([77, 64], seed: 19)
        let ours = try backend.attention(query: backend.tensor(q), key: backend.tensor(k), value: backend.tensor(v), heads: 4, causal: false)
        let theirs = try cpu.attention(query: cpu.tensor(q), key: cpu.tensor(k), value: cpu.tensor(v), heads: 4, causal: false)
        #expect(try gap(ours, theirs) < 1e-5)
        let selfKeys = random([70, 64], seed: 20), selfValues = random([70, 64], seed: 21)
        let causal = try backend.attention(query: backend.tensor(q), key: backend.tensor(selfKeys), value: backend.tensor(selfValues), heads: 2, causal: true)
        let causalReference = try cpu.attention(query: cpu.tensor(q), key: cpu.tensor(selfKeys), value: cpu.tensor(selfValues), heads: 2, causal: true)
        #expect(try gap(causal, causalReference) < 1e-5)
        let packed = try backend.packedAttention(query: backend.tensor(q), key: backend.tensor(selfKeys), value: backend.tensor(selfValues), heads: 2, lengths: [30, 25, 15])
        let packedReference = try cpu.packedAttention(query: cpu.tensor(q), key: cpu.tensor(selfKeys), value: cpu.tensor(selfValues), heads: 2, lengths: [30, 25, 15])
        #expect(try gap(packed, packedReference) < 1e-5)
    }

    /// Heads of SD 1.5's widths: 40 and 80 (the flash kernel), 160 (too wide for it: GEMMs and the
    /// softmax kernel), token counts that are not a multiple of the kernel's 16-row blocks.
    @Test func attentionOfEveryHeadWidthMatchesTheCPU() throws {
        let backend = try gpu()
        for (width, heads) in [(80, 2), (160, 2), (320, 2), (128, 1)] {
            let q = random([37, width], seed: 60), k = random([53, width], seed: 61), v = random([53, width], seed: 62)
            let ours = try backend.attention(query: backend.tensor(q), key: backend.tensor(k), value: backend.tensor(v), heads: heads, causal: false)
            let theirs = try cpu.attention(query: cpu.tensor(q), key: cpu.tensor(k), value: cpu.tensor(v), heads: heads, causal: false)
            #expect(try gap(ours, theirs) < 1e-5, "head width \(width / heads)")
            let causal = try backend.attention(query: backend.tensor(k), key: backend.tensor(k), value: backend.tensor(v), heads: heads, causal: true)
            let causalReference = try cpu.attention(query: cpu.tensor(k), key: cpu.tensor(k), value: cpu.tensor(v), heads: heads, causal: true)
            #expect(try gap(causal, causalReference) < 1e-5, "causal, head width \(width / heads)")
        }
    }

    /// Every interpolation mode, enlarging and shrinking (by whole and odd factors), and the FIR
    /// resamplers, in the resample kernel against the CPU backend's own loops.
    @Test func resamplingMatchesTheCPU() throws {
        let backend = try gpu()
        let x = random([2, 3, 12, 10], seed: 63)
        let (gx, cx) = (backend.tensor(x), cpu.tensor(x))
        for mode in ResizeMode.allCases {
            for (height, width) in [(24, 20), (36, 30), (17, 23), (5, 4), (12, 7)] {
                let ours = try backend.resize(gx, height: height, width: width, mode: mode)
                #expect(ours.shape == [2, 3, height, width])
                #expect(try gap(ours, cpu.resize(cx, height: height, width: width, mode: mode)) < 1e-6, "\(mode) to \(height)x\(width)")
            }
        }
        let same = try backend.resize(gx, height: 12, width: 10, mode: .bicubic)
        #expect(try same.host() == x)
        for direction in [FIRDirection.down, .up] {
            #expect(try gap(backend.firResample(gx, direction), cpu.firResample(cx, direction)) < 1e-6, "FIR \(direction)")
        }
        #expect(throws: NeuralError.self) { try backend.firResample(backend.tensor(random([1, 1, 5, 4], seed: 64)), .down) }
    }

    /// What stays in host memory (token tables; tensors made while the device was full) is
    /// uploaded by the first op that reads it; casts other than to Float32 are errors.
    @Test func hostMemoryTensorsAndCasts() throws {
        let backend = try gpu()
        let a = random([4, 6], seed: 65), b = random([4, 6], seed: 66)
        let kept = backend.onHost(a)
        #expect(kept.buffer is VulkanHostBuffer)
        #expect(try backend.add(kept, backend.tensor(b)).host() == cpu.add(cpu.tensor(a), cpu.tensor(b)).host())
        #expect(try backend.cast(kept, to: .f32).host() == a)
        #expect(throws: NeuralError.self) { try backend.cast(backend.tensor(a), to: .bf16) }
    }

    @Test func elementWiseOpsMatchTheCPU() throws {
        let backend = try gpu()
        let a = random([2, 3, 5, 4], seed: 22, scale: 3), b = random([2, 3, 5, 4], seed: 23)
        let (ga, gb, ca, cb) = (backend.tensor(a), backend.tensor(b), cpu.tensor(a), cpu.tensor(b))
        for kind in Activation.allCases { #expect(try gap(backend.activation(ga, kind), cpu.activation(ca, kind)) < 1e-6, "\(kind)") }
        #expect(try gap(backend.add(ga, gb), cpu.add(ca, cb)) == 0)
        #expect(try gap(backend.exp(ga), cpu.exp(ca)) < 1e-6)
        #expect(try gap(backend.clamp(ga, min: -1, max: 0.5), cpu.clamp(ca, min: -1, max: 0.5)) == 0)
        let slopes = HostTensor(shape: [3], storage: [0.2, -0.5, 1.5])
        let preLU = try cpu.preLU(ca, slopes: cpu.tensor(slopes)).host()
        #expect(try gap(backend.preLU(ga, slopes: backend.tensor(slopes)), cpu.tensor(preLU)) < 1e-6)
        #expect(preLU.storage.enumerated().allSatisfy { i, v in let x = a.storage[i]; return v == (x > 0 ? x : x * slopes.storage[(i / 20) % 3]) })
        let broadcast = random([2, 1, 5, 1], seed: 24)
        #expect(try gap(backend.multiply(ga, backend.tensor(broadcast)), cpu.multiply(ca, cpu.tensor(broadcast))) == 0)
        // Five axes: merged into four where the broadcast allows.
        let five = random([2, 3, 2, 5, 4], seed: 67), scale = random([2, 1, 1, 5, 4], seed: 68)
        #expect(try gap(backend.multiply(backend.tensor(five), backend.tensor(scale)), cpu.multiply(cpu.tensor(five), cpu.tensor(scale))) == 0)
        for shift in [random([3], seed: 25), random([2, 3], seed: 26)] {
            #expect(try gap(backend.addPerChannel(ga, backend.tensor(shift)), cpu.addPerChannel(ca, cpu.tensor(shift))) == 0)
        }
        let terms = [(ga, Float(0.3)), (gb, -1.7), (ga, 0.25)], cpuTerms = [(ca, Float(0.3)), (cb, -1.7), (ca, 0.25)]
        #expect(try gap(backend.weightedSum(terms, constant: 0.5), cpu.weightedSum(cpuTerms, constant: 0.5)) < 1e-6)
        #expect(backend.allFinite(ga) && !backend.allFinite(backend.tensor(HostTensor(shape: [2], storage: [1, .nan]))))
    }

    @Test func shapeOpsMatchTheCPU() throws {
        let backend = try gpu()
        let a = random([2, 3, 5, 4], seed: 27), b = random([2, 2, 5, 4], seed: 28)
        let (ga, gb, ca, cb) = (backend.tensor(a), backend.tensor(b), cpu.tensor(a), cpu.tensor(b))
        #expect(try gap(backend.concat([ga, gb], axis: 1), cpu.concat([ca, cb], axis: 1)) == 0)
        #expect(try gap(backend.concat([ga, ga], axis: 0), cpu.concat([ca, ca], axis: 0)) == 0)
        #expect(try gap(backend.slice(ga, axis: 2, range: 1..<4), cpu.slice(ca, axis: 2, range: 1..<4)) == 0)
        #expect(try gap(backend.pad(ga, top: 1, left: 2, bottom: 0, right: 3), cpu.pad(ca, top: 1, left: 2, bottom: 0, right: 3)) == 0)
        let matrix = random([7, 11], seed: 29)
        #expect(try gap(backend.transpose(backend.tensor(matrix)), cpu.transpose(cpu.tensor(matrix))) == 0)
        let table = random([50, 8], seed: 30)
        #expect(try gap(backend.embedding([3, 0, 49, 3], table: backend.embeddingTable(table)), cpu.embedding([3, 0, 49, 3], table: cpu.embeddingTable(table))) == 0)
    }

    /// Bad shapes are errors, as on the CPU, never a trap.
    @Test func badShapesAreErrors() throws {
        let backend = try gpu()
        let x = backend.tensor(random([4, 8], seed: 31))
        #expect(throws: NeuralError.self) { try backend.linear(x, try backend.prepareLinear(weight: random([3, 9], seed: 32), bias: nil)) }
        #expect(throws: NeuralError.self) { try backend.add(x, backend.tensor(random([8, 4], seed: 33))) }
        #expect(throws: NeuralError.self) { try backend.slice(x, axis: 1, range: 6..<9) }
        #expect(throws: NeuralError.self) { try backend.attention(query: x, key: x, value: x, heads: 3, causal: false) }
    }

    /// The tiny SD1-style and SDXL pipelines on the Vulkan backend against diffusers, held to the
    /// CPU backend's bounds: latents within 1e-3, the mean pixel within 1/255.
    @Test(arguments: ["tiny-sd1", "tiny-sdxl"])
    func pipelinesMatchDiffusers(style: String) throws {
        let backend = try gpu()
        let folder = TestSupport.repositoryRoot + "/Tests/Fixtures/pipelines/" + style
        let model = try StableDiffusionModel(path: folder, backend: backend)
        let expected = try SafeTensorsFile(path: folder + "/expected.safetensors")
        let prompt = try #require(expected.metadata["prompt"]), negative = try #require(expected.metadata["negative_prompt"])
        for (key, sampler) in [("txt2img.euler.7.5", Sampler.euler), ("txt2img.dpmpp-2m-karras.7.5", .dpmpp2MKarras)] {
            let request = GenerationRequest(prompt: prompt, negativePrompt: negative, seed: UInt64(try expected.tensor(key + ".seed").storage[0]),
                                            steps: 5, guidance: 7.5, sampler: sampler, width: 16, height: 16)
            let result = try Pipeline(model: model).generate(request)
            #expect(result.latents.buffer is VulkanBuffer, "the latents stayed on the device")
            let latents = try expected.tensor(key + ".latents"), image = try expected.tensor(key + ".image")
            let worst = zip(result.latents.storage, latents.storage).map { abs($0 - $1) }.max() ?? .infinity
            let meanPixel = zip(result.image.storage, image.storage).map { abs($0 - $1) }.reduce(0, +) / Float(image.count)
            #expect(worst <= 1e-3 && meanPixel <= 1.0 / 255, "\(style) \(key): latents \(worst), mean pixel \(meanPixel)")
        }
    }
}

/// The staging path a discrete GPU takes (its memory is not host-visible), forced on this device.
@Suite struct VulkanStagingTests {
    @Test func uploadsComputesAndReadsThroughStaging() throws {
        let device = try #require(VulkanDevices.all().first, "\(VulkanDevices.unavailableReason() ?? "no Vulkan device")")
        let backend = try VulkanBackend(device: device, staging: true)
        var generator = TorchGenerator(seed: 40)
        let values = HostTensor(shape: [3, 70_000], storage: generator.randn(count: 210_000))
        let tensor = backend.tensor(values)
        #expect(try tensor.host().storage == values.storage)
        let sum = try backend.add(tensor, tensor).host()
        #expect(sum.storage == values.storage.map { $0 + $0 })
    }
}

/// 16-bit weights on the device: an fp16 checkpoint's values kept as they are, widened exactly by
/// the kernels, so layers give the Float32 weights' results bit for bit in half the memory.
@Suite struct VulkanHalfWeightsTests {
    @Test func halfWeightsGiveTheSameResultsInHalfTheMemory() throws {
        let device = try #require(VulkanDevices.all().first, "\(VulkanDevices.unavailableReason() ?? "no Vulkan device")")
        let full = try VulkanBackend(device: device), half = try VulkanBackend(device: device, keepingHalfWeights: true)
        var generator = TorchGenerator(seed: 50)
        func fp16(_ shape: [Int]) -> HostTensor {
            HostTensor(shape: shape, storage: generator.randn(count: shape.reduce(1, *)).map { Float(Float16($0 * 0.1)) })
        }
        let weight = fp16([130, 96]), x = fp16([77, 96]), bias = fp16([130])
        let before = half.memoryUse.inUse
        let kept = try half.prepareLinear(weight: weight, bias: nil)
        #expect(half.memoryUse.inUse - before < UInt64(weight.count * 4), "the 16-bit weight took \(half.memoryUse.inUse - before) bytes")
        #expect((kept as? VulkanLinear)?.half == true)
        let same = try full.linear(full.tensor(x), try full.prepareLinear(weight: weight, bias: bias)).host().storage
            == half.linear(half.tensor(x), try half.prepareLinear(weight: weight, bias: bias)).host().storage
        #expect(same)
        let kernel = fp16([16, 8, 3, 3]), image = fp16([1, 8, 11, 9])
        let fullConv = try full.conv2d(full.tensor(image), try full.prepareConvolution(weight: kernel, bias: nil, stride: 1, padding: 1, paddingEnd: 1))
        let halfWeights = try half.prepareConvolution(weight: kernel, bias: nil, stride: 1, padding: 1, paddingEnd: 1)
        #expect((halfWeights as? VulkanConvolution)?.half == true)
        let sameConv = try fullConv.host().storage == half.conv2d(half.tensor(image), halfWeights).host().storage
        #expect(sameConv)
        // A weight with more precision stays Float32.
        let precise = HostTensor(shape: weight.shape, storage: weight.storage.map { $0 + 1e-7 })
        #expect((try half.prepareLinear(weight: precise, bias: nil) as? VulkanLinear)?.half == false)
    }
}
