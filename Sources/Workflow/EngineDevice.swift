import VulkanBackend

/// Where the engine runs (`--device`, workflow `engine: {device: …}`): `cpu`; `gpu` (the
/// preferred Vulkan GPU) or `gpu:N` (device N as `stockwerk models` lists it, lavapipe included);
/// `auto`: a discrete or integrated GPU when Vulkan has one, else the CPU.
public enum EngineDevice: Sendable, Equatable, CustomStringConvertible {
    case auto, cpu
    case gpu(Int?)

    /// "auto", "cpu", "gpu", "gpu:1"; nil for anything else.
    public init?(_ text: String) {
        switch text.lowercased() {
        case "auto": self = .auto
        case "cpu": self = .cpu
        case "gpu": self = .gpu(nil)
        default:
            guard text.lowercased().hasPrefix("gpu:"), let index = Int(text.dropFirst(4)), index >= 0 else { return nil }
            self = .gpu(index)
        }
    }

    public var description: String {
        switch self {
        case .auto: return "auto"
        case .cpu: return "cpu"
        case .gpu(let index): return index.map { "gpu:\($0)" } ?? "gpu"
        }
    }

    /// What the values mean, for errors.
    public static let choices = "auto, cpu, gpu or gpu:N (stockwerk models lists the GPUs)"

    /// The Vulkan device this choice names, found without opening it: nil for the CPU (`cpu`, or
    /// `auto` where no GPU is found). An error for a `gpu` choice that names no device.
    public func vulkanDevice() throws -> VulkanDevices.Device? {
        switch self {
        case .cpu: return nil
        case .auto: return VulkanDevices.preferred()
        case .gpu(let index):
            if let reason = VulkanDevices.unavailableReason() {
                throw EngineDeviceError(message: "--device \(self): Vulkan is not available: \(reason)", hint: "use --device cpu, or install the GPU's Vulkan driver")
            }
            let devices = VulkanDevices.all()
            if let index {
                guard let device = devices.first(where: { $0.index == index }) else {
                    throw EngineDeviceError(message: "--device \(self): there is no Vulkan device \(index) (\(devices.count) found)",
                                            hint: "stockwerk models lists the devices; or use --device cpu")
                }
                return device
            }
            guard let device = VulkanDevices.preferred() else {
                throw EngineDeviceError(message: "--device gpu: no GPU found (Vulkan devices: \(devices.map(\.summary).joined(separator: ", ")))",
                                        hint: "use --device cpu, or gpu:N to name a device stockwerk models lists")
            }
            return device
        }
    }
}

/// A device choice that cannot be met, with what to do.
public struct EngineDeviceError: Error, Sendable, CustomStringConvertible {
    public var message: String, hint: String
    public var description: String { "error: \(message)\nhint: \(hint)" }
}
