import AtomicFiles
import Foundation

/// The sampler names users write (`--sampler`, workflow `sampler:`), mapped to schedulers.
public enum Sampler: String, CaseIterable, Sendable {
    case ddim, euler, eulerAncestral = "euler-a", dpmpp2M = "dpmpp-2m", dpmpp2MKarras = "dpmpp-2m-karras", lcm

    public func makeScheduler(config: SchedulerConfig, steps: Int) -> Scheduler {
        switch self {
        case .ddim: return DDIMScheduler(config: config, steps: steps)
        case .euler: return EulerScheduler(config: config, steps: steps)
        case .eulerAncestral: return EulerScheduler(config: config, steps: steps, ancestral: true)
        case .dpmpp2M: return DPMSolverScheduler(config: config, steps: steps)
        case .dpmpp2MKarras: return DPMSolverScheduler(config: config, steps: steps, karras: true)
        case .lcm: return LCMScheduler(config: config, steps: steps)
        }
    }
}

extension SchedulerConfig {
    /// Reads a diffusers `scheduler/scheduler_config.json`; unknown keys are ignored, missing ones
    /// take diffusers' defaults for Stable Diffusion.
    public static func load(_ path: String) throws -> SchedulerConfig {
        guard let data = RegularFile.contents(atPath: path) else {
            throw DiffusionError.modelFiles(path: path, reason: "the scheduler config is missing")
        }
        do { return try JSONDecoder().decode(SchedulerConfig.self, from: data) } catch {
            throw DiffusionError.modelFiles(path: path, reason: "not a valid scheduler config: \(error)")
        }
    }
}
