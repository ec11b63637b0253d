import Foundation
import Metadata
import TestSupport
import Testing
@testable import Workflow

/// The documented merge rule (docs/workflow.md) on its own.
@Suite struct MergeRuleTests {
    @Test func perFileDescribesWorkflowIdentifiesAndTheRestIsKept() {
        var embedded = StockMetadata(title: "Embedded title", keywords: ["harbour"], creators: ["Old Camera Owner"], copyright: "old")
        embedded.city = "Hamburg"
        embedded.credit = "Old Credit"
        embedded.aiSystem = "Some Generator 2"
        embedded.dateCreated = "2025-09-01"
        var defaults = WorkflowSpec.MetadataDefaults()
        defaults.title = "Generic title"
        defaults.keywords = ["boats", "Harbour"]
        defaults.creators = ["Zoë Müller"]
        defaults.copyright = "© 2026 Zoë Müller"
        defaults.credit = "Zoë Müller / Stockwerk"
        defaults.city = "Default City"
        defaults.country = "Germany"
        defaults.dataMining = .prohibitedGenerativeAIMLTraining
        let merged = Planner.merge(sidecar: nil, embedded: embedded, defaults: defaults, aiReason: nil)
        #expect(merged.title == "Embedded title" && merged.keywords == ["harbour", "boats"])
        #expect(merged.creators == ["Zoë Müller"] && merged.copyright == "© 2026 Zoë Müller" && merged.credit == "Zoë Müller / Stockwerk")
        #expect(merged.city == "Hamburg" && merged.country == "Germany")
        #expect(merged.aiSystem == "Some Generator 2" && merged.dateCreated == "2025-09-01" && merged.dataMining == .prohibitedGenerativeAIMLTraining)
        #expect(merged.digitalSourceType == nil && merged.software == "Stockwerk")
    }

    /// Release names: a sidecar's lists (read from YAML) replace the embedded ones; without them the file's are kept.
    @Test func releasesComeFromTheSidecarElseTheFile() throws {
        let folder = try TestSupport.temporaryFolder("releases")
        try "model_releases: [Jane Doe MR 2026]\nproperty_releases: Studio North PR, Loft PR\n"
            .write(toFile: folder + "/shot.yaml", atomically: false, encoding: .utf8)
        var issues: [WorkflowIssue] = []
        let sidecar = try #require(Sidecar.find(for: folder + "/shot.jpg", issues: &issues))
        #expect(issues.isEmpty)
        var embedded = StockMetadata()
        embedded.modelReleases = ["Old MR"]
        embedded.propertyReleases = ["Old PR"]
        let merged = Planner.merge(sidecar: sidecar, embedded: embedded, defaults: WorkflowSpec.MetadataDefaults(), aiReason: nil)
        #expect(merged.modelReleases == ["Jane Doe MR 2026"] && merged.propertyReleases == ["Studio North PR", "Loft PR"])
        let kept = Planner.merge(sidecar: nil, embedded: embedded, defaults: WorkflowSpec.MetadataDefaults(), aiReason: nil)
        #expect(kept.modelReleases == ["Old MR"] && kept.propertyReleases == ["Old PR"])
    }
}
