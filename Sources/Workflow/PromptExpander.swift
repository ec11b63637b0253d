import AtomicFiles
import Foundation

/// Expands prompt templates into every prompt they stand for:
/// - `{a|b|c}`: one prompt per alternative (several groups: every combination, the first group
///   varying slowest); groups nest; braces without `|` stay as written.
/// - `__name__`: one prompt per line of `name.txt` in the wildcards folder (empty lines and lines
///   starting with `#` skipped); lines may hold groups and wildcards themselves.
public struct PromptExpander: Sendable {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var hint: String
        public var description: String { message }
    }

    indirect enum Piece {
        case text(String)
        case choice([[Piece]])
    }

    public let wildcardsFolder: String
    /// Wildcards inside wildcards are followed this deep (a file naming itself would loop forever).
    static let maxDepth = 8

    public init(wildcardsFolder: String) { self.wildcardsFolder = wildcardsFolder }

    /// How many prompts `template` stands for, without building them (saturates at Int.max).
    public func count(_ template: String) throws -> Int { Self.count(try parse(template, depth: 0)) }

    /// Every prompt, in order. Check `count` first: this builds them all.
    public func expand(_ template: String) throws -> [String] {
        Self.expand(try parse(template, depth: 0)).map { $0.replacingOccurrences(of: "  ", with: " ").trimmingCharacters(in: .whitespaces) }
    }

    static func count(_ pieces: [Piece]) -> Int {
        pieces.reduce(1) { total, piece in
            guard case .choice(let alternatives) = piece else { return total }
            let options = alternatives.reduce(0) { $0.addingReportingOverflow(count($1)).overflow ? Int.max : $0 + count($1) }
            let (product, overflow) = total.multipliedReportingOverflow(by: options)
            return overflow ? Int.max : product
        }
    }

    static func expand(_ pieces: [Piece]) -> [String] {
        var prompts = [""]
        for piece in pieces {
            switch piece {
            case .text(let text): prompts = prompts.map { $0 + text }
            case .choice(let alternatives):
                let options = alternatives.flatMap(expand)
                prompts = prompts.flatMap { prefix in options.map { prefix + $0 } }
            }
        }
        return prompts
    }

    func parse(_ template: String, depth: Int) throws -> [Piece] {
        var pieces: [Piece] = []
        var text = ""
        var index = template.startIndex
        func flush() { if !text.isEmpty { pieces.append(.text(text)); text = "" } }
        while index < template.endIndex {
            let character = template[index]
            if character == "{", let close = Self.matchingBrace(in: template, from: index) {
                let inner = template[template.index(after: index)..<close]
                let alternatives = Self.splitTopLevel(inner)
                if alternatives.count > 1 {
                    flush()
                    pieces.append(.choice(try alternatives.map { try parse(String($0), depth: depth) }))
                } else {
                    text += template[index...close]
                }
                index = template.index(after: close)
                continue
            }
            if template[index...].hasPrefix("__"), let name = Self.wildcardName(in: template, at: index) {
                flush()
                pieces.append(.choice(try wildcard(name, depth: depth)))
                index = template.index(index, offsetBy: name.count + 4)
                continue
            }
            text.append(character)
            index = template.index(after: index)
        }
        flush()
        return pieces
    }

    func wildcard(_ name: String, depth: Int) throws -> [[Piece]] {
        guard depth < Self.maxDepth else {
            throw Failure(message: "wildcard __\(name)__ is nested more than \(Self.maxDepth) deep", hint: "a wildcard file probably names itself; check \(name).txt")
        }
        let path = wildcardsFolder + "/" + name + ".txt"
        guard let text = RegularFile.text(atPath: path) else {
            throw Failure(message: "wildcard __\(name)__ has no file \(path)", hint: "create \(name).txt there with one value per line, or set `generate.wildcards` to its folder")
        }
        let lines = text.components(separatedBy: .newlines).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.hasPrefix("#") }
        guard !lines.isEmpty else { throw Failure(message: "wildcard file \(path) has no values", hint: "write one value per line") }
        return try lines.map { try parse($0, depth: depth + 1) }
    }

    /// `__name__` at `index`: letters, digits, `-`, `/` and single underscores.
    static func wildcardName(in text: String, at index: String.Index) -> String? {
        let rest = text[text.index(index, offsetBy: 2)...]
        guard let end = rest.range(of: "__") else { return nil }
        let name = rest[..<end.lowerBound]
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_/"))
        guard !name.isEmpty, !name.hasPrefix("/"), !name.contains(".."), name.unicodeScalars.allSatisfy(allowed.contains) else { return nil }
        return String(name)
    }

    static func matchingBrace(in text: String, from open: String.Index) -> String.Index? {
        var depth = 0
        var index = open
        while index < text.endIndex {
            if text[index] == "{" { depth += 1 }
            if text[index] == "}" { depth -= 1; if depth == 0 { return index } }
            index = text.index(after: index)
        }
        return nil
    }

    static func splitTopLevel(_ text: Substring) -> [Substring] {
        var parts: [Substring] = []
        var depth = 0
        var start = text.startIndex
        var index = text.startIndex
        while index < text.endIndex {
            switch text[index] {
            case "{": depth += 1
            case "}": depth -= 1
            case "|" where depth == 0:
                parts.append(text[start..<index])
                start = text.index(after: index)
            default: break
            }
            index = text.index(after: index)
        }
        parts.append(text[start...])
        return parts
    }
}
