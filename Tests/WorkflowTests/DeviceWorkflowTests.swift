import Foundation
import Imaging
import Metadata
import TestSupport
import Testing
@testable import Workflow

/// `engine: {device: …}`: the generate stage on a Vulkan device (lavapipe here, named as gpu:0),
/// the device recorded and part of each image's identity; a device that cannot be used is an
/// error at its line before any work.
@Suite struct DeviceWorkflowTests {
    func write(_ engine: String, in folder: String) throws -> String {
        let yaml = """
            generate:
              model: \(GenerateWorkflowTests.tinyModel)
              prompts: ["a red fox in snow"]
              seeds: [11]
              size: 16x16
              steps: 3
              sampler: euler
            \(engine)
            finish: {long_edge: 64, max_enlargement: 4}
            metadata: {creator: Test Suite, keywords: [fox]}
            agencies: [adobe-stock]
            output: out
            """
        try yaml.write(toFile: folder + "/w.yaml", atomically: false, encoding: .utf8)
        return folder + "/w.yaml"
    }

    func plan(_ path: String) throws -> WorkflowPlan { try Planner.plan(try WorkflowParser.parse(file: path), presetsFolder: TestSupport.presetsFolder) }

    @Test func generatesOnTheGPUAndRecordsIt() throws {
        let gpuFolder = try TestSupport.temporaryFolder("device-gpu"), cpuFolder = try TestSupport.temporaryFolder("device-cpu")
        let onGPU = try plan(try write("engine: {device: gpu:0}", in: gpuFolder)), onCPU = try plan(try write("", in: cpuFolder))
        let gpuJob = try #require(onGPU.jobs.first?.generation), cpuJob = try #require(onCPU.jobs.first?.generation)
        #expect(gpuJob.device != nil && cpuJob.device == nil)
        #expect(gpuJob.parameters.device?.hasPrefix("gpu (") == true && cpuJob.parameters.device == nil)
        #expect(gpuJob.inputsHash != cpuJob.inputsHash)
        for plan in [onGPU, onCPU] {
            let summary = try Runner(plan: plan).run()
            #expect(summary.images.allSatisfy { $0.failure == nil }, "\(summary.images.map { $0.failure ?? "" })")
        }
        // Float32 on both: the same picture within a step of 8-bit rounding.
        let a = try RGBImage.read(gpuJob.firstPassPath), b = try RGBImage.read(cpuJob.firstPassPath)
        let worst = zip(a.pixels, b.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 255
        #expect(worst <= 1, "GPU and CPU images differ by up to \(worst)/255")
        #expect(GenerationParameters.fromA1111(gpuJob.parameters.a1111Text)?.device == gpuJob.parameters.device)
    }

    @Test(arguments: [("engine: {device: gpu:9}", "no Vulkan device 9"), ("engine: {device: quantum}", "is not one of"),
                      ("engine: {device: gpu:0, precision: bf16}", "fp32")])
    func unusableDevicesAreNamedAtTheirLine(engine: String, says: String) throws {
        let folder = try TestSupport.temporaryFolder("device-bad")
        do {
            _ = try plan(try write(engine, in: folder))
            Issue.record("accepted: \(engine)")
        } catch let error as WorkflowValidationError {
            #expect(error.issues.contains { $0.message.contains(says) && $0.line == 8 }, "\(error.issues)")
        }
    }
}
