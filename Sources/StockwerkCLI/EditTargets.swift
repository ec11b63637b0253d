import AtomicFiles
import Foundation
import Imaging

/// The files a command rewrites in place (`tag`, `keyword --write`), checked before any is changed:
/// each is resolved to the file it names (symlinks followed), named once however often it is
/// given, and refused when it is read-only, hard-linked, not a regular file, not a JPEG or damaged.
/// Temporaries that a killed earlier run left in their folders are removed first.
enum EditTargets {
    struct Target {
        var given: String
        var path: String
        var info: ImageInfo
    }

    /// `command`: how the refusal names what writes (`tag`, `keyword --write`).
    static func resolve(_ given: [String], command: String) throws -> [Target] {
        // First, so a killed run's hard-link backups are gone before the hard-link check.
        for folder in Set(given.compactMap(FilePath.real).map { URL(fileURLWithPath: $0).deletingLastPathComponent().path }) {
            AtomicFile.removeLeftovers(in: folder)
        }
        var seen = Set<FileIdentity>()
        var targets: [Target] = []
        for file in given {
            let editable = try EditableFile(file)
            guard seen.insert(editable.identity).inserted else { continue }
            let info = try FileFailure.naming(file) { try ImageInfo.read(editable.path) }
            guard info.format == .jpeg else { throw BadOption("\(file) is \(info.format.rawValue.uppercased()), not a JPEG; `\(command)` writes JPEG files") }
            if let damage = info.damage { throw BadOption("\(file) is damaged: \(damage); work on a whole copy") }
            targets.append(Target(given: file, path: editable.path, info: info))
        }
        return targets
    }
}
