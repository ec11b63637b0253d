import Imaging
import Metadata
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What a check looks at: the file's technical facts, its metadata and whether it is AI-made.
public struct CheckSubject: Sendable {
    public var path: String
    public var info: ImageInfo
    public var metadata: StockMetadata
    /// Why the image counts as AI-generated, or nil when it does not.
    public var aiReason: String?
    /// What the file says about its origin, and the decision made from it.
    public var provenance = Provenance()
    public var ai = AIStatus()
    /// The JPEG quality estimate (IJG scale), for JPEGs.
    public var jpegQuality: Int?
    /// Categories given for the image, by agency (workflow or sidecar `categories`).
    public var categories: [String: String] = [:]
    /// How much the finish stage enlarged the image (output / source long edge), when known.
    public var enlargement: Double?
    /// The finished image's detail figure, when it was enlarged.
    public var detail: SharpnessReport?

    public init(path: String, info: ImageInfo, metadata: StockMetadata, aiReason: String?, jpegQuality: Int? = nil) {
        self.path = path; self.info = info; self.metadata = metadata; self.aiReason = aiReason; self.jpegQuality = jpegQuality
    }

    /// Reads facts and embedded metadata from a file. AI status is the shared decision
    /// (AIDecision): the file's evidence, weighed against what `declared` says.
    /// `info`: the file's facts when the caller has read them already (a file is opened once).
    public static func read(_ path: String, info known: ImageInfo? = nil, declared: AIDeclaration? = nil) throws -> CheckSubject {
        let info = try known ?? ImageInfo.read(path)
        let (embedded, provenance) = try readEmbedded(of: path, info: info)
        let status = AIDecision.decide(provenance, declared: declared)
        let quality = info.format == .jpeg ? try JPEGQuality.estimate(path: path) : nil
        var subject = CheckSubject(path: path, info: info, metadata: embedded.reconciled, aiReason: status.reason, jpegQuality: quality)
        subject.provenance = provenance
        subject.ai = status
        return subject
    }
}

/// What an image file carries: its metadata (EXIF, IPTC IIM, XMP) and its provenance, from one
/// read of its metadata. JPEG: our segment reader, on the header only (the image data is not
/// read). PNG: libvips' blocks for the metadata, our chunk walker for generator text and C2PA.
/// TIFF and WebP: libvips' EXIF and XMP blocks for both.
public func readEmbedded(of path: String, info: ImageInfo) throws -> (metadata: EmbeddedMetadata, provenance: Provenance) {
    if info.format == .jpeg {
        let (jpeg, fd, _) = try JPEGFile.header(of: path)
        close(fd)
        return (try MetadataReader.read(jpeg: jpeg), ProvenanceReader.read(jpeg: jpeg))
    }
    let blobs = try EmbeddedBlobs.read(path)
    let metadata = try MetadataReader.read(exif: blobs.exif, xmp: blobs.xmp, photoshop: blobs.iptc, hasICCProfile: info.iccDescription != nil)
    let provenance = info.format == .png ? ProvenanceReader.read(path: path) : ProvenanceReader.read(exif: blobs.exif, xmp: blobs.xmp)
    return (metadata, provenance)
}

/// One reason a file is refused (or warned about), with the rule's source.
public struct CheckFinding: Codable, Sendable, Equatable, CustomStringConvertible {
    public var rule: String
    public var message: String
    public var source: String
    public var description: String { message }
}

public struct Verdict: Codable, Sendable, Equatable {
    public var agency: String
    public var file: String
    public var accepted: Bool
    public var reasons: [CheckFinding]
    public var warnings: [CheckFinding]

    /// Where Stockwerk's own file rules (not an agency's) are explained.
    public static let fileRulesSource = "docs/safety.md#damaged-and-unreadable-files"

    /// Where the review page and its decisions are explained.
    public static let reviewSource = "docs/review.md"

    /// A person rejected the image in `stockwerk review`: no agency gets it.
    public static func rejectedInReview(_ file: String, agency: String, on date: Date) -> Verdict {
        Verdict(agency: agency, file: file, accepted: false,
                reasons: [CheckFinding(rule: "review", message: "rejected in review (\(date.formatted(.iso8601)))", source: reviewSource)], warnings: [])
    }

    /// The workflow has `review: required` and nobody has approved the image yet.
    public static func awaitingReview(_ file: String, agency: String) -> Verdict {
        Verdict(agency: agency, file: file, accepted: false,
                reasons: [CheckFinding(rule: "review", message: "not approved in review yet (the workflow has `review: required`)", source: reviewSource)], warnings: [])
    }

    /// The refusal of a file that cannot be read at all: one bad file is that file's rejection, not the batch's end.
    public static func unreadable(_ file: String, agency: String, reason: String) -> Verdict {
        Verdict(agency: agency, file: file, accepted: false,
                reasons: [CheckFinding(rule: "readable_file", message: "cannot be read: \(reason)", source: fileRulesSource)], warnings: [])
    }
}

/// Applies an agency preset to a subject: every failing rule is reported, not just the first.
public struct AgencyChecker: Sendable {
    /// Letters of the Latin script: ASCII, Latin-1 Supplement and Latin Extended A/B and Additional.
    static func isLatin(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x41...0x5A, 0x61...0x7A, 0xC0...0x24F, 0x1E00...0x1EFF: return true
        default: return false
        }
    }

    public let preset: AgencyPreset

    public init(preset: AgencyPreset) { self.preset = preset }

    public func check(_ subject: CheckSubject) -> Verdict {
        var reasons: [CheckFinding] = []
        var warnings: [CheckFinding] = []
        func report<V>(_ rule: Rule<V>, _ name: String, _ message: String) {
            let finding = CheckFinding(rule: name, message: message, source: rule.source.url)
            if rule.severity == .reject { reasons.append(finding) } else { warnings.append(finding) }
        }
        let rules = preset.rules
        let info = subject.info
        let metadata = subject.metadata

        if let damage = info.damage {
            reasons.append(CheckFinding(rule: "whole_file", message: "the file is damaged: \(damage)", source: Verdict.fileRulesSource))
        }
        if let aiReason = subject.aiReason, !preset.ai.accepted {
            reasons.append(CheckFinding(rule: "ai_policy",
                message: "\(preset.name) does not accept AI-generated images, and this one is (\(aiReason)). Policy: \"\(preset.ai.policy)\"",
                source: preset.ai.source))
        }
        if let rule = rules.formats, !rule.value.contains(info.format.rawValue) {
            report(rule, "formats", "format \(info.format.rawValue.uppercased()) is not accepted (accepted: \(rule.value.map { $0.uppercased() }.joined(separator: ", ")))")
        }
        if let rule = rules.colorSpaces, !rule.value.contains(info.colorSpace) {
            report(rule, "color_spaces", "colour space \(info.colorSpace) is not accepted (accepted: \(rule.value.joined(separator: ", ")))")
        }
        let mp = info.megapixels
        if let rule = rules.minMegapixels, mp < rule.value {
            report(rule, "min_megapixels", String(format: "%dx%d is %.2f MP, below the minimum of %g MP", info.width, info.height, mp, rule.value))
        }
        if let rule = rules.maxMegapixels, mp > rule.value {
            report(rule, "max_megapixels", String(format: "%dx%d is %.2f MP, above the maximum of %g MP", info.width, info.height, mp, rule.value))
        }
        if let rule = rules.minSidePixels, min(info.width, info.height) < rule.value {
            report(rule, "min_side_pixels", "the short side is \(min(info.width, info.height)) px, below the minimum of \(rule.value) px")
        }
        if let rule = rules.maxSidePixels, info.longEdge > rule.value {
            report(rule, "max_side_pixels", "the long side is \(info.longEdge) px, above the maximum of \(rule.value) px")
        }
        let sizeMB = Double(info.fileSize) / 1_000_000
        if let rule = rules.maxFileSizeMB, sizeMB > rule.value {
            report(rule, "max_file_size_mb", String(format: "the file is %.1f MB, above the maximum of %g MB", sizeMB, rule.value))
        }
        let keywordCount = metadata.keywords.count
        if let rule = rules.minKeywords, keywordCount < rule.value {
            report(rule, "min_keywords", "\(keywordCount) keyword\(keywordCount == 1 ? "" : "s"), fewer than the minimum of \(rule.value)")
        }
        if let rule = rules.maxKeywords, keywordCount > rule.value {
            report(rule, "max_keywords", "\(keywordCount) keywords, more than the maximum of \(rule.value)")
        }
        let title = metadata.title?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        if let rule = rules.titleRequired, rule.value, title.isEmpty {
            report(rule, "title_required", "the title is missing")
        }
        if let rule = rules.maxTitleCharacters, title.count > rule.value {
            report(rule, "max_title_characters", "the title has \(title.count) characters, more than the maximum of \(rule.value)")
        }
        let description = metadata.description?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        if let rule = rules.descriptionRequired, rule.value, description.isEmpty {
            report(rule, "description_required", "the description is missing")
        }
        if let rule = rules.maxDescriptionCharacters, description.count > rule.value {
            report(rule, "max_description_characters", "the description has \(description.count) characters, more than the maximum of \(rule.value)")
        }
        if let rule = rules.minTitleCharacters, !title.isEmpty, title.count < rule.value {
            report(rule, "min_title_characters", "the title has \(title.count) characters, fewer than the minimum of \(rule.value)")
        }
        if let rule = rules.maxKeywordCharacters, let long = metadata.keywords.first(where: { $0.count > rule.value }) {
            report(rule, "max_keyword_characters", "the keyword \"\(long)\" has \(long.count) characters, more than the maximum of \(rule.value)")
        }
        if let rule = rules.noDuplicateKeywords, rule.value {
            // "galaxy, galaxies" is one keyword twice to an agency that forbids duplicates.
            var seen = Set<String>()
            let repeated = metadata.keywords.filter { !seen.insert(WordForms.rulesOnly.normalized($0)).inserted }
            if !repeated.isEmpty {
                report(rule, "no_duplicate_keywords", "keywords repeat (singular and plural count as one): \(repeated.joined(separator: ", "))")
            }
        }
        if let rule = rules.categoryRequired, rule.value,
           preset.category(given: subject.categories, keywords: metadata.keywords)?.isEmpty ?? true {
            report(rule, "category_required", "no category: none is given for \(preset.id) and no keyword picks one from presets/categories/")
        }
        if let rule = rules.minFileSizeMB, sizeMB < rule.value {
            report(rule, "min_file_size_mb", String(format: "the file is %.2f MB, below the minimum of %g MB", sizeMB, rule.value))
        }
        if let rule = rules.minJPEGQuality, let quality = subject.jpegQuality, quality < rule.value {
            report(rule, "min_jpeg_quality", "the JPEG was saved at quality \(quality) (estimated), below the minimum of \(rule.value)")
        }
        if let rule = rules.titleWithoutCommas, rule.value, title.contains(",") {
            report(rule, "title_without_commas", "the title has commas; \(preset.name)'s CSV takes titles without them, so they are left out there")
        }
        if let rule = rules.maxEnlargement, let scale = subject.enlargement, scale > rule.value {
            report(rule, "max_enlargement", String(format: "the image was enlarged %.1f× from its source (more than %g×): check it at 100%% for softness and upscaling artefacts", scale, rule.value))
        }
        if let rule = rules.minDetailVsBicubic, let detail = subject.detail, (detail.scale ?? 2) >= 2, detail.ratio < rule.value {
            report(rule, "min_detail_vs_bicubic", String(format: "looks soft: %.2f× the detail of a plain bicubic enlargement (at least %.2f× expected at %.1f×); add `upscale:` with a learned model (and `redraw:` for a generated image), or finish smaller",
                                                         detail.ratio, rule.value, detail.scale ?? 2))
        }
        if let rule = rules.latinScriptMetadata, rule.value {
            let texts = [metadata.title, metadata.description].compactMap { $0 } + metadata.keywords
            let foreign = texts.filter { text in text.unicodeScalars.contains { $0.properties.isAlphabetic && !Self.isLatin($0) } }
            if !foreign.isEmpty {
                report(rule, "latin_script_metadata", "\(preset.name) indexes English: not in Latin script: \(foreign.map { "\"\($0)\"" }.joined(separator: ", "))")
            }
        }
        if let rule = rules.bannedTerms {
            for finding in BannedTerms.find(in: metadata, lists: rule.value.map { ($0, preset.bannedTermLists[$0] ?? TermList(text: "")) }) {
                report(rule, "banned_terms", finding)
            }
        }
        if var rule = rules.discouragedTerms {
            rule.severity = .warning
            for finding in BannedTerms.find(in: metadata, lists: rule.value.map { ($0, preset.bannedTermLists[$0] ?? TermList(text: "")) }) {
                report(rule, "discouraged_terms", finding)
            }
        }
        return Verdict(agency: preset.id, file: subject.path, accepted: reasons.isEmpty, reasons: reasons, warnings: warnings)
    }
}
