import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Expands glob patterns: `*`, `?`, `[…]` and `{a,b}` within a folder name, `**` for any depth of folders.
enum FileGlob {
    static func expand(_ pattern: String) -> [String] {
        if pattern.contains("**") { return recursive(pattern) }
        var result = glob_t()
        defer { globfree(&result) }
        guard glob(pattern, GLOB_BRACE, nil, &result) == 0 else { return [] }
        return (0..<Int(result.gl_pathc)).compactMap { result.gl_pathv[$0].map { String(cString: $0) } }.sorted()
    }

    /// `base/**/rest`: walk everything under base and match the whole path (here `*` may cross folders).
    private static func recursive(_ pattern: String) -> [String] {
        let components = pattern.split(separator: "/", omittingEmptySubsequences: false)
        let firstWild = components.firstIndex { $0.contains("*") || $0.contains("?") || $0.contains("[") } ?? components.count
        let base = components[..<firstWild].joined(separator: "/")
        guard let walker = FileManager.default.enumerator(atPath: base.isEmpty ? "/" : base) else { return [] }
        let flattened = pattern.replacingOccurrences(of: "/**/", with: "/*")
        var matches: [String] = []
        while let relative = walker.nextObject() as? String {
            let full = base + "/" + relative
            if fnmatch(flattened, full, 0) == 0 || fnmatch(pattern, full, 0) == 0 { matches.append(full) }
        }
        return matches.sorted()
    }
}
