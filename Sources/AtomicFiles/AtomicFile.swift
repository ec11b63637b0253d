import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Crash-safe file writes: write a new temporary in the same folder, fsync, rename.
/// After a crash a reader sees either the old file or the new one, never half of one.
///
/// Temporaries get unpredictable names and are created with O_CREAT|O_EXCL|O_NOFOLLOW, so a
/// symlink or file planted under a guessed name is never written through. Their names carry the
/// writer's process id, so leftovers of a killed process are removed at the next start while a
/// running process's are left alone.
public enum AtomicFile {
    public struct WriteError: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public init(path: String, reason: String) { self.path = path; self.reason = reason }
        public var description: String { "cannot write \(path): \(reason)" }
    }

    static let marker = ".tmp-"

    /// A fresh, unguessable temporary name next to `path`: `.NAME.tmp-PID-RANDOMtSTART[.EXT]`,
    /// START being the writer's start time (so a later process given the same PID is not taken
    /// for the writer). The extension stays last so tools that look at it (libvips savers) still work.
    static func temporaryName(for path: String, suffix: String = "") -> String {
        let url = URL(fileURLWithPath: path)
        let name = url.deletingPathExtension().lastPathComponent
        let ext = url.pathExtension
        let random = String(UInt64.random(in: 0...UInt64.max), radix: 16) + (ownStartTime.map { "t\($0)" } ?? "")
        let tmpName = "." + name + marker + "\(getpid())-\(random)" + suffix + (ext.isEmpty ? "" : "." + ext)
        return url.deletingLastPathComponent().appendingPathComponent(tmpName).path
    }

    /// Creates a new temporary for `path` that did not exist before (never a planted file or link).
    static func createTemporary(for path: String, suffix: String = "") throws -> (fd: Int32, path: String) {
        for _ in 0..<8 {
            let temporary = temporaryName(for: path, suffix: suffix)
            let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
            if fd >= 0 { return (fd, temporary) }
            if errno != EEXIST { throw WriteError(path: path, reason: String(cString: strerror(errno))) }
        }
        throw WriteError(path: path, reason: "cannot create a temporary file next to it")
    }

    /// The process that made a temporary, if `name` is one of ours.
    /// `legacy`: also the `.NAME.tmp-PID[.EXT]` names of versions before random names; only
    /// asked for in Stockwerk's own folders, where no user file can look like one.
    static func writerPID(ofTemporary name: String, legacy: Bool = false) -> pid_t? {
        guard name.hasPrefix("."), let range = name.range(of: marker, options: .backwards) else { return nil }
        let rest = name[range.upperBound...]
        let digits = rest.prefix { $0 != "." }
        if legacy, !digits.isEmpty, digits.allSatisfy(\.isNumber), let pid = pid_t(digits), pid > 0 { return pid }
        let parts = rest.split(separator: "-", maxSplits: 1)
        guard parts.count == 2, let pid = pid_t(parts[0]), pid > 0, parts[1].first?.isHexDigit == true else { return nil }
        return pid
    }

    /// Whether a file name is one of our temporaries.
    public static func isTemporary(_ name: String) -> Bool { writerPID(ofTemporary: name) != nil }

    public static func write(_ data: Data, to path: String) throws {
        try createParent(of: path)
        let (fd, temporary) = try createTemporary(for: path)
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

    /// Produces a file through `produce(temporaryPath)` (a library's save call that takes a name),
    /// then commits it. The temporary is created first, exclusively, so the library writes into a
    /// file of ours; that it is still one (not swapped for a link) is checked before the rename.
    public static func produce(_ path: String, _ produce: (String) throws -> Void) throws {
        try createParent(of: path)
        let (fd, temporary) = try createTemporary(for: path)
        close(fd)
        do {
            try produce(temporary)
            var info = stat()
            guard lstat(temporary, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
                throw WriteError(path: path, reason: "its temporary file was replaced while being written")
            }
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
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw WriteError(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw WriteError(path: path, reason: String(cString: strerror(errno))) }
    }

    static func syncDirectory(of path: String) {
        syncFolder(URL(fileURLWithPath: path).deletingLastPathComponent().path)
    }

    static func syncFolder(_ folder: String) {
        let fd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
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

    /// Removes the temporaries that killed processes left in `folder` (not recursive). A
    /// temporary of a process still running (another Stockwerk at work) is left alone.
    @discardableResult
    public static func removeLeftovers(in folder: String, includingLegacy: Bool = false) -> Int {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return 0 }
        var removed = 0
        for name in names {
            guard let pid = writerPID(ofTemporary: name, legacy: includingLegacy), pid != getpid(), !writerIsRunning(ofTemporary: name, legacy: includingLegacy) else { continue }
            var info = stat()
            let path = folder + "/" + name
            guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG || info.st_mode & S_IFMT == S_IFLNK else { continue }
            if unlink(path) == 0 { removed += 1 }
        }
        return removed
    }

    static func isRunning(_ pid: pid_t) -> Bool { kill(pid, 0) == 0 || errno == EPERM }

    /// Whether the process that made temporary `name` still runs: its PID is alive and, where the
    /// name records the writer's start time, started then (PIDs are reused; here they wrap at 32768).
    /// A killed writer that its parent has not reaped yet is a zombie: it runs no more.
    static func writerIsRunning(ofTemporary name: String, legacy: Bool = false) -> Bool {
        guard let pid = writerPID(ofTemporary: name, legacy: legacy), isRunning(pid) else { return false }
        guard let process = processStatus(pid) else { return true }  // no /proc: trust kill(0)
        if process.state == "Z" || process.state == "X" { return false }
        guard let recorded = writerStartTime(ofTemporary: name) else { return true }
        return recorded == process.startTime
    }

    /// The start time a temporary's name records (the digits after `t` in `PID-RANDOMtSTART`).
    static func writerStartTime(ofTemporary name: String) -> UInt64? {
        guard let range = name.range(of: marker, options: .backwards) else { return nil }
        let field = name[range.upperBound...].split(separator: "-", maxSplits: 2).dropFirst().first ?? ""
        guard let t = field.firstIndex(of: "t") else { return nil }
        return UInt64(field[field.index(after: t)...].prefix { $0.isNumber })
    }

    /// This process's start time, read once.
    static let ownStartTime = startTime(of: getpid())

    /// When process `pid` started, in clock ticks since boot; nil where there is no /proc or no such process.
    static func startTime(of pid: pid_t) -> UInt64? { processStatus(pid)?.startTime }

    /// Process `pid`'s state letter (R, S, Z…) and start time in clock ticks since boot
    /// (/proc/PID/stat fields 3 and 22); nil where there is no /proc or no such process.
    static func processStatus(_ pid: pid_t) -> (state: Character, startTime: UInt64)? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // After the command name (which may hold spaces and parentheses).
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let state = fields[0].first, let start = UInt64(fields[19]) else { return nil }
        return (state, start)
    }
}
