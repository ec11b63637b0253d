import Catalog
import Foundation
import Imaging
import Keywording
import Metadata

/// describe (`describe:`): ranked keywords, and a title and description where the job has none,
/// from the finished image's pixels and what the job says about it (prompt, metadata, the imported
/// file's name). Its identity is the finished image, that metadata, the settings and the keyworder's
/// files; the sentence-embedding model is loaded only when some image needs describing.
/// Jobs describe on several threads: the model and its identity are made once, behind a lock,
/// and one image is described at a time (the model runs on every core).
final class DescribeStage: Stage, @unchecked Sendable {
    private let lock = NSLock()
    let context: RunContext
    private let settings: WorkflowSpec.DescribeSettings
    /// The keyword limit: the workflow's, else the smallest of the target agencies', else Adobe Stock's 49.
    private let limit: Int
    /// The user's stop list and every term a target agency refuses or discourages in keywords
    /// ("stock photo"): left out before the list is cut to the limit.
    private let excluded: [String]
    private var keyworder: Keyworder?
    private var keyworderIdentity: String?
    var name: String { "describe" }

    init?(context: RunContext) {
        guard let settings = context.plan.spec.describe else { return nil }
        self.context = context
        self.settings = settings
        let agencies = context.plan.agencies
        limit = settings.maxKeywords ?? agencies.compactMap { $0.rules.maxKeywords?.value }.min() ?? 49
        excluded = settings.exclude + agencies.flatMap(\.keywordTerms)
    }

    func identity(of state: JobState) throws -> String? {
        let files = lock.withLock {
            if keyworderIdentity == nil { keyworderIdentity = FileDescriber.keyworderIdentity(presetsFolder: context.plan.presetsFolder) }
            return keyworderIdentity!
        }
        return Hashing.of(["describe-v2", state.image.hash, Hashing.json(state.metadata), fileName(state.job) ?? "", String(limit),
                           Hashing.json(excluded), files])
    }

    func make(_ state: JobState, identity: String) throws -> StageOutput {
        let info = try ImageInfo.read(state.image.path)
        let analysis = ImageAnalysis.analyze(try Thumbnails.rgb(state.image.path, size: 96), width: info.width, height: info.height)
        let m = state.metadata
        let source = KeywordSource(prompt: m.generation?.prompt ?? m.aiPrompt, title: m.title, description: m.description, keywords: m.keywords,
                                   fileName: fileName(state.job), analysis: analysis)
        let result = try lock.withLock {
            if keyworder == nil { keyworder = try FileDescriber.keyworder(presetsFolder: context.plan.presetsFolder, excluding: excluded) }
            return try keyworder!.describe(source, limit: limit)
        }
        return StageOutput(artifact: nil, details: Hashing.json(result), note: "\(result.keywords.count) keywords")
    }

    func apply(_ record: StageRecord, to state: inout JobState) throws {
        let result = try JSONDecoder().decode(KeywordResult.self, from: Data(record.details.utf8))
        state.metadata.keywords = result.keywords
        if state.metadata.title == nil, !result.title.isEmpty { state.metadata.title = result.title }
        if state.metadata.description == nil, !result.description.isEmpty { state.metadata.description = result.description }
    }

    /// An imported file's name can say what it shows; a generated image's is ours.
    private func fileName(_ job: Job) -> String? {
        job.generation == nil ? URL(fileURLWithPath: job.source).lastPathComponent : nil
    }
}
