import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A user's file that Stockwerk is asked to change in place (`tag`, `keyword --write`), checked
/// before anything is written: a symlink is followed to the file it names, and a file that is not
/// regular, is read-only or has other hard links is refused rather than rewritten or split.
public struct EditableFile: Sendable {
    /// The real path (symlinks resolved): the file that is rewritten.
    public let path: String
    /// Its status before the edit: the new file gets its mode, owner and group.
    public let status: stat
    /// Device and inode: two names for one file are one edit.
    public var identity: FileIdentity { FileIdentity(device: UInt64(status.st_dev), inode: UInt64(status.st_ino)) }

    public struct Refused: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public let hint: String
        public var description: String { "\(path): \(reason)" }
    }

    public init(_ given: String) throws {
        guard let resolved = realpath(given, nil) else {
            throw Refused(path: given, reason: String(cString: strerror(errno)), hint: "check the path")
        }
        path = String(cString: resolved)
        free(resolved)
        var info = stat()
        guard stat(path, &info) == 0 else { throw Refused(path: given, reason: String(cString: strerror(errno)), hint: "check the path") }
        status = info
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw Refused(path: given, reason: "is not a regular file", hint: "name image files only")
        }
        guard info.st_mode & 0o222 != 0 else {
            throw Refused(path: given, reason: "is read-only (mode \(String(info.st_mode & 0o777, radix: 8))); Stockwerk does not rewrite read-only files",
                          hint: "make it writable first (chmod u+w), or leave it out")
        }
        guard access(path, W_OK) == 0 else {  // not ours to write, or immutable (chattr +i)
            throw Refused(path: given, reason: "cannot be written (\(String(cString: strerror(errno))))",
                          hint: "check its owner and attributes (ls -l, lsattr), or leave it out")
        }
        guard info.st_nlink <= 1 else {
            throw Refused(path: given, reason: "has \(info.st_nlink) hard links; rewriting it would leave the other names with the old file",
                          hint: "edit a copy (cp), or break the links first")
        }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        guard access(folder, W_OK) == 0 else {
            throw Refused(path: given, reason: "its folder \(folder) is not writable, so it cannot be replaced safely", hint: "make the folder writable, or tag a copy elsewhere")
        }
    }
}

/// A file's device and inode.
public struct FileIdentity: Hashable, Sendable {
    public let device: UInt64
    public let inode: UInt64

    public init(device: UInt64, inode: UInt64) { self.device = device; self.inode = inode }

    /// The identity of the file at `path` (following symlinks), or nil when there is none.
    public init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        self.init(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }
}

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
    /// A file's bytes, or nil when it is missing, unreadable or not a regular file (a FIFO or
    /// device would block or never end). Opened non-blocking, checked on the open descriptor.
    public static func contents(atPath path: String) -> Data? {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { close(fd); return nil }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        return try? handle.readToEnd() ?? Data()
    }

    /// A regular file's text (UTF-8), or nil.
    public static func text(atPath path: String) -> String? {
        contents(atPath: path).flatMap { String(data: $0, encoding: .utf8) }
    }
}
