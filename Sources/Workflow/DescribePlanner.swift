import Agencies
import Foundation
import Imaging
import Keywording
import Metadata

extension Planner {
    /// The `describe:` step: every job's keywords ranked from its prompt, metadata, file name and
    /// (for imported images) pixels; a title and description where it has none. Done while
    /// planning, so the result is part of the job's identity and the tag stage caches on it.
    static func describeJobs(_ jobs: [Job], settings: WorkflowSpec.DescribeSettings, presetsFolder: String, agencies: [AgencyPreset] = []) throws -> [Job] {
        guard !jobs.isEmpty else { return jobs }
        // The user's stop list, and every term a target agency refuses or discourages in keywords
        // ("stock photo"): the keyworder leaves them out before it cuts the list to the limit.
        let keyworder = try FileDescriber.keyworder(presetsFolder: presetsFolder, excluding: settings.exclude + agencies.flatMap(\.keywordTerms))
        return try jobs.map { job in
            var job = job
            let m = job.metadata
            // Generated images do not exist yet; their prompt says what they show.
            let analysis = job.generation == nil ? ImageAnalysis.analyze(try Thumbnails.rgb(job.source, size: 96), width: job.sourceInfo.width,
                                                                         height: job.sourceInfo.height) : nil
            let source = KeywordSource(prompt: m.generation?.prompt ?? m.aiPrompt, title: m.title, description: m.description, keywords: m.keywords,
                                       fileName: job.generation == nil ? URL(fileURLWithPath: job.source).lastPathComponent : nil, analysis: analysis)
            let result = try keyworder.describe(source, limit: settings.maxKeywords ?? 49)
            job.metadata.keywords = result.keywords
            if job.metadata.title == nil, !result.title.isEmpty { job.metadata.title = result.title }
            if job.metadata.description == nil, !result.description.isEmpty { job.metadata.description = result.description }
            job.id = Hashing.of([job.id, "describe-v1", Hashing.json(job.metadata)])
            return job
        }
    }
}
