import CVulkan
import Foundation
import Neural

/// The engine on a GPU through Vulkan compute (docs/gpu.md). Tensors live in device memory and
/// ops are compute kernels recorded into batches that run when a result is read back, so a whole
/// denoising step goes to the GPU without a round trip. Float32 throughout.
///
/// Only the token embedding reads host memory (its table stays there; a prompt needs 77 rows).
/// The backend needs nothing but the Vulkan loader: no oneDNN, no BLAS (the GPU check runs on it).
public final class VulkanBackend: Backend, @unchecked Sendable {
    public let name: String
    public let precision: OpPrecisions = .fp32
    public let device: VulkanDevices.Device
    let context: OpaquePointer
    private var kernels: VulkanKernels!
    /// Weights whose values are all exactly fp16 (a 16-bit checkpoint's) stay in 16 bits on the
    /// device and are widened exactly as the kernels read them: half the device memory, the same results.
    public let keepsHalfWeights: Bool
    /// Resampling taps on the device, uploaded once per geometry (an upload ends the batch).
    /// (Raw device buffers: a VulkanBuffer would hold its backend, and this backend would never go.)
    private var tapBuffers: [TapGeometry: (buffer: DeviceMemory, outputCount: Int)] = [:]
    private let tapLock = NSLock()

    /// Opens `device` (VulkanDevices.all()); an error naming the device and what to do when it
    /// cannot be used. `staging`: move data through a staging buffer as on a discrete GPU (tests).
    public init(device: VulkanDevices.Device, keepingHalfWeights: Bool = false, staging: Bool = false) throws {
        var error = [CChar](repeating: 0, count: 512)
        guard let context = sw_vk_open(Int32(device.index), staging ? 1 : 0, &error, error.count) else {
            throw VulkanError("cannot use \(device.summary): \(cText(error)); use --device cpu")
        }
        self.context = context
        self.device = device
        keepsHalfWeights = keepingHalfWeights
        name = "vulkan (\(device.name))"
        kernels = VulkanKernels(context: context)
    }

    deinit {
        for taps in tapBuffers.values { sw_vk_buffer_release(context, taps.buffer.pointer) }
        kernels = nil  // its pipelines belong to the context
        sw_vk_close(context)
    }

    /// Device memory handed out to tensors now, and the most there has been.
    public var memoryUse: (inUse: UInt64, peak: UInt64) {
        var inUse: UInt64 = 0, peak: UInt64 = 0
        sw_vk_memory_use(context, &inUse, &peak)
        return (inUse, peak)
    }

    public var deviceMemoryBytes: UInt64? { device.memoryBytes }

    /// Starts measuring `memoryUse.peak` again from what is in use now.
    public func resetPeakMemory() { sw_vk_reset_peak(context) }

    // MARK: Memory

    /// A tensor of this backend: uploaded now; if the device is out of memory, kept on the host
    /// (the protocol's `tensor` cannot fail) and uploaded by the first op that needs it, which can.
    public func tensor(_ host: HostTensor) -> Tensor {
        (try? upload(host)) ?? onHost(host)
    }

    /// `values` kept in host memory as a tensor of this backend.
    func onHost(_ values: HostTensor) -> Tensor {
        Tensor(shape: values.shape, dtype: .f32, buffer: VulkanHostBuffer(owner: self, values: values))
    }

    /// `values` as fp16 bits two to a 32-bit word (the gemm_half/conv_half layout) when every one
    /// is exactly an fp16 number; nil otherwise.
    func uploadHalf(_ values: HostTensor) throws -> VulkanBuffer? {
        var words = [UInt32](repeating: 0, count: (values.count + 1) / 2)
        for (index, value) in values.storage.enumerated() {
            let half = Float16(value)
            guard Float(half).bitPattern == value.bitPattern else { return nil }
            words[index / 2] |= UInt32(half.bitPattern) << (index % 2 == 0 ? 0 : 16)
        }
        let buffer = try VulkanBuffer(self, count: words.count)
        let status = words.withUnsafeBytes { sw_vk_write(context, buffer.pointer, 0, $0.baseAddress, UInt64($0.count)) }
        try check(status, "an upload of \(values.shape) as fp16")
        return buffer
    }

    /// The taps of `geometry` on the device and how many samples they make; computed and
    /// uploaded on first use only.
    func taps(_ geometry: TapGeometry) throws -> (buffer: DeviceMemory, outputCount: Int) {
        tapLock.lock()
        defer { tapLock.unlock() }
        if let cached = tapBuffers[geometry] { return cached }
        let taps = geometry.taps
        let words = taps.words
        guard let pointer = sw_vk_buffer_create(context, UInt64(words.count * 4)) else {
            throw VulkanError("\(device.summary): \(String(cString: sw_vk_last_error(context))); use a smaller image, or --device cpu")
        }
        let status = words.withUnsafeBytes { sw_vk_write(context, pointer, 0, $0.baseAddress, UInt64($0.count)) }
        guard status == 0 else {
            sw_vk_buffer_release(context, pointer)
            throw VulkanError("\(device.summary): an upload of resampling taps failed: \(String(cString: sw_vk_last_error(context)))")
        }
        let uploaded = (buffer: DeviceMemory(pointer: pointer), outputCount: taps.outputCount)
        tapBuffers[geometry] = uploaded
        return uploaded
    }

    func upload(_ values: HostTensor) throws -> Tensor {
        let buffer = try VulkanBuffer(self, count: values.count)
        let status = values.storage.withUnsafeBytes { sw_vk_write(context, buffer.pointer, 0, $0.baseAddress, UInt64($0.count)) }
        try check(status, "an upload of \(values.shape)")
        return Tensor(shape: values.shape, dtype: .f32, buffer: buffer)
    }

    public func host(_ x: Tensor) throws -> HostTensor {
        if let kept = x.buffer as? VulkanHostBuffer { return try kept.values.reshaped(x.shape) }
        guard let buffer = x.buffer as? VulkanBuffer else { return try x.backend.host(x) }
        guard buffer.owner === self else { throw NeuralError.shapeMismatch("a tensor of \(buffer.owner.name) given to \(name)") }
        var storage = [Float](repeating: 0, count: x.count)
        let status = storage.withUnsafeMutableBytes { sw_vk_read(context, buffer.pointer, 0, $0.baseAddress, UInt64($0.count)) }
        try check(status, "a read of \(x.shape)")
        return HostTensor(shape: x.shape, storage: storage)
    }

    /// `x`'s device memory, uploading a tensor that is still on the host.
    func gpu(_ x: Tensor) throws -> VulkanBuffer {
        if let buffer = x.buffer as? VulkanBuffer {
            guard buffer.owner === self else { throw NeuralError.shapeMismatch("a tensor of \(buffer.owner.name) given to \(name)") }
            return buffer
        }
        return try upload(try x.backend.host(x)).buffer as! VulkanBuffer
    }

    func output(_ shape: [Int]) throws -> (Tensor, VulkanBuffer) {
        let buffer = try VulkanBuffer(self, count: shape.reduce(1, *))
        return (Tensor(shape: shape, dtype: .f32, buffer: buffer), buffer)
    }

    /// Tensors here are Float32 (16-bit weights are a storage detail of prepared layers).
    public func cast(_ x: Tensor, to dtype: DType) throws -> Tensor {
        guard dtype == .f32 else { throw NeuralError.shapeMismatch("\(name) computes in Float32; \(dtype.rawValue) tensors are a CPU backend feature") }
        return x
    }

    public func releaseUnusedMemory() { _ = sw_vk_flush(context) }

    func check(_ status: Int32, _ what: String) throws {
        guard status == 0 else { throw VulkanError("\(device.summary): \(what) failed: \(String(cString: sw_vk_last_error(context)))") }
    }

    // MARK: Dispatching

    /// Records `kind` over `groups` work groups with `buffers` and the push-constant `words`.
    func run(_ kind: VulkanKernel, _ buffers: [any DeviceBuffer], _ words: [UInt32], groups: (x: Int, y: Int, z: Int)) throws {
        guard buffers.count == Int(kind.buffers), words.count == Int(kind.pushWords) else {
            throw VulkanError("internal error: the \(kind.rawValue) kernel called with \(buffers.count) buffers and \(words.count) words")
        }
        guard groups.x > 0, groups.y > 0, groups.z > 0 else { return }
        let kernel = try kernels.kernel(kind)
        let pointers: [OpaquePointer?] = buffers.map { $0.pointer }
        let status = pointers.withUnsafeBufferPointer { list in
            words.withUnsafeBytes { push in
                sw_vk_dispatch(context, kernel, list.baseAddress, push.baseAddress, UInt32(groups.x), UInt32(groups.y), UInt32(groups.z))
            }
        }
        try check(status, "the \(kind.rawValue) kernel")
    }

    /// Work groups of 256 for `count` elements, folded into y past the 65535 limit of x.
    func elementGroups(_ count: Int) -> (x: Int, y: Int, z: Int) {
        let groups = (count + 255) / 256
        return (min(groups, 65535), (groups + 65534) / 65535, 1)
    }

    /// One work group per unit, folded the same way.
    func unitGroups(_ units: Int) -> (x: Int, y: Int, z: Int) { (min(units, 65535), (units + 65534) / 65535, 1) }
}

extension Float {
    /// As a push-constant word.
    var word: UInt32 { bitPattern }
}
