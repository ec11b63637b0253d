import Agencies
import AtomicFiles
import Catalog
import Foundation
import Imaging
import Metadata

/// `stockwerk package`: agency packages from a run's finished images (OUTPUT/images/*.jpg),
/// for agencies the run did not target or after editing files by hand. Each file is checked as
/// it is now (its embedded metadata, AI status from its Digital Source Type), near-duplicates are
/// refused against the catalog's history, and the package replaces the agency's old one. What the
/// pixels cannot say again (how much the finish enlarged, the detail figure) comes from the run
/// that made the file; `soft` is the workflow's `checks: {soft: …}` for every agency.
public enum Packaging {
    public static func package(output: String, agencies: [String], presetsFolder: String,
                               soft: WorkflowSpec.CheckSettings.Gate? = nil) throws -> [PackageReport] {
        try OutputFolder.requireOwned(output)
        let imagesFolder = output + "/images"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: imagesFolder) else {
            throw StageFailure(job: "-", stage: "packaging", message: "\(imagesFolder) does not exist",
                               hint: "give the output folder of a `stockwerk run` (it holds images/ and catalog.sqlite)")
        }
        let catalogPresets = AgencyCatalog(presetsFolder: presetsFolder)
        let presets = try agencies.map { Planner.gatingSoftImages(try catalogPresets.load($0), soft) }
        try FileManager.default.createDirectory(atPath: output + "/.stockwerk", withIntermediateDirectories: true)
        let lock = try OutputLock(folder: output + "/.stockwerk")
        defer { lock.release() }
        let packagesFolder = output + "/packages"
        PackageBuilder.removeLeftovers(in: packagesFolder)
        let catalog = try Catalog(path: output + "/catalog.sqlite")
        let runID = try catalog.beginRun(workflowPath: "stockwerk package " + agencies.joined(separator: " "), workflowHash: "")
        let files = names.filter { $0.lowercased().hasSuffix(".jpg") && !$0.hasPrefix(".") }.sorted()  // dot files are temporaries
        // A file that cannot be read is refused by every agency, with its reason; the rest are packaged.
        let finishes = try finishFacts(catalog)
        // What the run wrote each file from (its categories, after a review's edits) and a person's
        // decision on that very file (`stockwerk review`): rejected ones go nowhere, and with
        // `review: required` only approved ones are packaged.
        let reviews = try catalog.reviews()
        let tagged = files.map { try? ReviewEditing.tagged($0, output: output, catalog: catalog, reviews: reviews) }
        let approvalRequired = reviewRequired(output: output)
        let subjects: [Result<CheckSubject, Error>] = zip(files, tagged).map { name, tagged in
            Result {
                var subject = try CheckSubject.read(imagesFolder + "/" + name)
                subject.categories = tagged?.recipe.writtenCategories ?? [:]
                let finish = finishes[URL(fileURLWithPath: subject.path).standardizedFileURL.path]
                subject.enlargement = finish?.scale
                subject.detail = finish?.sharpness
                return subject
            }
        }
        var hashes: [String: UInt64] = [:]
        var reports: [PackageReport] = []
        for preset in presets {
            var items: [PackageItem] = []
            for (file, (result, tagged)) in zip(files, zip(subjects, tagged)) {
                guard case .success(let subject) = result else {
                    if case .failure(let error) = result {
                        let path = imagesFolder + "/" + file
                        items.append(PackageItem(imagePath: path, entry: PackageEntry(fileName: file, metadata: StockMetadata()),
                                                 verdict: .unreadable(path, agency: preset.id, reason: "\(error)")))
                    }
                    continue
                }
                var verdict = AgencyChecker(preset: preset).check(subject)
                verdict.file = subject.path
                let review = tagged?.review
                if let review, review.decision == .rejected {
                    verdict = .rejectedInReview(subject.path, agency: preset.id, on: review.decidedAt)
                } else if approvalRequired, review?.decision != .approved {
                    verdict = .awaitingReview(subject.path, agency: preset.id)
                }
                let entry = PackageEntry(fileName: file, metadata: subject.metadata,
                                         category: preset.category(given: subject.categories, keywords: subject.metadata.keywords))
                items.append(PackageItem(imagePath: subject.path, entry: entry, verdict: verdict))
                if verdict.accepted, hashes[subject.path] == nil { hashes[subject.path] = try? Thumbnails.differenceHash(subject.path) }
            }
            let ids = files.map { String($0.dropLast(4)) }  // the image's slot, as `run` names it
            reports.append(try build(preset, items: &items, ids: ids, hashes: hashes, catalog: catalog, runID: runID, packagesFolder: packagesFolder))
        }
        try catalog.finishRun(runID, status: "finished")
        return reports
    }

    /// Whether the workflow of the output's last run has `review: required`.
    static func reviewRequired(output: String) -> Bool {
        guard let data = FileManager.default.contents(atPath: output + "/report.json"),
              let report = try? JSONDecoder().decode(RunSummary.self, from: data),
              let spec = try? WorkflowParser.parse(file: report.workflow) else { return false }
        return spec.review == .required
    }

    /// The finish stage's facts (enlargement, detail figure) of each finished image, by its path,
    /// from the catalog: the tag stage made the file, the finish stage of the same job measured it.
    public static func finishFacts(_ catalog: Catalog) throws -> [String: FinishResult] {
        var facts: [String: FinishResult] = [:]
        for record in try catalog.stageResults() where record.stage == "tag" {  // oldest first: the latest run wins
            guard let path = record.artifactPath, let finish = try catalog.stage("finish", of: record.jobID),
                  let result = try? JSONDecoder().decode(FinishResult.self, from: Data(finish.details.utf8)) else { continue }
            facts[URL(fileURLWithPath: path).standardizedFileURL.path] = result
        }
        return facts
    }

    /// One agency's package from checked items: near-duplicates refused (within the package and
    /// against the catalog's history), the folder built, and the catalog told what it holds.
    /// `items` come back with the near-duplicate findings; `ids` name each item's slot.
    static func build(_ preset: AgencyPreset, items: inout [PackageItem], ids: [String], hashes: [String: UInt64],
                      catalog: Catalog, runID: Int64, packagesFolder: String) throws -> PackageReport {
        let earlier = try catalog.packagedImages(agency: preset.id).map { NearDuplicates.Known(id: $0.jobID, fileName: $0.fileName, hash: $0.hash) }
        NearDuplicates.mark(&items, ids: ids, hashes: hashes, earlier: earlier, preset: preset)
        let report = try PackageBuilder.build(agency: preset, items: items, packagesFolder: packagesFolder)
        let csvHash = (try? Hashing.file(packagesFolder + "/" + preset.id + "/" + report.csv)) ?? ""
        try catalog.recordPackage(agency: preset.id, runID: runID, accepted: report.accepted, rejected: report.rejected, csvHash: csvHash)
        let packaged = zip(items, ids).filter { $0.0.verdict.accepted }.compactMap { item, id in
            hashes[item.imagePath].map { (jobID: id, fileName: item.entry.fileName, hash: $0) }
        }
        try catalog.recordPackagedImages(agency: preset.id, runID: runID, images: packaged)
        return report
    }
}
