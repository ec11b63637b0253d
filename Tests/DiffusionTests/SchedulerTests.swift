import Diffusion
import CPUBackend
import Foundation
import Neural
import TestSupport
import Testing

/// Schedulers against diffusers (Tools/reference/build_fixtures.py schedulers): timesteps, sigmas,
/// scaled inputs and every step's outputs (ten or seven steps) for fixed samples and model outputs.
@Suite struct SchedulerTests {
    static let configs: [(String, SchedulerConfig, steps: Int)] = [
        ("sd1_leading_eps", SchedulerConfig(prediction: .epsilon, spacing: .leading), 10),
        ("sd2_leading_v", SchedulerConfig(prediction: .vPrediction, spacing: .leading), 10),
        ("trailing_eps", SchedulerConfig(prediction: .epsilon, spacing: .trailing), 10),
        ("linspace_v", SchedulerConfig(prediction: .vPrediction, spacing: .linspace), 10),
        // Timesteps between integers: Euler interpolates σ there.
        ("linspace_v_7", SchedulerConfig(prediction: .vPrediction, spacing: .linspace), 7),
    ]

    func worst(_ a: Tensor, _ b: Tensor) -> Float {
        a.shape == b.shape ? zip(a.storage, b.storage).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0 : .infinity
    }

    @Test(arguments: ["ddim", "euler", "euler_a", "dpmpp_2m", "dpmpp_2m_karras", "lcm"])
    func stepsMatchDiffusers(kind: String) throws {
        let file = try SafeTensorsFile(path: TestSupport.repositoryRoot + "/Tests/Fixtures/neural/schedulers.safetensors")
        for (name, config, steps) in Self.configs {
            let prefix = "\(kind).\(name)."
            let scheduler: Scheduler
            switch kind {
            case "ddim": scheduler = DDIMScheduler(config: config, steps: steps)
            case "lcm": scheduler = LCMScheduler(config: config, steps: steps)
            case "dpmpp_2m", "dpmpp_2m_karras": scheduler = DPMSolverScheduler(config: config, steps: steps, karras: kind == "dpmpp_2m_karras")
            default: scheduler = EulerScheduler(config: config, steps: steps, ancestral: kind == "euler_a")
            }
            #expect(scheduler.timesteps == (try file.tensor(prefix + "timesteps")).storage, "\(prefix)timesteps")
            let initSigma = try file.tensor(prefix + "init_noise_sigma").storage[0]
            #expect(abs(scheduler.initNoiseSigma - initSigma) <= 1e-5 * initSigma, "\(prefix)init_noise_sigma")
            let sigmas = (scheduler as? EulerScheduler)?.sigmas ?? (scheduler as? DPMSolverScheduler)?.sigmas
            if let sigmas {
                let expected = try file.tensor(prefix + "sigmas").storage
                #expect(sigmas.count == expected.count && zip(sigmas, expected).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, $1) }, "\(prefix)sigmas")
            }
            var generator = TorchGenerator(seed: 99)
            var sample = try file.tensor(prefix + "sample").onCPU
            for index in 0..<steps {
                #expect(worst(try scheduler.scaleModelInput(sample, step: index), try file.tensor(prefix + "scaled.\(index)").onCPU) <= 2e-5,
                        "\(prefix)scaled.\(index)")
                sample = try scheduler.step(try file.tensor(prefix + "model_output.\(index)").onCPU, step: index, sample: sample, generator: &generator)
                let error = worst(sample, try file.tensor(prefix + "prev_sample.\(index)").onCPU)
                #expect(error <= 2e-5, "\(prefix)prev_sample.\(index): \(error)")
                // Continue from diffusers' own sample so an early error does not hide later ones
                // (the multistep history keeps our own x₀ predictions, which match too).
                sample = try file.tensor(prefix + "prev_sample.\(index)").onCPU
            }
        }
    }
}

@Suite struct SchedulerConfigTests {
    @Test func readsADiffusersSchedulerConfig() throws {
        let folder = try TestSupport.temporaryFolder("scheduler")
        // The SD 2.1 (768-v) file as diffusers writes it, with keys we do not use.
        let json = """
            {"_class_name": "DDIMScheduler", "_diffusers_version": "0.8.0", "beta_end": 0.012,
             "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": false,
             "num_train_timesteps": 1000, "prediction_type": "v_prediction", "set_alpha_to_one": false,
             "skip_prk_steps": true, "steps_offset": 1, "trained_betas": null}
            """
        try json.write(toFile: folder + "/scheduler_config.json", atomically: false, encoding: .utf8)
        let config = try SchedulerConfig.load(folder + "/scheduler_config.json")
        #expect(config.prediction == .vPrediction && config.spacing == .leading && config.stepsOffset == 1)
        #expect(Sampler(rawValue: "dpmpp-2m-karras")?.makeScheduler(config: config, steps: 20).timesteps.count == 20)
        #expect(Sampler.allCases.map(\.rawValue) == ["ddim", "euler", "euler-a", "dpmpp-2m", "dpmpp-2m-karras", "lcm"])
        try "{\"prediction_type\": \"x0\"}".write(toFile: folder + "/bad.json", atomically: false, encoding: .utf8)
        #expect(throws: DiffusionError.self) { try SchedulerConfig.load(folder + "/bad.json") }
        #expect(throws: DiffusionError.self) { try SchedulerConfig.load(folder + "/missing.json") }
    }
}
