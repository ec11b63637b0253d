import AtomicFiles
import Foundation

/// The files a command rewrites in place (`tag`, `keyword --write`), checked before any is changed:
/// each is resolved to the file it names (symlinks followed), named once however often it is
/// given, and refused when it is read-only, hard-linked or not a regular file. Temporaries that a
/// killed earlier run left in their folders are removed first.
enum EditTargets {
    static func resolve(_ given: [String]) throws -> [(given: String, path: String)] {
        var seen = Set<FileIdentity>()
        var targets: [(given: String, path: String)] = []
        for file in given {
            let editable = try EditableFile(file)
            guard seen.insert(editable.identity).inserted else { continue }
            targets.append((file, editable.path))
        }
        for folder in Set(targets.map { URL(fileURLWithPath: $0.path).deletingLastPathComponent().path }) {
            AtomicFile.removeLeftovers(in: folder)
        }
        return targets
    }
}
