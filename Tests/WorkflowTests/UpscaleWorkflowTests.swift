import Catalog
import Foundation
import Imaging
import TestSupport
import Testing
@testable import Workflow

/// `upscale:` a learned super-resolution model on every image, imported or generated, between
/// refine and finish; cached by source and model; a model that cannot be used is an error at its
/// line before any work.
@Suite struct UpscaleWorkflowTests {
    static let fixtures = TestSupport.repositoryRoot + "/Tests/Fixtures/upscalers/"

    func write(_ upscale: String, source: String, in folder: String) throws -> String {
        let yaml = """
            \(source)
            \(upscale)
            finish: {long_edge: 128, max_enlargement: 4}
            metadata: {creator: Test Suite, keywords: [rocket, launch, sky], title: A rocket launch}
            output: out
            """
        try yaml.write(toFile: folder + "/w.yaml", atomically: false, encoding: .utf8)
        return folder + "/w.yaml"
    }

    func photo(in folder: String) throws -> String {
        try FileManager.default.createDirectory(atPath: folder + "/photos", withIntermediateDirectories: true)
        try RGBImage.read(TestSupport.sampleJPEG, size: (48, 32)).write(to: folder + "/photos/rocket.png")
        return "import: {files: photos/*.png}"
    }

    func plan(_ path: String) throws -> WorkflowPlan { try Planner.plan(try WorkflowParser.parse(file: path), presetsFolder: TestSupport.presetsFolder) }

    @Test func upscalesImportedPhotosBeforeFinishAndCachesTheResult() throws {
        let folder = try TestSupport.temporaryFolder("upscale-import")
        let path = try write("upscale: {model: \(Self.fixtures)rrdb-x2.safetensors, tile_size: 32, tile_overlap: 8}", source: try photo(in: folder), in: folder)
        let planned = try plan(path)
        let upscale = try #require(planned.upscale)
        #expect(upscale.scale == 2 && planned.jobs.count == 1)
        let first = try Runner(plan: planned).run()
        let image = try #require(first.images.first)
        #expect(image.failure == nil, "\(image.failure ?? "")")
        #expect(image.width == 128 && image.height == 85)
        let catalog = try Catalog(path: first.catalog)
        let record = try #require(try catalog.stage("upscale", of: planned.jobs[0].id))
        let made = try ImageInfo.read(try #require(record.artifactPath))
        #expect(made.width == 96 && made.height == 64)
        // The finish read the upscaled image: its cache key is the upscaled file's content.
        #expect(try catalog.stage("finish", of: planned.jobs[0].id) != nil)
        // A rerun does nothing again; other tiles are another identity.
        let second = try Runner(plan: try plan(path)).run()
        #expect(second.stagesRun == 0 && second.stagesSkipped == 4, "\(second.stagesRun) stages ran again")
        _ = try write("upscale: {model: \(Self.fixtures)rrdb-x2.safetensors, tile_size: 40, tile_overlap: 8}", source: "import: {files: photos/*.png}", in: folder)
        let retiled = try plan(path)
        #expect(retiled.jobs[0].id != planned.jobs[0].id)
        let third = try Runner(plan: retiled).run()
        #expect(third.stagesRun >= 2 && third.images.allSatisfy { $0.failure == nil })
    }

    @Test func upscalesGeneratedImages() throws {
        let folder = try TestSupport.temporaryFolder("upscale-generate")
        let path = try write("upscale: \(Self.fixtures)compact-x4.safetensors", source: Self.generate, in: folder)
        let summary = try Runner(plan: try plan(path)).run()
        #expect(summary.images.count == 1 && summary.images.allSatisfy { $0.failure == nil }, "\(summary.images.map { $0.failure ?? "" })")
        #expect(summary.images.first?.width == 128)
    }

    @Test(arguments: [("upscale: {model: nowhere}", "no upscaler `nowhere`"), ("upscale: {model: ESRGAN.pth}", "pickle"),
                      ("upscale: {model: SD}", "not a super-resolution model"), ("upscale: {tile_size: 64}", "upscale needs a model"),
                      ("upscale: {model: x.safetensors, tile_size: 64, tile_overlap: 40}", "half the tile size")])
    func badModelsAreNamedAtTheirLine(upscale: String, says: String) throws {
        let folder = try TestSupport.temporaryFolder("upscale-bad")
        FileManager.default.createFile(atPath: folder + "/ESRGAN.pth", contents: Data([0x80, 0x02]))
        let line = upscale.replacingOccurrences(of: "SD", with: TestSupport.repositoryRoot + "/Tests/Fixtures/pipelines/tiny-sd1.safetensors")
        do {
            _ = try plan(try write(line, source: try photo(in: folder), in: folder))
            Issue.record("accepted: \(upscale)")
        } catch let error as WorkflowValidationError {
            #expect(error.issues.contains { $0.message.contains(says) && $0.line == 2 }, "\(error.issues)")
        }
    }

    static let generate = """
        generate:
          model: \(GenerateWorkflowTests.tinyModel)
          prompts: ["a red fox in snow"]
          seeds: [11]
          size: 16x16
          steps: 2
          sampler: euler
        """

    /// upscale.redraw: the learned enlargement of a generated image is redrawn tile by tile with its
    /// model and prompt (a stage of its own, cached; finish reads its result); other settings redraw again.
    @Test func redrawsGeneratedImagesAfterTheLearnedUpscaler() throws {
        let folder = try TestSupport.temporaryFolder("upscale-redraw")
        let upscale = "upscale: {model: \(Self.fixtures)compact-x4.safetensors, redraw: {tile: 16, overlap: 8, strength: 0.5, steps: 4}}"
        let path = try write(upscale, source: Self.generate, in: folder)
        let planned = try plan(path)
        #expect(planned.upscale?.redraw?.tile == 16)
        let first = try Runner(plan: planned).run()
        #expect(first.images.count == 1 && first.images.allSatisfy { $0.failure == nil }, "\(first.images.map { $0.failure ?? "" })")
        let catalog = try Catalog(path: first.catalog)
        let learned = try #require(try catalog.stage("upscale", of: planned.jobs[0].id)?.artifactPath)
        let redrawn = try #require(try catalog.stage("redraw", of: planned.jobs[0].id)?.artifactPath)
        let (before, after) = (try RGBImage.read(learned), try RGBImage.read(redrawn))
        #expect(after.width == 64 && after.height == 64 && before.width == 64)
        let changed = zip(before.pixels, after.pixels).filter { abs(Int($0) - Int($1)) > 2 }.count
        #expect(changed > before.pixels.count / 4, "the redraw changed only \(changed) of \(before.pixels.count) values")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder + "/out/.stockwerk/redraw") == [URL(fileURLWithPath: redrawn).lastPathComponent],
                "the finished tiles are gone once the image is made")
        let second = try Runner(plan: try plan(path)).run()
        #expect(second.stagesRun == 0, "\(second.stagesRun) stages ran again")
        _ = try write(upscale.replacingOccurrences(of: "strength: 0.5", with: "strength: 0.75"), source: Self.generate, in: folder)
        let stronger = try plan(path)
        #expect(stronger.jobs[0].id != planned.jobs[0].id)
        let third = try Runner(plan: stronger).run()
        #expect(third.images.allSatisfy { $0.failure == nil } && third.stagesRun >= 4)
    }

    @Test(arguments: [("upscale: {model: x.safetensors, redraw: {tile: 500}}", "not a multiple of 16", 8),
                      ("upscale: {model: x.safetensors, redraw: {tile: 512, overlap: 300}}", "at most half the tile", 8),
                      ("upscale: {model: x.safetensors, redraw: {strength: 0.1, steps: 5}}", "runs no step", 8),
                      ("upscale: {model: x.safetensors, redraw: {colour: red}}", "colour", 8)])
    func badRedrawSettingsAreNamedAtTheirLine(upscale: String, says: String, line: Int) throws {
        let folder = try TestSupport.temporaryFolder("redraw-bad")
        do {
            _ = try plan(try write(upscale, source: Self.generate, in: folder))
            Issue.record("accepted: \(upscale)")
        } catch let error as WorkflowValidationError {
            #expect(error.issues.contains { $0.message.contains(says) && $0.line == line }, "\(error.issues)")
        }
    }

    /// Photos have no model or prompt to redraw with: a workflow that only imports is told so at the key's line.
    @Test func redrawNeedsGeneratedImages() throws {
        let folder = try TestSupport.temporaryFolder("redraw-photos")
        let path = try write("upscale: {model: \(Self.fixtures)compact-x4.safetensors, redraw: {strength: 0.3}}", source: try photo(in: folder), in: folder)
        do {
            _ = try plan(path)
            Issue.record("accepted a redraw without generated images")
        } catch let error as WorkflowValidationError {
            #expect(error.issues.contains { $0.message.contains("generates none") && $0.line == 2 }, "\(error.issues)")
        }
    }
}
