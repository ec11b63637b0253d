import AtomicFiles
import Agencies
import Foundation
import Imaging
import Metadata

/// One image to produce: a source file, what will be written into it, and its planned size.
public struct Job: Sendable {
    /// Hash of everything that determines the output (source content, finish settings, metadata).
    public var id: String
    /// Output file name without extension (unique in the run, ≤ 26 characters).
    public var name: String
    public var source: String
    public var sourceHash: String
    public var sourceInfo: ImageInfo
    /// Why the image counts as AI-generated, or nil.
    public var aiReason: String?
    /// What planning noticed and the run reports with the image (a declaration overruled by evidence).
    public var notes: [String] = []
    public var metadata: StockMetadata
    public var categories: [String: String]
    public var editorial: Bool
    public var planned: FinishResult
    /// For generated images: what the generate stage makes `source` from.
    public var generation: GenerationPlan? = nil
}

public struct WorkflowPlan: Sendable {
    public var spec: WorkflowSpec
    public var jobs: [Job]
    public var agencies: [AgencyPreset]
    public var presetsFolder: String
    /// Imported files that cannot be read (damaged, not an image, not a regular file): each is
    /// reported as a failed image with its name; the others run.
    public var unreadable: [UnreadableSource] = []
    /// `upscale:`: the learned model every image goes through before finish.
    public var upscale: UpscalePlan? = nil
}

/// An imported file that planning could not read, and why.
public struct UnreadableSource: Sendable, Equatable {
    public var path: String
    public var reason: String
}

/// Expands imports into jobs and checks everything that needs the files: globs that match
/// nothing, unreadable images, impossible sizes, unknown agencies, bad sidecars.
public enum Planner {
    static let imageExtensions: Set<String> = ["jpg", "jpeg", "png", "tif", "tiff", "webp"]
    /// Adobe Stock allows 30 characters for a file name, extension included.
    static let maxNameLength = 26

    /// `preset` with its detail rule as `checks: {soft: …}` says: off, a warning or a rejection
    /// (at the preset's threshold, else the detail figure's own 1.1, sourced to docs/upscaling.md).
    public static func gatingSoftImages(_ preset: AgencyPreset, _ gate: WorkflowSpec.CheckSettings.Gate?) -> AgencyPreset {
        guard let gate else { return preset }
        var preset = preset
        let existing = preset.rules.minDetailVsBicubic
        switch gate {
        case .off: preset.rules.minDetailVsBicubic = nil
        case .warn, .reject:
            let source = existing?.source ?? RuleSource(url: "docs/upscaling.md#quality-check-the-detail-figure", checked: "", confidence: .unverified)
            preset.rules.minDetailVsBicubic = Rule(value: existing?.value ?? Sharpness.softBelow, source: source, severity: gate == .reject ? .reject : .warning)
        }
        return preset
    }

    /// `dryRun`: plan without writing anything anywhere (not even the models' hash cache).
    public static func plan(_ spec: WorkflowSpec, presetsFolder explicit: String? = nil, dryRun: Bool = false) throws -> WorkflowPlan {
        var issues: [WorkflowIssue] = []
        func issue(_ message: String, _ location: WorkflowSpec.Location, hint: String) {
            issues.append(WorkflowIssue(message, file: spec.file, line: location.line, column: location.column, hint: hint))
        }

        var presets: [AgencyPreset] = []
        let presetsFolder = PresetLocator.locate(explicit: explicit, near: spec.file)
        if let presetsFolder {
            let catalog = AgencyCatalog(presetsFolder: presetsFolder)
            for agency in spec.agencies {
                let location = spec.agencyLocations[agency] ?? .init(line: 1, column: 1)
                do { presets.append(try catalog.load(agency)) } catch AgencyError.unknownAgency(_, let known) {
                    let suggestion = YAMLNodeReader.closest(to: agency, in: known).map { "did you mean `\($0)`? " } ?? ""
                    issue("unknown agency `\(agency)`", location, hint: "\(suggestion)known agencies: \(known.joined(separator: ", "))")
                } catch {
                    issue("\(error)", location, hint: (error as? AgencyError)?.hint ?? "")
                }
            }
        } else if !spec.agencies.isEmpty {
            issue("cannot find the presets folder with agency rules", .init(line: 1, column: 1),
                  hint: "run from the Stockwerk folder, or set STOCKWERK_PRESETS=/path/to/presets")
        }
        presets = presets.map { gatingSoftImages($0, spec.checks.soft(for: $0.id)) }

        // An output that can never be written is reported before the imports are looked at
        // (their "inside the output" exclusions would only confuse the message).
        var outputUsable = false
        switch OutputFolder.state(of: spec.output) {
        case .forbidden(let reason):
            issue("output `\(spec.output)` \(reason); Stockwerk writes only into a folder of its own", spec.outputLocation,
                  hint: "set `output:` to a new folder, e.g. `output: out/my-batch`")
        case .notAFolder:
            issue("output `\(spec.output)` exists and is not a folder", spec.outputLocation, hint: "set `output:` to a folder")
        default: outputUsable = true
        }
        guard outputUsable else { throw WorkflowValidationError(issues: issues) }

        // The learned upscaler first: finish plans every job from the size it makes.
        var upscale: UpscalePlan?
        if let settings = spec.upscale {
            upscale = UpscalePlanning.plan(settings, spec: spec, modelsFolder: spec.generate?.modelsFolder ?? ModelLocator.defaultModelsFolder(),
                                           remember: !dryRun) { issue($0, $1, hint: $2) }
        }
        let enlargedBy = upscale?.scale ?? 1

        var jobs: [Job] = []
        var unreadable: [UnreadableSource] = []
        var importLocations: [String: WorkflowSpec.Location] = [:]
        let output = OutputFolder.Inside(spec.output)
        var usedNames = Set<String>()
        var seenSources = Set<String>()
        for source in spec.imports {
            var matched = 0, insideOutput = 0
            for pattern in source.patterns {
                for path in FileGlob.expand(pattern) where imageExtensions.contains(URL(fileURLWithPath: path).pathExtension.lowercased()) {
                    // The output folder is Stockwerk's: what is in it is never imported (no source
                    // overwritten by its own output, no outputs imported again by `**`).
                    if output.contains(path) { insideOutput += 1; continue }
                    matched += 1
                    guard seenSources.insert(path).inserted else { continue }
                    if let problem = RegularFile.check(path) {
                        unreadable.append(UnreadableSource(path: path, reason: problem))
                        continue
                    }
                    importLocations[path] = source.location
                    do {
                        if let job = try makeJob(path, source: source, spec: spec, enlargedBy: enlargedBy, usedNames: &usedNames, issues: &issues) { jobs.append(job) }
                    } catch let error as ImagingError {
                        if case .enlargementTooLarge = error {
                            issue("\(error)", spec.finishLocation, hint: error.hint)
                        } else {
                            unreadable.append(UnreadableSource(path: path, reason: "\(error)"))
                        }
                    } catch {
                        unreadable.append(UnreadableSource(path: path, reason: "\(error)"))
                    }
                }
            }
            if matched == 0, insideOutput > 0 {
                issue("\(source.patterns.map { "`\(relative($0, to: spec.file))`" }.joined(separator: ", ")) matches only files inside the output folder `\(relative(spec.output, to: spec.file))`, which is Stockwerk's",
                      source.location, hint: "move the photos out of the output folder, or set `output:` to a new folder")
            } else if matched == 0 {
                issue("no image files match \(source.patterns.map { "`\(relative($0, to: spec.file))`" }.joined(separator: ", "))", source.location,
                      hint: "check the path (relative to the workflow file's folder); JPEG, PNG, TIFF and WebP files are read")
            }
        }
        if let generate = spec.generate {
            jobs += generationJobs(generate, spec: spec, presetsFolder: presetsFolder, rememberHashes: !dryRun, enlargedBy: enlargedBy,
                                   usedNames: &usedNames, issues: &issues)
        }
        // The model (and a generated image's redraw) is part of each job's identity.
        if let upscale {
            let redraw = upscale.redraw.map { Hashing.json($0) } ?? ""
            jobs = jobs.map { var job = $0; job.id = Hashing.of([job.id, upscale.identity] + (job.generation == nil ? [] : [redraw])); return job }
        }
        // `describe:` runs after finish, on the finished pixels; its settings are part of each job's identity.
        if let describe = spec.describe {
            let settings = Hashing.json([describe.maxKeywords.map(String.init) ?? "agencies"] + describe.exclude)
            jobs = jobs.map { var job = $0; job.id = Hashing.of([job.id, "describe-v2", settings]); return job }
        }
        // Metadata that cannot be written is refused now, not after minutes of generating.
        for job in jobs {
            guard let problem = MetadataWriter.sizeProblem(job.metadata) else { continue }
            let location = job.generation != nil ? (spec.generate?.promptLocations.first ?? spec.generate?.location) : importLocations[job.source]
            issue("\(job.name): \(problem)", location ?? .init(line: 1, column: 1),
                  hint: "shorten it; agencies read a few hundred characters of a description and none of a 100,000-character prompt")
        }
        guard issues.isEmpty else { throw WorkflowValidationError(issues: issues) }
        return WorkflowPlan(spec: spec, jobs: jobs, agencies: presets, presetsFolder: presetsFolder ?? "", unreadable: unreadable, upscale: upscale)
    }

    /// `enlargedBy`: the upscale stage's factor (1 without one): finish starts from that size.
    static func makeJob(_ path: String, source: WorkflowSpec.ImportSource, spec: WorkflowSpec, enlargedBy: Int = 1,
                        usedNames: inout Set<String>, issues: inout [WorkflowIssue]) throws -> Job? {
        let info = try ImageInfo.read(path)
        if let damage = info.damage { throw ImagingError.cannotOpen(path: path, reason: "the file is damaged: \(damage)") }
        let planned = try Finisher.plan(sourceWidth: info.width * enlargedBy, sourceHeight: info.height * enlargedBy, settings: spec.finish,
                                        path: relative(path, to: spec.file))
        let sidecar = source.readSidecars ? Sidecar.find(for: path, issues: &issues) : nil

        // Provenance is read whatever `embedded_metadata` says: evidence is not a field to opt out of.
        let subject = try CheckSubject.read(path, info: info, declared: declaration(sidecar: sidecar, source: source))
        let embedded = source.readEmbeddedMetadata ? subject.metadata : StockMetadata()
        let aiReason = subject.ai.reason
        var notes = subject.provenance.warnings.map { "provenance: \($0)" }
        if let overruled = subject.ai.overruled { notes.insert(overruled, at: 0) }
        let metadata = merge(sidecar: sidecar, embedded: embedded, defaults: spec.metadata, aiReason: aiReason, provenance: subject.provenance)
        let name = uniqueName(for: path, used: &usedNames)
        var categories = spec.metadata.categories
        for (agency, category) in sidecar?.categories ?? [:] { categories[agency] = category }

        let sourceHash = try Hashing.file(path)
        let id = Hashing.of(["job-v1", sourceHash, name, Hashing.json(spec.finish), Hashing.json(metadata),
                             Hashing.json(categories.sorted { $0.key < $1.key }.map { [$0.key, $0.value] }), aiReason ?? ""])
        return Job(id: id, name: name, source: path, sourceHash: sourceHash, sourceInfo: info, aiReason: aiReason, notes: notes,
                   metadata: metadata, categories: categories, editorial: spec.metadata.editorial, planned: planned)
    }

    /// What the sidecar (first) or the workflow says about AI, when either says anything.
    static func declaration(sidecar: Sidecar?, source: WorkflowSpec.ImportSource) -> AIDeclaration? {
        if let sidecar, let flag = sidecar.aiGenerated {
            return AIDeclaration(isAI: flag, by: "its sidecar \(URL(fileURLWithPath: sidecar.path).lastPathComponent) (ai_generated: \(flag))")
        }
        return source.aiGenerated.map { AIDeclaration(isAI: $0, by: "the workflow (import.ai_generated: \($0))") }
    }

    /// The documented merge rule (docs/workflow.md): per-file values beat generic ones for what
    /// describes the picture; the workflow's identity fields (creator, copyright, credit, source)
    /// beat embedded ones; whatever else the file carries (AI fields, date, generation
    /// parameters…) is kept, so tagging never loses a field Stockwerk did not set.
    static func merge(sidecar: Sidecar?, embedded: StockMetadata, defaults: WorkflowSpec.MetadataDefaults, aiReason: String?,
                      provenance: Provenance = Provenance()) -> StockMetadata {
        var result = embedded
        result.title = sidecar?.title ?? embedded.title ?? defaults.title
        result.description = sidecar?.description ?? embedded.description ?? sidecar?.prompt ?? defaults.description
        let fileKeywords = sidecar.map { $0.keywords.isEmpty ? embedded.keywords : $0.keywords } ?? embedded.keywords
        result.keywords = Keywords.deduplicated(fileKeywords + defaults.keywords)
        result.creators = !(sidecar?.creators.isEmpty ?? true) ? sidecar!.creators
            : (!defaults.creators.isEmpty ? defaults.creators : embedded.creators)
        result.copyright = sidecar?.copyright ?? defaults.copyright ?? embedded.copyright
        if let releases = sidecar?.modelReleases, !releases.isEmpty { result.modelReleases = releases }
        if let releases = sidecar?.propertyReleases, !releases.isEmpty { result.propertyReleases = releases }
        result.credit = defaults.credit ?? embedded.credit
        result.source = defaults.source ?? embedded.source
        result.instructions = embedded.instructions ?? defaults.instructions
        result.city = embedded.city ?? defaults.city
        result.country = embedded.country ?? defaults.country
        result.dataMining = defaults.dataMining ?? embedded.dataMining
        result.software = "Stockwerk"
        let chosen = DigitalSourceType(rawValue: defaults.digitalSourceType.rawValue)
        if aiReason != nil {
            // An AI image always leaves labelled (Adobe Stock requires it): a chosen AI type, else
            // the one its evidence declares, else a pure AI image. `none` or a non-AI type cannot unlabel it.
            result.digitalSourceType = chosen?.isGenerativeAI == true ? chosen
                : (embedded.digitalSourceType?.isGenerativeAI == true ? embedded.digitalSourceType : provenance.aiSourceType)
            result.aiSystem = embedded.aiSystem ?? provenance.aiSystem
            result.aiPrompt = embedded.aiPrompt ?? provenance.prompt
            result.generation = embedded.generation ?? provenance.generation
            // The date of the source photo (camera EXIF, and the XMP/IIM copies of it) would misdate an AI image.
            if !defaults.keepCameraEXIF { result.dateCreated = nil }
        } else {
            result.digitalSourceType = chosen
        }
        return result
    }

    /// A file-system and agency friendly name: lower-case ASCII, digits and dashes, made unique.
    static func uniqueName(for path: String, used: inout Set<String>) -> String {
        let stem = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        var slug = ""
        for scalar in stem.lowercased().unicodeScalars {
            if (scalar >= "a" && scalar <= "z") || (scalar >= "0" && scalar <= "9") { slug.unicodeScalars.append(scalar) }
            else if !slug.hasSuffix("-") { slug += "-" }
        }
        slug = slug.trimmingCharacters(in: CharacterSet(charactersIn: "-"))
        if slug.isEmpty { slug = "image" }
        slug = String(slug.prefix(maxNameLength))
        var candidate = slug
        var counter = 2
        while used.contains(candidate) {
            let suffix = "-\(counter)"
            candidate = String(slug.prefix(maxNameLength - suffix.count)) + suffix
            counter += 1
        }
        used.insert(candidate)
        return candidate
    }

    static func relative(_ path: String, to workflowFile: String) -> String {
        let folder = URL(fileURLWithPath: workflowFile).deletingLastPathComponent().standardizedFileURL.path + "/"
        return path.hasPrefix(folder) ? String(path.dropFirst(folder.count)) : path
    }
}
