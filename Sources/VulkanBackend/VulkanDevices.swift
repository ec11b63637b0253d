import CVulkan

/// The Vulkan devices on this machine, found through the loader opened at run time.
public enum VulkanDevices {
    public struct Device: Sendable, Equatable {
        public enum Kind: String, Sendable { case other, integratedGPU = "integrated GPU", discreteGPU = "discrete GPU", virtualGPU = "virtual GPU", cpu = "CPU" }
        public var index: Int
        public var name: String
        public var kind: Kind
        public var memoryBytes: UInt64
        public var float16: Bool, storage16: Bool, cooperativeMatrix: Bool
        public var subgroupSize: Int

        /// "NVIDIA H200 (discrete GPU, 140 GB)".
        public var summary: String { "\(name) (\(kind.rawValue), \(memoryBytes >> 30) GB)" }
    }

    /// Why Vulkan is unusable here (no loader, no driver), or nil when it started.
    public static func unavailableReason() -> String? {
        var error = [CChar](repeating: 0, count: 512)
        return sw_vk_initialize(&error, error.count) == 0 ? nil : cText(error)
    }

    /// Every device the loader reports (empty when Vulkan is unavailable).
    public static func all() -> [Device] {
        guard unavailableReason() == nil else { return [] }
        return (0..<Int(sw_vk_device_count())).compactMap { index in
            var info = sw_vk_device_info()
            guard sw_vk_describe_device(Int32(index), &info) == 0 else { return nil }
            let name = withUnsafeBytes(of: info.name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            let kinds: [Device.Kind] = [.other, .integratedGPU, .discreteGPU, .virtualGPU, .cpu]
            return Device(index: index, name: name, kind: kinds.indices.contains(Int(info.kind)) ? kinds[Int(info.kind)] : .other,
                          memoryBytes: info.memory_bytes, float16: info.float16 != 0, storage16: info.storage16 != 0,
                          cooperativeMatrix: info.cooperative_matrix != 0, subgroupSize: Int(info.subgroup_size))
        }
    }

    /// The device `auto` picks: a discrete GPU, else an integrated or virtual one; never a CPU
    /// implementation (lavapipe), which is slower than the CPU backend. nil when there is none.
    public static func preferred() -> Device? {
        let devices = all()
        return devices.first { $0.kind == .discreteGPU } ?? devices.first { $0.kind == .integratedGPU || $0.kind == .virtualGPU }
    }
}
