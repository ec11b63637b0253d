import AtomicFiles
import CPUBackend
import Foundation
import Neural
import VulkanBackend

/// The backend every command's models run on, in the precision asked for. One place to choose it.
public enum EngineBackend {
    /// Float32 on the CPU: the correctness baseline.
    public static var current: any Backend { CPUBackend.shared }

    /// The CPU backend for `precision`; `auto` is resolved by `resolve`.
    public static func backend(_ precision: Precision) -> any Backend { backend(resolve(precision)) }

    /// The CPU backend computing each op kind in its precision; `halfWeights`: Float32 products
    /// keep 16-bit checkpoints' weights in 16 bits (the same results, half the memory).
    public static func backend(_ ops: OpPrecisions, halfWeights: Bool = false) -> any Backend {
        ops == .fp32 && !halfWeights ? CPUBackend.shared : CPUBackend(precision: ops, keepingHalfWeights: halfWeights)
    }

    /// The backend for a model on `device` (EngineDevice.vulkanDevice(); nil: the CPU): a GPU
    /// computes in fp32 (an error for another precision); opened once per device and process.
    public static func backend(_ ops: OpPrecisions, halfWeights: Bool, on device: VulkanDevices.Device?) throws -> any Backend {
        guard let device else { return backend(ops, halfWeights: halfWeights) }
        guard ops == .fp32 else {
            throw EngineDeviceError(message: "the GPU backend computes in fp32; \(ops.name) runs on the CPU only",
                                    hint: "use --precision fp32 (engine: {precision: fp32}) with the GPU, or --device cpu")
        }
        openLock.lock()
        defer { openLock.unlock() }
        let key = "\(device.index) \(halfWeights)"
        if let open = openGPUs[key] { return open }
        let opened = try VulkanBackend(device: device, keepingHalfWeights: halfWeights)
        openGPUs[key] = opened
        return opened
    }

    nonisolated(unsafe) private static var openGPUs: [String: VulkanBackend] = [:]
    private static let openLock = NSLock()

    /// Whether the model at `modelPath` keeps its weights in 16 bits: as asked, or for `auto` when
    /// its weights as Float32 would take more than a third of this machine's memory (SDXL's 14 GB
    /// on a 24 GB machine; SD 1.5's 4.3 GB only below 13 GB). Only the memory and a little speed
    /// depend on it, never the pixels.
    /// On a GPU (`device`), its memory is what counts.
    public static func keepsHalfWeights(_ storage: WeightStorage, modelPath: String, extraPaths: [String] = [], device: VulkanDevices.Device? = nil) -> Bool {
        switch storage {
        case .fp32: return false
        case .sixteenBit: return true
        case .auto:
            let floats = ([modelPath] + extraPaths).reduce(0) { $0 + SafeTensorsFile.elementCount(under: $1) }
            return floats * 4 > Int((device?.memoryBytes ?? ProcessInfo.processInfo.physicalMemory) / 3)
        }
    }

    /// What each op kind computes in: fp32 and bf16 as asked, `auto` from this CPU's measurement
    /// (measured once, in a second or two, then cached per CPU model and oneDNN version).
    /// `remember: false` (a dry run) measures without writing the cache.
    public static func resolve(_ precision: Precision, remember: Bool = true) -> OpPrecisions {
        switch precision {
        case .fp32: return .fp32
        case .bf16: return .bf16
        case .auto: return autoMeasurement(remember: remember).measurement.choice
        }
    }

    /// This CPU's measurement and whether it came from the cache.
    public static func autoMeasurement(remember: Bool = true) -> (measurement: PrecisionProbe.Measurement, cached: Bool) {
        let key = "\(PrecisionProbe.cpuModel) | oneDNN \(CPUBackend.oneDNNVersion)"
        var cache = RegularFile.contents(atPath: cacheFile()).flatMap { try? JSONDecoder().decode([String: PrecisionProbe.Measurement].self, from: $0) } ?? [:]
        if let known = cache[key] { return (known, true) }
        let measured = PrecisionProbe.measure()
        cache[key] = measured
        // A cache that cannot be written only costs the next run the measurement again.
        if remember, let data = try? JSONEncoder().encode(cache) { try? AtomicFile.write(data, to: cacheFile()) }
        return (measured, false)
    }

    /// `$XDG_CACHE_HOME/stockwerk/precision.json` (~/.cache/stockwerk/precision.json).
    static func cacheFile() -> String {
        URL(fileURLWithPath: ModelLocator.hashCacheFile()).deletingLastPathComponent().path + "/precision.json"
    }
}
