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
        guard let resolved = FilePath.real(given) else {
            throw Refused(path: given, reason: String(cString: strerror(errno)), hint: "check the path")
        }
        path = resolved
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
