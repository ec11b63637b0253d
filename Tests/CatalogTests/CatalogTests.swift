import Catalog
import Foundation
import TestSupport
import Testing

@Suite struct CatalogTests {
    @Test func stagesAreFoundByInputsAndNeverDuplicated() throws {
        let folder = try TestSupport.temporaryFolder("catalog")
        let catalog = try Catalog(path: folder + "/catalog.sqlite")
        let run = try catalog.beginRun(workflowPath: "w.yaml", workflowHash: "h")
        try catalog.ensureJob(JobRecord(id: "job1", name: "one", sourcePath: "/a.jpg", sourceHash: "s1", firstRunID: run))
        try catalog.ensureJob(JobRecord(id: "job1", name: "one", sourcePath: "/a.jpg", sourceHash: "s1", firstRunID: run))
        try catalog.record(StageRecord(jobID: "job1", stage: "finish", inputsHash: "in1", artifactPath: "/f.jpg", artifactHash: "x", runID: run))
        try catalog.record(StageRecord(jobID: "job1", stage: "finish", inputsHash: "in2", artifactPath: "/f.jpg", artifactHash: "y", runID: run))
        try catalog.finishRun(run, status: "finished")

        #expect(try catalog.jobs().count == 1)
        #expect(try catalog.stageResults().count == 1)
        #expect(try catalog.artifactPaths() == ["/f.jpg"])
        #expect(try catalog.stage("finish", inputsHash: "in2")?.artifactHash == "y")
        #expect(try catalog.stage("finish", inputsHash: "in1") == nil)
        #expect(try catalog.runs().first?.status == "finished")

        // Reopening (a second process, a rerun) sees the same rows.
        let reopened = try Catalog(path: folder + "/catalog.sqlite")
        #expect(try reopened.stage("finish", of: "job1")?.inputsHash == "in2")
    }
}
