import CFiles
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Files written as one batch: each goes to a new temporary and starts its writeback at once;
/// when all are written, each is fsynced (by then mostly on disk) and renamed into place.
///
/// All or nothing: before the first rename, every file being replaced gets a hard link under a
/// temporary name (which also proves it can be replaced: an immutable file or a folder we cannot
/// write refuses the link); if a rename fails, the renamed files are put back from those links.
/// A crash shows every file old or new, never half, and its leftovers are temporaries that the
/// next start removes.
public final class AtomicBatch {
    private struct Pending { var temporary: String; var path: String; var backup: String? }
    private var pending: [Pending] = []

    public init() {}

    deinit { abandon() }

    /// Creates the temporary for `path` and lets `fill` write it through its file descriptor.
    /// With `keepingAttributesOf` (an existing file's status), the new file gets its mode, owner and group.
    public func add(_ path: String, keepingAttributesOf original: stat? = nil, fill: (Int32) throws -> Void) throws {
        try AtomicFile.createParent(of: path)
        let (fd, temporary) = try AtomicFile.createTemporary(for: path)
        do {
            if let original { try Self.copyAttributes(original, to: fd, path: path) }
            try fill(fd)
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        _ = sw_start_writeback(fd)  // only a hint; fsync in commit is what guarantees durability
        close(fd)  // reopened for fsync: a batch of thousands must not hold thousands of descriptors
        pending.append(Pending(temporary: temporary, path: path))
    }

    /// Gives the new file the original's owner, group and mode (owner first: chown clears set-id bits).
    static func copyAttributes(_ original: stat, to fd: Int32, path: String) throws {
        var current = stat()
        guard fstat(fd, &current) == 0 else { throw AtomicFile.WriteError(path: path, reason: String(cString: strerror(errno))) }
        if current.st_uid != original.st_uid || current.st_gid != original.st_gid {
            guard fchown(fd, original.st_uid, original.st_gid) == 0 else {
                throw AtomicFile.WriteError(path: path, reason: "cannot keep its owner and group (uid \(original.st_uid), gid \(original.st_gid)): \(String(cString: strerror(errno))); run as its owner")
            }
        }
        guard fchmod(fd, original.st_mode & 0o7777) == 0 else {
            throw AtomicFile.WriteError(path: path, reason: "cannot keep its mode: \(String(cString: strerror(errno)))")
        }
    }

    /// Makes every temporary durable, renames each into place and makes the renames durable.
    /// Throws with every destination as it was.
    public func commit() throws {
        for item in pending {
            let fd = open(item.temporary, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            let synced = fd >= 0 && fsync(fd) == 0
            let reason = String(cString: strerror(errno))
            if fd >= 0 { close(fd) }
            guard synced else { throw AtomicFile.WriteError(path: item.path, reason: reason) }
        }
        try linkBackups()
        var renamed = 0
        while renamed < pending.count {
            let item = pending[renamed]
            guard rename(item.temporary, item.path) == 0 else {
                let reason = String(cString: strerror(errno))
                restore(upTo: renamed)
                throw AtomicFile.WriteError(path: item.path, reason: reason)
            }
            renamed += 1
        }
        for item in pending { if let backup = item.backup { unlink(backup) } }
        for folder in Set(pending.map { URL(fileURLWithPath: $0.path).deletingLastPathComponent().path }) { AtomicFile.syncFolder(folder) }
        pending = []
    }

    /// Links each file about to be replaced under a temporary name; on any failure, removes them.
    /// A file system without hard links (exFAT, FAT, some network shares) gets no backups: the
    /// batch is then all-or-nothing up to the rename that fails, as plain renames are.
    private func linkBackups() throws {
        for index in pending.indices {
            let path = pending[index].path
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }  // a new file: nothing to keep
            var failure: Int32 = EEXIST
            for _ in 0..<8 where failure == EEXIST {
                let backup = AtomicFile.temporaryName(for: path, suffix: "-old")
                if link(path, backup) == 0 { pending[index].backup = backup; failure = 0 } else { failure = errno }
            }
            if failure == 0 || Self.noHardLinks(failure, path: path) { continue }
            let reason = failure == EEXIST ? "no free temporary name next to it" : String(cString: strerror(failure))
            for item in pending { if let backup = item.backup { unlink(backup) } }
            for index in pending.indices { pending[index].backup = nil }
            throw AtomicFile.WriteError(path: path, reason: "it cannot be replaced (\(reason))")
        }
    }

    /// Whether `link` failed because the file system has no hard links, rather than because this
    /// file may not be replaced (immutable, append-only: EPERM on a file system that has them).
    static func noHardLinks(_ error: Int32, path: String) -> Bool {
        if error == EOPNOTSUPP || error == ENOTSUP || error == EXDEV || error == EMLINK { return true }
        guard error == EPERM else { return false }
        // FAT and exFAT answer EPERM for every link: tell them apart by the file system type.
        let fat = 0x4d44, exFAT = 0x2011_BAB0
        return [fat, exFAT].contains(sw_filesystem_type(path))
    }

    /// Puts back the originals of the first `count` renamed files (and removes files that were new).
    private func restore(upTo count: Int) {
        for item in pending[..<count] {
            if let backup = item.backup { rename(backup, item.path) } else { unlink(item.path) }
        }
        for item in pending[count...] { if let backup = item.backup { unlink(backup) } }
        for index in pending.indices { pending[index].backup = nil }
    }

    /// Removes the temporaries not yet committed.
    public func abandon() {
        for item in pending {
            unlink(item.temporary)
            if let backup = item.backup { unlink(backup) }
        }
        pending = []
    }

    /// Writes all of `data` to `fd`.
    public static func write(_ data: Data, to fd: Int32, path: String) throws {
        if let failure = AtomicFile.writeAll(data, to: fd) { throw AtomicFile.WriteError(path: path, reason: failure) }
    }

    /// Appends `length` bytes of the file `source` from `offset` to `fd`, copied in the kernel.
    public static func copy(from source: Int32, offset: Int, length: Int, to fd: Int32, path: String) throws {
        let status = sw_copy_range(source, off_t(offset), fd, length)
        guard status == 0 else { throw AtomicFile.WriteError(path: path, reason: String(cString: strerror(status))) }
    }
}
