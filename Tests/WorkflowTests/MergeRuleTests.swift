import Foundation
import Metadata
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
}
