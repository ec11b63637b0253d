import Foundation
import Imaging
import TestSupport
import Testing
@testable import Workflow

@Suite struct ValidationTests {
    func write(_ yaml: String, in folder: String) throws -> String {
        let path = folder + "/workflow.yaml"
        try yaml.write(toFile: path, atomically: false, encoding: .utf8)
        return path
    }

    func issues(_ yaml: String, folder: String? = nil) throws -> [WorkflowIssue] {
        let folder = try folder ?? TestSupport.temporaryFolder("validate")
        let path = try write(yaml, in: folder)
        do {
            let spec = try WorkflowParser.parse(file: path)
            _ = try Planner.plan(spec, presetsFolder: TestSupport.presetsFolder)
            return []
        } catch let error as WorkflowValidationError {
            return error.issues
        }
    }

    @Test func unknownKeysAreLocatedWithDidYouMean() throws {
        let found = try issues("""
            import:
              files: "*.jpg"
            finish:
              long_edge: 2048
              qualty: 90
            """)
        let issue = try #require(found.first { $0.message.contains("qualty") })
        #expect(issue.line == 5 && issue.column == 3)
        #expect(issue.hint.contains("did you mean `quality`?"))
        #expect(issue.description.contains("workflow.yaml:5:3"))
    }

    @Test func wrongTypesAndImpossibleSizesAreAllReportedAtOnce() throws {
        let found = try issues("""
            import:
              files: "*.jpg"
              ai_generated: maybe
            finish:
              long_edge: 0
              quality: high
              enlarge_interpolator: lanczos3
            agencies: [adobe-stock, shuterstock]
            """)
        let messages = found.map(\.message)
        #expect(messages.contains { $0.contains("import.ai_generated must be true or false") })
        #expect(messages.contains { $0.contains("finish.long_edge is 0") })
        #expect(messages.contains { $0.contains("finish.quality must be a whole number") })
        #expect(found.contains { $0.message.contains("enlarge_interpolator") && $0.hint.contains("nohalo") })
        // Parsing stops before planning when the file itself is wrong; agencies are checked next.
        #expect(found.first { $0.message.contains("long_edge") }?.line == 5)
    }

    @Test func missingFilesAndUnknownAgenciesAreLocated() throws {
        let found = try issues("""
            import:
              files: "no-such-folder/*.jpg"
            agencies:
              - adobe-stock
              - shuterstock
            """)
        let missing = try #require(found.first { $0.message.contains("no image files match") })
        #expect(missing.line == 2 && missing.column == 10)
        let agency = try #require(found.first { $0.message.contains("shuterstock") })
        #expect(agency.line == 5)
        #expect(agency.hint.contains("did you mean `shutterstock`?"))
    }

    @Test func enlargementBeyondTheLimitIsAnImpossibleSize() throws {
        let folder = try TestSupport.temporaryFolder("enlarge")
        try TestImages.write(width: 300, height: 200, to: folder + "/small.png")
        let found = try issues("""
            import: {files: "*.png"}
            finish:
              long_edge: 6144
            """, folder: folder)
        let issue = try #require(found.first)
        #expect(issue.message.contains("enlarged 20.48×"))
        #expect(issue.line == 2)
        #expect(found.count == 1)
    }

    @Test func bothSizeKindsAndSyntaxErrorsAreRejected() throws {
        let both = try issues("""
            import: {files: "*.jpg"}
            finish: {long_edge: 4000, megapixels: 24}
            """)
        #expect(both.contains { $0.message.contains("both long_edge and megapixels") })
        let syntax = try issues("import:\n  files: [a.jpg\nfinish: {}\n")
        #expect(syntax.first?.message.hasPrefix("YAML syntax error") == true)
        #expect((syntax.first?.line ?? 0) >= 2)
    }

    @Test func sidecarErrorsPointIntoTheSidecar() throws {
        let folder = try TestSupport.temporaryFolder("sidecar")
        try TestImages.write(width: 1000, height: 800, to: folder + "/photo.jpg")
        try "title: Fine\nkeywrds: [a]\n".write(toFile: folder + "/photo.yaml", atomically: false, encoding: .utf8)
        let found = try issues("import: {files: \"*.jpg\"}\n", folder: folder)
        let issue = try #require(found.first)
        #expect(issue.file.hasSuffix("photo.yaml"))
        #expect(issue.line == 2 && issue.column == 1)
        #expect(issue.hint.contains("did you mean `keywords`?"))
    }
}

@Suite struct ImportListTests {
    @Test func severalSourcesWithTheirOwnAIFlag() throws {
        let folder = try TestSupport.temporaryFolder("imports")
        try FileManager.default.createDirectory(atPath: folder + "/photos/day 1", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: folder + "/ai", withIntermediateDirectories: true)
        try TestImages.write(width: 1200, height: 800, to: folder + "/photos/day 1/beach.jpg")
        try TestImages.write(width: 1024, height: 1024, to: folder + "/ai/beach.png")
        try "A beach at sunrise, golden light".write(toFile: folder + "/ai/beach.txt", atomically: false, encoding: .utf8)
        let yaml = """
            import:
              - files: "photos/**/*.jpg"
              - files: ["ai/*.png"]
                ai_generated: true
            finish: {megapixels: 24}
            metadata: {title: Beach, keywords: "beach, sea"}
            """
        try yaml.write(toFile: folder + "/w.yaml", atomically: false, encoding: .utf8)
        let plan = try Planner.plan(try WorkflowParser.parse(file: folder + "/w.yaml"), presetsFolder: TestSupport.presetsFolder)
        #expect(plan.jobs.map(\.name) == ["beach", "beach-2"])
        #expect(plan.jobs[0].aiReason == nil && plan.jobs[0].metadata.digitalSourceType == nil)
        #expect(plan.jobs[1].aiReason?.contains("import.ai_generated") == true)
        #expect(plan.jobs[1].metadata.digitalSourceType == .trainedAlgorithmicMedia)
        // The .txt sidecar is the prompt, used as the description when there is no other.
        #expect(plan.jobs[1].metadata.description == "A beach at sunrise, golden light")
        #expect(plan.jobs[1].metadata.keywords == ["beach", "sea"])
        #expect(abs(Double(plan.jobs[0].planned.width * plan.jobs[0].planned.height) / 1e6 - 24) < 0.01)
    }
}
