import CVulkan
import Foundation
import Neural

/// The compute kernels (Sources/CVulkan/shaders, compiled into spirv.c) and how many buffers and
/// push-constant words each takes.
enum VulkanKernel: String, CaseIterable {
    case gemm, conv, unary, binary, copy, normalize, softmax, geglu, resample, attention
    /// gemm and conv reading their weights from fp16 values (16-bit weights).
    case gemmHalf = "gemm_half", convHalf = "conv_half"

    var buffers: UInt32 {
        switch self {
        case .gemm, .conv, .gemmHalf, .convHalf, .normalize, .attention: return 4
        case .binary, .resample: return 3
        case .unary, .copy, .geglu: return 2
        case .softmax: return 1
        }
    }

    /// Push constants, in 32-bit words (the shader's Parameters block).
    var pushWords: UInt32 {
        switch self {
        case .gemm, .gemmHalf: return 13
        case .conv, .convHalf: return 23
        case .unary: return 4
        case .binary: return 12
        case .copy: return 16
        case .normalize: return 5
        case .softmax: return 5
        case .geglu: return 2
        case .resample: return 6
        case .attention: return 8
        }
    }
}

/// Built kernels of one device, made on first use.
final class VulkanKernels: @unchecked Sendable {
    private let context: OpaquePointer
    private var built: [VulkanKernel: OpaquePointer] = [:]
    private let lock = NSLock()

    init(context: OpaquePointer) { self.context = context }

    deinit { for kernel in built.values { sw_vk_kernel_destroy(context, kernel) } }

    func kernel(_ kind: VulkanKernel) throws -> OpaquePointer {
        lock.lock()
        defer { lock.unlock() }
        if let kernel = built[kind] { return kernel }
        var size = 0
        guard let code = sw_vk_spirv(kind.rawValue, &size) else { throw NeuralError.shapeMismatch("no SPIR-V for the Vulkan kernel \(kind.rawValue)") }
        var error = [CChar](repeating: 0, count: 512)
        guard let kernel = sw_vk_kernel_create(context, code, size, kind.buffers, kind.pushWords * 4, &error, error.count) else {
            throw VulkanError("could not build the Vulkan kernel \(kind.rawValue): \(cText(error))")
        }
        built[kind] = kernel
        return kernel
    }
}

/// A Vulkan failure: what went wrong and on which device, with what to do.
public struct VulkanError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A C string in `chars` (NUL-terminated) as text.
func cText(_ chars: [CChar]) -> String {
    String(decoding: chars.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
