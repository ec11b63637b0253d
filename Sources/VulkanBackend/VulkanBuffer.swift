import CVulkan
import Neural

/// Device memory a kernel can read or write.
protocol DeviceBuffer { var pointer: OpaquePointer { get } }

/// Device memory the backend itself holds (not a tensor's).
struct DeviceMemory: DeviceBuffer { let pointer: OpaquePointer }

/// A tensor's memory on a Vulkan device: `count` Float32 values. Freed when the last tensor
/// holding it goes (after any recorded work that uses it has run).
final class VulkanBuffer: TensorBuffer, DeviceBuffer, @unchecked Sendable {
    let owner: VulkanBackend
    let pointer: OpaquePointer
    let count: Int

    init(_ owner: VulkanBackend, count: Int) throws {
        guard let pointer = sw_vk_buffer_create(owner.context, UInt64(max(count, 1) * 4)) else {
            throw VulkanError("\(owner.device.summary): \(String(cString: sw_vk_last_error(owner.context))); use a smaller image, or --device cpu")
        }
        self.owner = owner
        self.pointer = pointer
        self.count = count
    }

    deinit { sw_vk_buffer_release(owner.context, pointer) }

    var backend: any Backend { owner }
}

/// A tensor of a Vulkan backend kept in host memory: a token table (a prompt reads 77 of its
/// rows), or a tensor made while the device was out of memory, uploaded by the first op that needs it.
final class VulkanHostBuffer: TensorBuffer, @unchecked Sendable {
    let owner: VulkanBackend
    let values: HostTensor

    init(owner: VulkanBackend, values: HostTensor) {
        self.owner = owner
        self.values = values
    }

    var backend: any Backend { owner }
}
