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
