import Foundation
import Yams

/// Reads typed values out of a YAML node tree, recording a located issue for every problem,
/// so one pass reports all mistakes in a workflow.
final class YAMLNodeReader {
    let file: String
    private(set) var issues: [WorkflowIssue] = []

    init(file: String) { self.file = file }

    func issue(_ message: String, at node: Node?, hint: String) {
        let mark = node?.mark
        issues.append(WorkflowIssue(message, file: file, line: mark?.line ?? 1, column: mark?.column ?? 1, hint: hint))
    }

    /// A key worth echoing in a message: letters, digits, `_`, `-`, `.` and spaces, at most 40 characters.
    static func isPlainKey(_ name: String) -> Bool {
        name.count <= 40 && name.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || ("0"..."9").contains($0) || "_-. ".unicodeScalars.contains($0) }
    }

    /// The entries of a mapping, with unknown keys reported (with a did-you-mean).
    func mapping(_ node: Node, path: String, allowed: [String]) -> [String: (key: Node, value: Node)]? {
        guard case .mapping(let mapping) = node else {
            issue("\(path) must be a mapping (key: value lines), found \(kind(of: node))", at: node,
                  hint: "indent the keys of \(path) under it, e.g. `\(path.split(separator: ".").last ?? ""):` then `  \(allowed.first ?? "key"): …`")
            return nil
        }
        var result: [String: (key: Node, value: Node)] = [:]
        var unknown = 0, reportedStrangeKey = false
        defer {
            if unknown > 5 { issue("\(path) has \(unknown) unknown keys (the first 5 are shown)", at: node, hint: "allowed keys: \(allowed.joined(separator: ", "))") }
        }
        for (key, value) in mapping {
            guard let name = key.string else {
                issue("keys in \(path) must be text", at: key, hint: "use one of: \(allowed.joined(separator: ", "))")
                continue
            }
            guard allowed.contains(name) else {
                unknown += 1
                // A key that is not a plain name is not echoed: the file may not be ours to show
                // (a sidecar linked to /etc/shadow must not print its lines).
                guard Self.isPlainKey(name) else {
                    if !reportedStrangeKey {
                        reportedStrangeKey = true
                        issue("\(path) has keys that are not plain names (not shown), so it is probably not the file meant", at: key,
                              hint: "check the file; allowed keys: \(allowed.joined(separator: ", "))")
                    }
                    continue
                }
                guard unknown <= 5 else { continue }
                let suggestion = Self.closest(to: name, in: allowed).map { "did you mean `\($0)`? " } ?? ""
                issue("unknown key `\(name)` in \(path)", at: key,
                      hint: "\(suggestion)allowed keys: \(allowed.joined(separator: ", "))")
                continue
            }
            if result[name] != nil {
                issue("`\(name)` appears twice in \(path)", at: key, hint: "keep one of them")
            }
            result[name] = (key, value)
        }
        return result
    }

    func string(_ node: Node, path: String) -> String? {
        guard case .scalar(let scalar) = node else {
            issue("\(path) must be text, found \(kind(of: node))", at: node, hint: "write it on one line after `\(leaf(path)):`")
            return nil
        }
        return scalar.string
    }

    func bool(_ node: Node, path: String) -> Bool? {
        if case .scalar = node, let value = node.bool { return value }
        issue("\(path) must be true or false, found \(describe(node))", at: node, hint: "write `\(leaf(path)): true` or `\(leaf(path)): false`")
        return nil
    }

    func int(_ node: Node, path: String, range: ClosedRange<Int>) -> Int? {
        number(node, path: path, range: range, kind: "a whole number") { $0.int }
    }

    func double(_ node: Node, path: String, range: ClosedRange<Double>) -> Double? {
        number(node, path: path, range: range, kind: "a number") { $0.float ?? $0.int.map(Double.init) }
    }

    private func number<T: Comparable>(_ node: Node, path: String, range: ClosedRange<T>, kind: String,
                                       _ parse: (Node) -> T?) -> T? {
        let hint = "use a number between \(range.lowerBound) and \(range.upperBound)"
        guard case .scalar = node, let value = parse(node) else {
            issue("\(path) must be \(kind), found \(describe(node))", at: node, hint: hint)
            return nil
        }
        guard range.contains(value) else {
            issue("\(path) is \(value), outside \(range.lowerBound)…\(range.upperBound)", at: node, hint: hint)
            return nil
        }
        return value
    }

    func choice<T: RawRepresentable>(_ node: Node, path: String, _ type: T.Type, cases: [T]) -> T? where T.RawValue == String {
        guard let text = string(node, path: path) else { return nil }
        if let value = T(rawValue: text) { return value }
        let names = cases.map(\.rawValue)
        let suggestion = Self.closest(to: text, in: names).map { "did you mean `\($0)`? " } ?? ""
        issue("\(path) cannot be `\(text)`", at: node, hint: "\(suggestion)choose one of: \(names.joined(separator: ", "))")
        return nil
    }

    /// A list of text values; a single text value, or comma-separated text when `splitCommas`, is accepted too.
    func strings(_ node: Node, path: String, splitCommas: Bool = false) -> [String]? {
        switch node {
        case .scalar(let scalar):
            let text = scalar.string
            return splitCommas ? text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } : [text]
        case .sequence(let sequence):
            var values: [String] = []
            for item in sequence {
                if let text = string(item, path: path + "[]") { values.append(text) }
            }
            return values
        default:
            issue("\(path) must be a list of text values", at: node, hint: "write `\(leaf(path)): [a, b, c]` or one `- item` per line")
            return nil
        }
    }

    private func leaf(_ path: String) -> String { String(path.split(separator: ".").last ?? Substring(path)) }

    func kind(of node: Node) -> String {
        switch node {
        case .scalar: return "a single value"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    private func describe(_ node: Node) -> String {
        if case .scalar(let scalar) = node { return "`\(scalar.string)`" }
        return kind(of: node)
    }

    /// The allowed name closest to a misspelling (edit distance ≤ 3, or a shared prefix).
    static func closest(to name: String, in candidates: [String]) -> String? {
        let lower = name.lowercased()
        let scored = candidates.map { ($0, editDistance(lower, $0.lowercased())) }.sorted { $0.1 < $1.1 }
        guard let best = scored.first else { return nil }
        if best.1 <= max(1, min(3, name.count / 3)) { return best.0 }
        return candidates.first { $0.hasPrefix(lower) || lower.hasPrefix($0) }
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
