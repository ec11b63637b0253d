import CPUBackend
import CVulkan
import Foundation
import Neural

/// The engine on a GPU through Vulkan compute (docs/gpu.md). Tensors live in device memory and
/// ops are compute kernels recorded into batches that run when a result is read back, so a whole
/// denoising step goes to the GPU without a round trip. Float32 throughout.
///
/// Ops without a kernel yet (`hostOps`) run on the CPU backend on copies of their inputs and are
/// uploaded again: correct, but a round trip each; every other op never leaves the device.
public final class VulkanBackend: Backend, @unchecked Sendable {
    public let name: String
    public let precision: OpPrecisions = .fp32
    public let device: VulkanDevices.Device
    let context: OpaquePointer
    private var kernels: VulkanKernels!
    /// Where `hostOps` run.
    let cpu = CPUBackend.shared
    /// Weights whose values are all exactly fp16 (a 16-bit checkpoint's) stay in 16 bits on the
    /// device and are widened exactly as the kernels read them: half the device memory, the same results.
    public let keepsHalfWeights: Bool

    /// The ops that run on the CPU backend (on copies), for docs and tests.
    public static let hostOps: Set<String> = ["embedding", "resize", "firResample", "cast", "allFinite"]

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
        kernels = nil  // its pipelines belong to the context
        sw_vk_close(context)
    }

    /// Device memory handed out to tensors now, and the most there has been.
    public var memoryUse: (inUse: UInt64, peak: UInt64) {
        var inUse: UInt64 = 0, peak: UInt64 = 0
        sw_vk_memory_use(context, &inUse, &peak)
        return (inUse, peak)
    }

    // MARK: Memory

    /// A tensor of this backend: uploaded now; if the device is out of memory, kept on the host
    /// (the protocol's `tensor` cannot fail) and uploaded by the first op that needs it, which can.
    public func tensor(_ host: HostTensor) -> Tensor {
        (try? upload(host)) ?? cpu.tensor(host)
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

    func upload(_ values: HostTensor) throws -> Tensor {
        let buffer = try VulkanBuffer(self, count: values.count)
        let status = values.storage.withUnsafeBytes { sw_vk_write(context, buffer.pointer, 0, $0.baseAddress, UInt64($0.count)) }
        try check(status, "an upload of \(values.shape)")
        return Tensor(shape: values.shape, dtype: .f32, buffer: buffer)
    }

    public func host(_ x: Tensor) throws -> HostTensor {
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

    public func cast(_ x: Tensor, to dtype: DType) throws -> Tensor {
        dtype == .f32 ? x : try cpu.cast(cpu.tensor(try self.host(x)), to: dtype)
    }

    public func releaseUnusedMemory() { _ = sw_vk_flush(context) }

    func check(_ status: Int32, _ what: String) throws {
        guard status == 0 else { throw VulkanError("\(device.summary): \(what) failed: \(String(cString: sw_vk_last_error(context)))") }
    }

    // MARK: Dispatching

    /// Records `kind` over `groups` work groups with `buffers` and the push-constant `words`.
    func run(_ kind: VulkanKernel, _ buffers: [VulkanBuffer], _ words: [UInt32], groups: (x: Int, y: Int, z: Int)) throws {
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

    /// A CPU-backend op on host copies of `inputs`, its result uploaded (`hostOps`).
    func onHost(_ inputs: [Tensor], _ body: ([Tensor]) throws -> Tensor) throws -> Tensor {
        let copies = try inputs.map { cpu.tensor(try self.host($0)) }
        return try upload(try cpu.host(try body(copies)))
    }
}

extension Float {
    /// As a push-constant word.
    var word: UInt32 { bitPattern }
}
