import Agencies
import Catalog
import Foundation
import Imaging
import Keywording
import Metadata
import Workflow

/// The finished images of one output folder as the review page shows them: each with its verdict
/// from every target agency (checked now, on the file as it is), its AI evidence, detail figure,
/// warnings, metadata and the person's decision. Edits and decisions go through `ReviewEditing`;
/// one request at a time changes anything (a lock), so two quick key presses cannot interleave.
final class ReviewLibrary: @unchecked Sendable {
    struct Item: Encodable, Sendable {
        var image: String
        var path: String
        var title: String?
        var description: String?
        var keywords: [String]
        /// Category by agency id.
        var categories: [String: String]
        var verdicts: [Verdict]
        var ai: String?
        var detail: SharpnessReport?
        var warnings: [String]
        var decision: ReviewRecord.Decision?
        /// Why the image cannot be reviewed (changed by hand since the run, not made by a run), or nil.
        var problem: String? = nil
    }

    let output: String
    let presets: [AgencyPreset]
    let presetsFolder: String
    let title: String
    private let catalog: Catalog
    private let lock = NSLock()
    private var keyworder: Keyworder?

    /// Opens the review of `output`, with the target agencies and soft-image gate of the workflow its last run used.
    init(output: String, presetsFolder explicit: String?) throws {
        try OutputFolder.requireOwned(output)
        self.output = output
        guard let data = FileManager.default.contents(atPath: output + "/report.json"),
              let report = try? JSONDecoder().decode(RunSummary.self, from: data) else {
            throw ReviewError("\(output)/report.json is missing or cannot be read",
                               hint: "review the output folder of a finished `stockwerk run`")
        }
        let spec = try WorkflowParser.parse(file: report.workflow)
        guard let folder = PresetLocator.locate(explicit: explicit, near: spec.file) else {
            throw ReviewError("cannot find the presets folder with agency rules",
                               hint: "pass --presets PATH, or set STOCKWERK_PRESETS=/path/to/presets")
        }
        presetsFolder = folder
        let agencies = AgencyCatalog(presetsFolder: folder)
        presets = try spec.agencies.map { Planner.gatingSoftImages(try agencies.load($0), spec.checks.soft(for: $0)) }
        title = spec.name
        catalog = try Catalog(path: output + "/catalog.sqlite")
    }

    /// Every image a run made in OUTPUT/images, in name order.
    func items() throws -> [Item] {
        try lock.withLock {
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: output + "/images")) ?? [])
                .filter { $0.lowercased().hasSuffix(".jpg") && !$0.hasPrefix(".") }.sorted()
            let facts = try Packaging.finishFacts(catalog), reviews = try catalog.reviews()
            return names.map { name in
                do { return try item(name, facts: facts, reviews: reviews) } catch {
                    let problem = (error as? ReviewError).map { "\($0.message): \($0.hint)" } ?? "\(error)"
                    return Item(image: name, path: output + "/images/" + name, keywords: [], categories: [:], verdicts: [], warnings: [], problem: problem)
                }
            }
        }
    }

    /// One image, checked now.
    func item(_ name: String) throws -> Item {
        try lock.withLock { try item(name, facts: try Packaging.finishFacts(catalog)) }
    }

    /// The path of an image the page may show: only a name in OUTPUT/images that a run made,
    /// never a path from the request.
    func path(of name: String) -> String? {
        lock.withLock {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: output + "/images")) ?? []
            guard names.contains(name), name.lowercased().hasSuffix(".jpg"), !name.hasPrefix(".") else { return nil }
            return output + "/images/" + name
        }
    }

    func decide(_ name: String, _ decision: ReviewRecord.Decision?) throws -> Item {
        try lock.withLock {
            try ReviewEditing.decide(name, decision, output: output, catalog: catalog)
            return try item(name, facts: try Packaging.finishFacts(catalog))
        }
    }

    func edit(_ name: String, _ edits: ReviewEdits) throws -> Item {
        try lock.withLock {
            try ReviewEditing.edit(name, edits, output: output, catalog: catalog)
            return try item(name, facts: try Packaging.finishFacts(catalog))
        }
    }

    /// Ranked keywords for the image from its metadata and pixels (the keyword model, loaded once).
    func suggestions(_ name: String) throws -> [String] {
        guard let path = path(of: name) else { throw ReviewError("no image \(name)", hint: "") }
        return try lock.withLock {
            if keyworder == nil { keyworder = try FileDescriber.keyworder(presetsFolder: presetsFolder) }
            return try FileDescriber.describe(path, keyworder: keyworder!).result.keywords
        }
    }

    /// `reviews`: read once for a whole page rather than once per image.
    private func item(_ name: String, facts: [String: FinishResult], reviews: [String: ReviewRecord]? = nil) throws -> Item {
        let path = output + "/images/" + name
        let tagged = try ReviewEditing.tagged(name, output: output, catalog: catalog, reviews: reviews)
        var subject = try CheckSubject.read(path)
        let finish = facts[URL(fileURLWithPath: path).standardizedFileURL.path]
        subject.enlargement = finish?.scale
        subject.detail = finish?.sharpness
        subject.categories = tagged.recipe.writtenCategories
        let verdicts = presets.map { preset in
            var verdict = AgencyChecker(preset: preset).check(subject)
            verdict.file = path
            return verdict
        }
        let metadata = tagged.recipe.written
        return Item(image: name, path: path, title: metadata.title, description: metadata.description, keywords: metadata.keywords,
                    categories: tagged.recipe.writtenCategories, verdicts: verdicts, ai: subject.ai.reason, detail: finish?.sharpness,
                    warnings: tagged.recipe.warnings + [finish?.sharpness?.warning].compactMap { $0 }, decision: tagged.review?.decision)
    }
}
