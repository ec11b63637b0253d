import Foundation
import Imaging

/// An offline HTML contact sheet: one card per image with its thumbnail (embedded, so the file
/// works anywhere without the images), title, keywords, and each agency's verdict with reasons.
public enum ContactSheet {
    public struct Card: Sendable {
        public var fileName: String
        public var imagePath: String
        public var title: String?
        public var keywords: [String]
        public var verdicts: [Verdict]

        public init(fileName: String, imagePath: String, title: String?, keywords: [String], verdicts: [Verdict]) {
            self.fileName = fileName; self.imagePath = imagePath; self.title = title; self.keywords = keywords; self.verdicts = verdicts
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
            if let thumbnail = try? Thumbnails.jpeg(card.imagePath, size: 400) {
                page += "<img alt=\"\(escape(card.fileName))\" src=\"data:image/jpeg;base64,\(thumbnail.base64EncodedString())\">"
            } else {
                page += "<div class=\"refused\">no thumbnail: the image could not be read</div>"
            }
            page += "<div class=\"name\">\(escape(card.fileName))</div>"
            page += "<div class=\"title\">\(escape(card.title ?? "(no title)"))</div>"
            page += "<div class=\"keywords\">\(card.keywords.count) keywords: \(escape(card.keywords.joined(separator: ", ")))</div>"
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

    static func escape(_ text: String) -> String {
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
