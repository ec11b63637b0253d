import AtomicFiles
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A folder given as `output:` (or to `stockwerk package`) and whether Stockwerk may write in it.
/// Stockwerk writes only inside output folders it owns: ones it created, marked by
/// `.stockwerk/output`. A folder that holds other things is refused unless the user says
/// `--force`; the file system's root and the home folder are refused always.
public enum OutputFolder {
    static let markerPath = ".stockwerk/output"
    static let markerText = "This folder is a Stockwerk output. Stockwerk writes here and may replace what it wrote (images/, packages/, report.json, contact-sheet.html, catalog.sqlite).\n"

    public enum State: Equatable, Sendable {
        case absent, empty, owned
        /// Holds files Stockwerk did not write (a few names, for the message).
        case foreign(examples: [String])
        case notAFolder
        case forbidden(reason: String)
    }

    public struct Refused: Error, Sendable, CustomStringConvertible {
        public var folder: String
        public var reason: String
        public var hint: String
        public var description: String { "error: output folder \(folder): \(reason)\nhint: \(hint)" }
    }

    public static func state(of folder: String) -> State {
        let real = FilePath.real(folder) ?? URL(fileURLWithPath: folder).standardizedFileURL.path
        if real == "/" { return .forbidden(reason: "is the root of the file system") }
        if let home = ProcessInfo.processInfo.environment["HOME"], let realHome = FilePath.real(home), real == realHome {
            return .forbidden(reason: "is the home folder")
        }
        var info = stat()
        guard stat(folder, &info) == 0 else { return .absent }
        guard info.st_mode & S_IFMT == S_IFDIR else { return .notAFolder }
        if FileManager.default.fileExists(atPath: folder + "/" + markerPath) { return .owned }
        // Made by a Stockwerk from before the marker: its catalog and work folder are there.
        if FileManager.default.fileExists(atPath: folder + "/catalog.sqlite"), FileManager.default.fileExists(atPath: folder + "/.stockwerk/finish") { return .owned }
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
        return names.isEmpty ? .empty : .foreign(examples: Array(names.prefix(3)))
    }

    /// What a run would do with the folder, in words (for `--dry-run`).
    public static func describe(_ folder: String, force: Bool) -> String {
        switch state(of: folder) {
        case .absent: return "a new folder, created and marked as a Stockwerk output"
        case .empty: return "an empty folder, marked as a Stockwerk output"
        case .owned: return "a Stockwerk output: what it wrote before is reused or replaced"
        case .foreign(let examples):
            return force ? "NOT a Stockwerk output (holds \(examples.joined(separator: ", "))…): --force given, it would be written into"
                         : "NOT a Stockwerk output (holds \(examples.joined(separator: ", "))…): the run would refuse it without --force"
        case .notAFolder: return "not a folder: the run would refuse it"
        case .forbidden(let reason): return "\(reason): the run would refuse it"
        }
    }

    /// Makes sure the folder is one Stockwerk may write in, creating and marking it when needed.
    public static func claim(_ folder: String, force: Bool) throws {
        try checkClaimable(folder, force: force)
        try refuseLinks(in: folder)
        do {
            try FileManager.default.createDirectory(atPath: folder + "/.stockwerk", withIntermediateDirectories: true)
            if !FileManager.default.fileExists(atPath: folder + "/" + markerPath) {
                try AtomicFile.write(Data(markerText.utf8), to: folder + "/" + markerPath)
            }
        } catch {
            throw Refused(folder: folder, reason: "cannot be created or marked: \(error)", hint: "check the permissions of its parent folder")
        }
    }

    /// Throws when a run may not write into the folder (what `claim` and `--dry-run` refuse).
    public static func checkClaimable(_ folder: String, force: Bool) throws {
        switch state(of: folder) {
        case .owned, .absent, .empty: return
        case .foreign(let examples):
            guard force else {
                throw Refused(folder: folder, reason: "is not empty and is not a Stockwerk output (it holds \(examples.joined(separator: ", "))…); Stockwerk would overwrite or delete files there",
                              hint: "set `output:` to a new folder, or pass --force if this folder may be written into")
            }
        case .notAFolder:
            throw Refused(folder: folder, reason: "exists and is not a folder", hint: "set `output:` to a folder")
        case .forbidden(let reason):
            throw Refused(folder: folder, reason: "\(reason); Stockwerk writes only into a folder of its own", hint: "set `output:` to a new folder, e.g. `output: out/my-batch`")
        }
    }

    /// For commands that work on an existing run's output (`package`).
    public static func requireOwned(_ folder: String) throws {
        guard state(of: folder) == .owned else {
            throw Refused(folder: folder, reason: "is not the output folder of a `stockwerk run`", hint: "give the folder a run wrote (it holds .stockwerk/, images/ and catalog.sqlite)")
        }
        try refuseLinks(in: folder)
    }

    /// What Stockwerk writes inside its folder. None may be a symbolic link: a planted
    /// `images -> /etc` or `catalog.sqlite -> ~/.bashrc` would carry writes out of the folder.
    static let ownPaths = [".stockwerk", ".stockwerk/finish", ".stockwerk/generate", ".stockwerk/refine", ".stockwerk/lock", ".stockwerk/output",
                           "images", "packages", "catalog.sqlite", "catalog.sqlite-wal", "catalog.sqlite-shm", "report.json", "contact-sheet.html"]

    static func refuseLinks(in folder: String) throws {
        for relative in ownPaths where FilePath.isSymbolicLink(folder + "/" + relative) {
            throw Refused(folder: folder, reason: "\(relative) in it is a symbolic link, and Stockwerk does not follow links inside its output folder",
                          hint: "remove the link (rm \(folder)/\(relative)); the next run makes a real \(relative)")
        }
    }

    /// Decides whether paths lie inside one folder; the folder is resolved once (links and `..`),
    /// each path when asked, so a link cannot hide where a file really is.
    public struct Inside: Sendable {
        let base: String

        public init(_ folder: String) {
            let real = FilePath.real(folder) ?? URL(fileURLWithPath: folder).standardizedFileURL.path
            base = real.hasSuffix("/") ? real : real + "/"
        }

        public func contains(_ path: String) -> Bool {
            let target = FilePath.real(path) ?? URL(fileURLWithPath: path).standardizedFileURL.path
            return target + "/" == base || target.hasPrefix(base)
        }
    }
}
