import CPUBackend
import Diffusion
import Foundation
import Imaging
import Metadata
import Neural
import TestSupport
import Testing
@testable import Workflow

/// `engine: {precision: …}`: the precision a job runs in is part of its identity and of the
/// parameters recorded in the image, and rerun reads it back.
@Suite struct PrecisionWorkflowTests {
    func workflow(engine: String?) throws -> String {
        let folder = try TestSupport.temporaryFolder("precision")
        let yaml = """
            version: 1
            generate:
              model: \(GenerateWorkflowTests.tinyModel)
              prompt: a lighthouse at dawn
              seed: 9
              size: 16x16
              steps: 3
              sampler: ddim
            \(engine.map { "engine:\n  precision: \($0)" } ?? "")
            finish:
              long_edge: 32
              max_enlargement: 4
            output: out
            """
        try yaml.write(toFile: folder + "/w.yaml", atomically: false, encoding: .utf8)
        return folder + "/w.yaml"
    }

    func plan(_ path: String) throws -> WorkflowPlan {
        try Planner.plan(try WorkflowParser.parse(file: path), presetsFolder: TestSupport.presetsFolder)
    }

    @Test func bf16IsRecordedAndChangesTheJobsIdentity() throws {
        let fp32 = try plan(try workflow(engine: nil)), explicit = try plan(try workflow(engine: "fp32"))
        let path = try workflow(engine: "bf16")
        let bf16 = try plan(path)
        let first = try #require(fp32.jobs.first?.generation), second = try #require(bf16.jobs.first?.generation)
        #expect(first.precision == .fp32 && first.parameters.precision == nil)
        #expect(explicit.jobs.first?.generation?.inputsHash == first.inputsHash)
        #expect(second.precision == .bf16 && second.parameters.precision == "bf16")
        #expect(second.inputsHash != first.inputsHash && bf16.jobs[0].id != fp32.jobs[0].id)

        // The run makes what the pipeline makes in bf16, and says so in the image; a CPU without a
        // bf16 product fails the job with the reason instead.
        let summary = try Runner(plan: bf16).run()
        guard CPUBackend.hasBF16MatrixProduct else {
            #expect(summary.images.count == 1 && (summary.images[0].failure ?? "").contains("bf16"), "\(summary.images.map(\.failure))")
            return
        }
        #expect(summary.images.count == 1 && summary.images[0].failure == nil)
        let request = GenerationRequest(prompt: "a lighthouse at dawn", seed: 9, steps: 3, guidance: 7.5, sampler: .ddim, width: 16, height: 16)
        let model = try StableDiffusionModel(path: GenerateWorkflowTests.tinyModel, backend: CPUBackend(precision: .bf16))
        let direct = try ImagePixels.rgb(from: try Pipeline(model: model).generate(request).image)
        #expect(try RGBImage.read(bf16.jobs[0].source).pixels == direct)
        let fp32Pixels = try ImagePixels.rgb(from: try Pipeline(model: try StableDiffusionModel(path: GenerateWorkflowTests.tinyModel, backend: CPUBackend.shared)).generate(request).image)
        #expect(direct != fp32Pixels)
        let output = URL(fileURLWithPath: path).deletingLastPathComponent().path + "/out/images/\(bf16.jobs[0].name).jpg"
        let recorded = try Rerun.parameters(of: output)
        let recordedPrecision = try Rerun.recordedPrecision(recorded)
        #expect(recorded.precision == "bf16" && recordedPrecision == .bf16)
        #expect(recorded.a1111Text.contains("Precision: bf16"))
        #expect(GenerationParameters.fromA1111(recorded.a1111Text)?.precision == "bf16")
    }

    @Test func anUnknownPrecisionIsRefusedWhereItIsWritten() throws {
        let path = try workflow(engine: "fp16")
        do {
            _ = try plan(path)
            Issue.record("fp16 was accepted")
        } catch let error as WorkflowValidationError {
            let issue = try #require(error.issues.first)
            #expect(issue.message.contains("engine.precision cannot be `fp16`") && issue.line == 10, "\(error.issues)")
            #expect(issue.hint.contains("auto, fp32, bf16"))
        }
    }
}
