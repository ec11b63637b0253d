import CDNNL
import Foundation

/// Splits work over the cores on the OpenMP thread team oneDNN uses for its GEMMs and
/// convolutions: one set of threads for everything, instead of a second pool competing with
/// oneDNN's spinning workers. Small jobs run inline, where waking threads would cost more.
enum Parallel {
    static let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)

    private final class Job {
        let body: (Range<Int>) -> Void
        init(_ body: @escaping (Range<Int>) -> Void) { self.body = body }
    }

    /// Calls `body(range)` for disjoint ranges covering 0..<count.
    static func forRanges(_ count: Int, minimumChunk: Int = 8_192, _ body: (Range<Int>) -> Void) {
        // With the OpenBLAS fallback, BLAS has its own threads; a second team would fight them.
        if cores <= 1 || count < 2 * minimumChunk || !LinearAlgebra.useDNNL { body(0..<count); return }
        withoutActuallyEscaping(body) { escapable in
            let job = Unmanaged.passRetained(Job(escapable))
            defer { job.release() }
            sw_parallel_ranges(Int64(count), { start, end, context in
                Unmanaged<Job>.fromOpaque(context!).takeUnretainedValue().body(Int(start)..<Int(end))
            }, job.toOpaque())
        }
    }
}

/// How many threads this thread's GEMMs and parallel ranges may use.
public enum ThreadLimit {
    /// The calling thread's current limit.
    public static var current: Int { Int(sw_thread_limit()) }

    /// Runs `body` with at most `threads` threads for its matrix and element-wise work, then
    /// restores the limit: for work that shares the cores with something else running beside it.
    public static func run<T>(threads: Int, _ body: () throws -> T) rethrows -> T {
        let previous = sw_thread_limit()
        sw_set_thread_limit(Int32(max(1, threads)))
        defer { sw_set_thread_limit(previous) }
        return try body()
    }
}
