import Foundation
#if canImport(Glibc)
import Glibc
#endif

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
