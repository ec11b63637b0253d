import CVulkan
import Neural

/// A tensor's memory on a Vulkan device: `count` Float32 values. Freed when the last tensor
/// holding it goes (after any recorded work that uses it has run).
final class VulkanBuffer: TensorBuffer, @unchecked Sendable {
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
