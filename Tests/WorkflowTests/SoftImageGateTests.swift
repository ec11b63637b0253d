import Agencies
import Foundation
import Imaging
import TestSupport
import Testing
@testable import Workflow

/// The detail figure as a gate: a photo enlarged 4× by libvips alone is "soft"; Adobe Stock's
/// preset warns about it, `checks: {soft: reject}` refuses it (also for an agency whose preset has
/// no such rule), `off` says nothing; the contact sheet shows the softest region at 100 %.
@Suite struct SoftImageGateTests {
    func run(checks: String, in folder: String) throws -> RunSummary {
        try FileManager.default.createDirectory(atPath: folder + "/in", withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: folder + "/in/rocket.jpg") {
            try FileManager.default.copyItem(atPath: TestSupport.sampleJPEG, toPath: folder + "/in/rocket.jpg")
        }
        let yaml = """
            import: {files: "in/*", sidecars: false}
            finish: {long_edge: 2600, max_enlargement: 8}
            metadata: {title: A rocket launch, description: A rocket launch., keywords: [rocket, launch, sky, smoke, space, flight, mission],
                       creator: Suite, categories: {shutterstock: [Science]}}
            agencies: [adobe-stock, shutterstock]
            \(checks)
            output: out
            """
        try yaml.write(toFile: folder + "/w.yaml", atomically: false, encoding: .utf8)
        return try Runner(plan: try Planner.plan(try WorkflowParser.parse(file: folder + "/w.yaml"), presetsFolder: TestSupport.presetsFolder)).run()
    }

    func verdicts(_ summary: RunSummary) throws -> (adobe: Verdict, shutterstock: Verdict) {
        let image = try #require(summary.images.first)
        #expect(image.failure == nil && image.sharpness?.verdict == .soft, "\(image.failure ?? "") \(String(describing: image.sharpness))")
        return (try #require(image.verdicts.first { $0.agency == "adobe-stock" }), try #require(image.verdicts.first { $0.agency == "shutterstock" }))
    }

    @Test func softEnlargementsAreWarnedRefusedOrLeftAlonePerAgency() throws {
        let folder = try TestSupport.temporaryFolder("soft-gate")
        // As the presets say: Adobe Stock ("do not upsample") warns; Shutterstock has no such rule.
        let preset = try verdicts(try run(checks: "", in: folder))
        #expect(preset.adobe.accepted && preset.adobe.warnings.contains { $0.rule == "min_detail_vs_bicubic" && $0.message.contains("looks soft") },
                "\(preset.adobe.warnings)")
        #expect(!preset.shutterstock.warnings.contains { $0.rule == "min_detail_vs_bicubic" })

        let refused = try verdicts(try run(checks: "checks: {soft: reject}", in: folder))
        let reason = try #require(refused.adobe.reasons.first { $0.rule == "min_detail_vs_bicubic" })
        #expect(!refused.adobe.accepted && reason.source.contains("helpx.adobe.com"))
        let own = try #require(refused.shutterstock.reasons.first { $0.rule == "min_detail_vs_bicubic" })
        #expect(!refused.shutterstock.accepted && own.source.contains("docs/upscaling.md"))

        let mixed = try verdicts(try run(checks: "checks: {soft: {adobe-stock: off, shutterstock: reject}}", in: folder))
        #expect(mixed.adobe.accepted && !mixed.adobe.warnings.contains { $0.rule == "min_detail_vs_bicubic" })
        #expect(!mixed.shutterstock.accepted)

        // The contact sheet: the thumbnail, the softest region at 100 % beside it, and the figure.
        let sheet = try String(contentsOfFile: folder + "/out/contact-sheet.html", encoding: .utf8)
        #expect(sheet.contains("class=\"crop\"") && sheet.contains("softest region") && sheet.contains("looks soft"))
        let crop = try #require(sheet.components(separatedBy: "class=\"crop\"").dropFirst().first?.components(separatedBy: "base64,").dropFirst().first?
            .components(separatedBy: "\"").first.flatMap { Data(base64Encoded: $0) })
        let path = folder + "/crop.jpg"
        try crop.write(to: URL(fileURLWithPath: path))
        let info = try ImageInfo.read(path)
        #expect(info.width == 256 && info.height == 256)
    }

    /// `stockwerk package` later: the detail figure the run measured still counts (Adobe Stock's
    /// preset warns), and `soft: .reject` refuses the soft image for an agency without the rule.
    @Test func packagingLaterKeepsTheFigureAndTheGate() throws {
        let folder = try TestSupport.temporaryFolder("soft-gate-package")
        _ = try verdicts(try run(checks: "", in: folder))
        let presets = try Packaging.package(output: folder + "/out", agencies: ["adobe-stock", "shutterstock"], presetsFolder: TestSupport.presetsFolder)
        let adobe = try #require(presets.first { $0.agency == "adobe-stock" }?.items.first)
        #expect(adobe.warnings.contains { $0.rule == "min_detail_vs_bicubic" } && adobe.warnings.contains { $0.rule == "max_enlargement" }, "\(adobe.warnings)")
        let gated = try Packaging.package(output: folder + "/out", agencies: ["shutterstock"], presetsFolder: TestSupport.presetsFolder, soft: .reject)
        let refused = try #require(gated.first?.items.first)
        #expect(!refused.accepted && refused.reasons.contains { $0.rule == "min_detail_vs_bicubic" }, "\(refused)")
    }

    @Test func aGateForAnAgencyNotSentToIsAnErrorAtItsLine() throws {
        let folder = try TestSupport.temporaryFolder("soft-gate-bad")
        do {
            _ = try run(checks: "checks: {soft: {alamy: reject}}", in: folder)
            Issue.record("accepted a gate for an agency the workflow does not send to")
        } catch let error as WorkflowValidationError {
            #expect(error.issues.contains { $0.message.contains("alamy") && $0.line == 6 }, "\(error.issues)")
        }
        do {
            _ = try run(checks: "checks: {soft: maybe}", in: folder)
            Issue.record("accepted soft: maybe")
        } catch let error as WorkflowValidationError {
            #expect(error.issues.contains { $0.message.contains("maybe") && $0.line == 6 }, "\(error.issues)")
        }
    }
}
