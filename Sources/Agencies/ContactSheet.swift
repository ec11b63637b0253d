import Foundation
import Imaging

/// An offline HTML contact sheet: one card per image with its thumbnail (embedded, so the file
/// works anywhere without the images), an AI badge with its evidence, title, description,
/// keywords, categories, the image's warnings, its detail figure with the softest region at
/// 100 %, and each agency's verdict with reasons.
public enum ContactSheet {
    public struct Card: Sendable {
        public var fileName: String
        public var imagePath: String
        public var title: String?
        public var keywords: [String]
        public var verdicts: [Verdict]
        /// The detail figure of an enlarged image: its softest region is shown at 100 % beside the thumbnail.
        public var detail: SharpnessReport?
        public var description: String?
        /// Why the image counts as AI-generated (the evidence), or nil when it does not.
        public var ai: String?
        /// Category by agency name, as the package's CSV gets it.
        public var categories: [(agency: String, category: String)]
        /// The image's own warnings (metadata, detail), apart from the agencies' findings.
        public var warnings: [String]

        public init(fileName: String, imagePath: String, title: String?, keywords: [String], verdicts: [Verdict], detail: SharpnessReport? = nil,
                    description: String? = nil, ai: String? = nil, categories: [(agency: String, category: String)] = [], warnings: [String] = []) {
            self.fileName = fileName; self.imagePath = imagePath; self.title = title; self.keywords = keywords; self.verdicts = verdicts
            self.detail = detail; self.description = description; self.ai = ai; self.categories = categories; self.warnings = warnings
        }
    }

    /// The page; a card whose thumbnail cannot be made says so instead of failing the sheet.
    public static func html(title: String, cards: [Card], agencyNames: [String: String]) -> String {
        var page = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title>
            <style>
            body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; background: #fafafa; }
            h1 { font-size: 20px; margin: 0 0 16px; }
            .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 16px; }
            .card { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 10px; }
            .card img { width: 100%; height: 200px; object-fit: contain; background: #eee; display: block; }
            .pair { display: flex; gap: 6px; } .pair img { width: 50%; } .pair img.crop { object-fit: none; }
            .detail { font-size: 12px; color: #444; margin-top: 4px; } .detail.soft { color: #a12; }
            .badge { display: inline-block; font: 600 11px/1 system-ui, sans-serif; padding: 3px 5px; border-radius: 3px; margin-right: 6px; }
            .badge.ai { background: #4b3bb3; color: #fff; }
            .description, .categories, .ai-evidence { font-size: 12px; color: #333; margin: 2px 0; }
            ul.image-warnings { margin: 4px 0 0 16px; padding: 0; font-size: 12px; }
            .name { font-family: monospace; font-size: 12px; color: #666; margin-top: 6px; }
            .title { font-weight: 600; margin: 4px 0; }
            .keywords { font-size: 12px; color: #444; }
            .verdict { margin-top: 6px; padding: 4px 6px; border-radius: 4px; font-size: 12px; }
            .accepted { background: #e3f5e1; } .refused { background: #fbe3e1; }
            .verdict ul { margin: 2px 0 0 16px; padding: 0; }
            .warning { color: #8a5a00; }
            </style></head><body>
            <h1>\(escape(title)) — \(cards.count) image\(cards.count == 1 ? "" : "s")</h1>
            <div class="grid">

            """
        for card in cards {
            page += "<div class=\"card\">"
            let crop = card.detail?.softest.flatMap { region in try? softestCrop(card.imagePath, region) }
            if crop != nil { page += "<div class=\"pair\">" }
            if let thumbnail = try? Thumbnails.jpeg(card.imagePath, size: 400) {
                page += "<img alt=\"\(escape(card.fileName))\" src=\"data:image/jpeg;base64,\(thumbnail.base64EncodedString())\">"
            } else {
                page += "<div class=\"refused\">no thumbnail: the image could not be read</div>"
            }
            if let crop {
                page += "<img class=\"crop\" alt=\"100 % crop of the softest region\" title=\"100 % crop of the softest region\" src=\"data:image/jpeg;base64,\(crop.base64EncodedString())\"></div>"
            }
            if let detail = card.detail {
                page += "<div class=\"detail\(detail.verdict == .soft ? " soft" : "")\">" + escape(detailLine(detail)) + "</div>"
            }
            page += "<div class=\"name\">" + (card.ai == nil ? "" : "<span class=\"badge ai\" title=\"\(escape(card.ai ?? ""))\">AI</span>")
                + "\(escape(card.fileName))</div>"
            if let ai = card.ai { page += "<div class=\"ai-evidence\">AI-generated: \(escape(ai))</div>" }
            page += "<div class=\"title\">\(escape(card.title ?? "(no title)"))</div>"
            page += "<div class=\"description\">\(escape(card.description ?? "(no description)"))</div>"
            page += "<div class=\"keywords\">\(card.keywords.count) keywords: \(escape(card.keywords.joined(separator: ", ")))</div>"
            if !card.categories.isEmpty {
                page += "<div class=\"categories\">Categories: " + escape(card.categories.map { "\($0.agency): \($0.category)" }.joined(separator: "; ")) + "</div>"
            }
            if !card.warnings.isEmpty {
                page += "<ul class=\"image-warnings\">" + card.warnings.map { "<li class=\"warning\">warning: \(escape($0))</li>" }.joined() + "</ul>"
            }
            for verdict in card.verdicts {
                let name = agencyNames[verdict.agency] ?? verdict.agency
                page += "<div class=\"verdict \(verdict.accepted ? "accepted" : "refused")\"><b>\(escape(name)): \(verdict.accepted ? "accepted" : "refused")</b>"
                let findings = verdict.reasons.map { ($0, false) } + verdict.warnings.map { ($0, true) }
                if !findings.isEmpty {
                    page += "<ul>"
                    for (finding, isWarning) in findings {
                        page += "<li\(isWarning ? " class=\"warning\"" : "")>\(isWarning ? "warning: " : "")\(escape(finding.message))</li>"
                    }
                    page += "</ul>"
                }
                page += "</div>"
            }
            page += "</div>\n"
        }
        page += "</div></body></html>\n"
        return page
    }

    /// Side of the 100 % crop shown for the softest region.
    static let cropSide = 256

    /// The centre of `region` at 100 %: cropSide pixels a side (or the region's, when smaller).
    public static func softestCrop(_ path: String, _ region: SharpnessReport.Region) throws -> Data {
        let side = min(cropSide, region.side)
        return try Thumbnails.crop(path, left: region.left + (region.side - side) / 2, top: region.top + (region.side - side) / 2, width: side, height: side)
    }

    public static func detailLine(_ detail: SharpnessReport) -> String {
        var line = String(format: "detail %.2f× a plain bicubic enlargement", detail.ratio)
        if let scale = detail.scale { line += String(format: " (enlarged %.1f×)", scale) }
        if let softest = detail.softest { line += String(format: "; softest region %.2f× (right: at 100 %%)", softest.ratio) }
        if let warning = detail.warning { line += "; " + warning }
        return line
    }

    public static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
