import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Crash-safe file writes: write to `name.tmp-<pid>` in the same folder, fsync, rename.
/// After a crash a reader sees either the old file or the new one, never half of one.
public enum AtomicFile {
    public struct WriteError: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "cannot write \(path): \(reason)" }
    }

    /// The temporary name used next to `path` by this process.
    public static func temporaryPath(for path: String) -> String {
        let url = URL(fileURLWithPath: path)
        let name = url.deletingPathExtension().lastPathComponent
        let ext = url.pathExtension
        // Keep the extension last so tools that look at it (libvips savers) still work.
        let tmpName = ".\(name).tmp-\(getpid())" + (ext.isEmpty ? "" : ".\(ext)")
        return url.deletingLastPathComponent().appendingPathComponent(tmpName).path
    }

    /// Whether a file name is one of our temporaries (left behind by a crash).
    public static func isTemporary(_ name: String) -> Bool {
        name.hasPrefix(".") && name.contains(".tmp-")
    }

    public static func write(_ data: Data, to path: String) throws {
        let temporary = temporaryPath(for: path)
        try createParent(of: path)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw WriteError(path: path, reason: String(cString: strerror(errno))) }
        var failure = writeAll(data, to: fd)
        if failure == nil, fsync(fd) != 0 { failure = String(cString: strerror(errno)) }
        close(fd)
        if let failure {
            unlink(temporary)
            throw WriteError(path: path, reason: failure)
        }
        try commit(temporary: temporary, to: path)
    }

    /// Writes all of `data` to `fd`; returns the error text, or nil.
    static func writeAll(_ data: Data, to fd: Int32) -> String? {
        var failure: String?
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = String(cString: strerror(errno)); return
                }
                offset += written
            }
        }
        return failure
    }

    /// Produces a file through `produce(temporaryPath)` (e.g. a library's save call), then commits it.
    public static func produce(_ path: String, _ produce: (String) throws -> Void) throws {
        let temporary = temporaryPath(for: path)
        try createParent(of: path)
        do {
            try produce(temporary)
            try syncFile(temporary)
            try commit(temporary: temporary, to: path)
        } catch {
            unlink(temporary)
            throw error
        }
    }

    /// Renames a finished temporary into place and makes the rename durable.
    public static func commit(temporary: String, to path: String) throws {
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw WriteError(path: path, reason: reason)
        }
        syncDirectory(of: path)
    }

    public static func syncFile(_ path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw WriteError(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw WriteError(path: path, reason: String(cString: strerror(errno))) }
    }

    static func syncDirectory(of path: String) {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let fd = open(folder, O_RDONLY)
        if fd >= 0 { fsync(fd); close(fd) }
    }

    public static func createParent(of path: String) throws {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw WriteError(path: path, reason: "cannot create folder \(folder.path): \(error.localizedDescription)")
        }
    }

    /// Removes temporaries that a crashed run left in `folder` (not recursive).
    @discardableResult
    public static func removeLeftovers(in folder: String) -> Int {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return 0 }
        var removed = 0
        for name in names where isTemporary(name) {
            if unlink(folder + "/" + name) == 0 { removed += 1 }
        }
        return removed
    }
}
