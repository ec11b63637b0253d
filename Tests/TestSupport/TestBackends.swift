import CPUBackend
import Foundation
import Neural
import VulkanBackend

/// The backends every engine parity test runs on, against the same fixtures and bounds: the CPU
/// backend, and the Vulkan backend on the first Vulkan device (a GPU when there is one, else
/// Mesa's software device lavapipe, which Tools/install-deps.sh installs and CI runs on).
public enum TestBackend: String, CaseIterable, Sendable, CustomStringConvertible {
    case cpu, vulkan

    public var description: String { rawValue }

    /// The backend; for Vulkan an error saying what to install when there is no device (so the
    /// test fails, never skips, where CI should have one).
    public func get() throws -> any Backend {
        switch self {
        case .cpu: return CPUBackend.shared
        case .vulkan: return try Self.vulkanBackend.get()
        }
    }

    public static let vulkanBackend = Result { () throws -> VulkanBackend in
        if let reason = VulkanDevices.unavailableReason() { throw VulkanError(reason + " (Tools/install-deps.sh installs Mesa's software device)") }
        let devices = VulkanDevices.all()
        guard let device = devices.first(where: { $0.kind != .cpu }) ?? devices.first else {
            throw VulkanError("no Vulkan device: install mesa-vulkan-drivers (Tools/install-deps.sh)")
        }
        return try VulkanBackend(device: device)
    }
}

/// Models loaded once per key (a fixture on a backend) and shared by tests running in parallel.
public final class ModelCache<Model>: @unchecked Sendable {
    private var models: [String: Model] = [:]
    private let lock = NSLock()

    public init() {}

    public func model(_ key: String, load: () throws -> Model) throws -> Model {
        lock.lock()
        defer { lock.unlock() }
        if let model = models[key] { return model }
        let model = try load()
        models[key] = model
        return model
    }
}
