import CFiles
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Files written as one batch: each goes to its temporary name and starts its writeback at once;
/// when all are written, each is fsynced (by then mostly on disk) and renamed into place. A crash
/// shows every file old or new, never half — as with `AtomicFile.write` — but the disk works
/// while the next file is prepared instead of one flush stalling each file.
public final class AtomicBatch {
    private var pending: [(temporary: String, path: String)] = []

    public init() {}

    deinit { abandon() }

    /// Creates the temporary for `path` and lets `fill` write it through its file descriptor.
    public func add(_ path: String, fill: (Int32) throws -> Void) throws {
        let temporary = AtomicFile.temporaryPath(for: path)
        try AtomicFile.createParent(of: path)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw AtomicFile.WriteError(path: path, reason: String(cString: strerror(errno))) }
        do {
            try fill(fd)
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        _ = sw_start_writeback(fd)  // only a hint; fsync in commit is what guarantees durability
        close(fd)  // reopened for fsync: a batch of thousands must not hold thousands of descriptors
        pending.append((temporary, path))
    }

    /// Makes every temporary durable, renames each into place and makes the renames durable.
    public func commit() throws {
        for (temporary, path) in pending {
            let fd = open(temporary, O_RDONLY)
            let synced = fd >= 0 && fsync(fd) == 0
            let reason = String(cString: strerror(errno))
            if fd >= 0 { close(fd) }
            guard synced else { throw AtomicFile.WriteError(path: path, reason: reason) }
        }
        let folders = Set(pending.map { URL(fileURLWithPath: $0.path).deletingLastPathComponent().path })
        while let (temporary, path) = pending.first {
            guard rename(temporary, path) == 0 else { throw AtomicFile.WriteError(path: path, reason: String(cString: strerror(errno))) }
            pending.removeFirst()
        }
        for folder in folders {
            let fd = open(folder, O_RDONLY)
            if fd >= 0 { fsync(fd); close(fd) }
        }
    }

    /// Removes the temporaries not yet committed.
    public func abandon() {
        for (temporary, _) in pending { unlink(temporary) }
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
