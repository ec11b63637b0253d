import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Whether a path names a regular file (after symlinks): only those are read as images, models
/// or sidecars, so a FIFO or a device named `.jpg` never blocks or floods a reader.
public enum RegularFile {
    public static func check(_ path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return String(cString: strerror(errno)) }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return nil
        case S_IFDIR: return "is a folder, not a file"
        case S_IFIFO: return "is a named pipe (FIFO), not a file"
        case S_IFCHR, S_IFBLK: return "is a device, not a file"
        case S_IFSOCK: return "is a socket, not a file"
        default: return "is not a regular file"
        }
    }

    public static func isRegular(_ path: String) -> Bool { check(path) == nil }
}

extension RegularFile {
    public struct OpenFailure: Error, Sendable { public let reason: String }

    /// Opens a regular file for reading: non-blocking, so a FIFO cannot stall the open, and checked
    /// on the open descriptor. The descriptor and its status, or why the file cannot be read.
    public static func openForReading(_ path: String) -> Result<(fd: Int32, status: stat), OpenFailure> {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return .failure(OpenFailure(reason: String(cString: strerror(errno)))) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            return .failure(OpenFailure(reason: reason))
        }
        guard info.st_mode & S_IFMT == S_IFREG else { close(fd); return .failure(OpenFailure(reason: "not a regular file")) }
        return .success((fd, info))
    }

    /// A file's bytes, or nil when it is missing, unreadable or not a regular file (a FIFO or
    /// device would block or never end).
    public static func contents(atPath path: String) -> Data? {
        guard case .success(let opened) = openForReading(path) else { return nil }
        let handle = FileHandle(fileDescriptor: opened.fd, closeOnDealloc: true)
        return try? handle.readToEnd() ?? Data()
    }

    /// A regular file's text (UTF-8), or nil.
    public static func text(atPath path: String) -> String? {
        contents(atPath: path).flatMap { String(data: $0, encoding: .utf8) }
    }
}

/// Path facts read without following (or by resolving) links.
public enum FilePath {
    /// The path with every link and `..` resolved, or nil when it does not exist.
    public static func real(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Whether `path` itself is a symbolic link (not followed).
    public static func isSymbolicLink(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFLNK
    }
}
