import AtomicFiles
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A read-only memory map of a whole file; unmapped when released.
final class MappedFile: @unchecked Sendable {
    let path: String
    let base: UnsafeRawPointer?
    let size: Int

    init(path: String) throws {
        self.path = path
        let (fd, info): (Int32, stat)
        switch RegularFile.openForReading(path) {
        case .success(let opened): (fd, info) = opened
        case .failure(let failure): throw NeuralError.cannotOpen(file: path, reason: failure.reason)
        }
        defer { close(fd) }
        size = Int(info.st_size)
        if size == 0 { base = nil; return }
        let mapping = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let mapping, mapping != MAP_FAILED else {
            throw NeuralError.cannotOpen(file: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(mapping)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), size) }
    }

    /// Lets the kernel drop the mapped pages that lie wholly inside `range` (a tensor already
    /// converted): they stay readable (read again from the file if touched), but no longer count
    /// in the process's memory. Loading an fp16 UNet otherwise held its 1.7 GB file mapped on top
    /// of the 3.4 GB of Float32 weights made from it, which set `stockwerk generate`'s peak.
    func release(_ range: Range<Int>) {
        guard let base, range.lowerBound >= 0, range.upperBound <= size else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let address = Int(bitPattern: base)
        let first = (address + range.lowerBound + page - 1) / page * page, end = (address + range.upperBound) / page * page
        guard end > first else { return }
        madvise(UnsafeMutableRawPointer(bitPattern: first), end - first, Int32(MADV_DONTNEED))
    }

    /// The bytes in `range`, which the caller has checked to be inside the file.
    func bytes(_ range: Range<Int>) -> UnsafeRawBufferPointer {
        precondition(range.lowerBound >= 0 && range.upperBound <= size)
        guard let base else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: base + range.lowerBound, count: range.count)
    }
}
