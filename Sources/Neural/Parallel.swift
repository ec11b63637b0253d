import Dispatch
import Foundation

/// Splits element-wise work over the available cores (BLAS runs its own threads). Small jobs run
/// inline: waking threads costs more than it saves, and competes with BLAS's spinning workers.
enum Parallel {
    static let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Calls `body(range)` for disjoint ranges covering 0..<count; small jobs run inline.
    static func forRanges(_ count: Int, minimumChunk: Int = 131_072, _ body: @Sendable (Range<Int>) -> Void) {
        let chunks = min(cores, max(1, count / minimumChunk))
        if chunks <= 1 { body(0..<count); return }
        let size = (count + chunks - 1) / chunks
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let start = chunk * size
            if start < count { body(start..<min(count, start + size)) }
        }
    }
}
