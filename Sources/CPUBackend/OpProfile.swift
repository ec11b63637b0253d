import Foundation

/// Time spent per op, for finding where a step goes: STOCKWERK_PROFILE=1 prints a table to stderr
/// when the process ends; STOCKWERK_PROFILE=shapes splits each op's row by the shapes it met. It
/// also tracks the bytes of live tensors and reports their peak with the op that reached it (for
/// finding what sets a run's peak memory). Off, it costs one branch per op and per tensor.
enum OpProfile {
    static let enabled = ["1", "shapes"].contains(ProcessInfo.processInfo.environment["STOCKWERK_PROFILE"])
    static let byShape = ProcessInfo.processInfo.environment["STOCKWERK_PROFILE"] == "shapes"
    nonisolated(unsafe) private static var totals: [String: (seconds: Double, calls: Int)] = [:]
    private static let lock = NSLock()
    private static let printer: Void = { atexit { OpProfile.report() } }()
    nonisolated(unsafe) private static var current = "outside ops"
    nonisolated(unsafe) private static var live = 0, peak = 0, peakDuring = ""

    /// A tensor of `bytes` made (positive) or freed (negative).
    static func tensorMemory(_ bytes: Int) {
        lock.lock()
        live += bytes
        if live > peak { (peak, peakDuring) = (live, current) }
        lock.unlock()
    }

    static func measure<T>(_ name: String, shapes: @autoclosure () -> String = "", _ body: () throws -> T) rethrows -> T {
        guard enabled else { return try body() }
        _ = printer
        let name = byShape ? "\(name) \(shapes())" : name
        lock.lock()
        let outer = current
        current = name
        lock.unlock()
        let start = DispatchTime.now().uptimeNanoseconds
        defer {
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            lock.lock()
            let old = totals[name] ?? (0, 0)
            totals[name] = (old.seconds + seconds, old.calls + 1)
            current = outer
            lock.unlock()
        }
        return try body()
    }

    static func report() {
        lock.lock()
        defer { lock.unlock() }
        let total = totals.values.reduce(0) { $0 + $1.seconds }
        var lines = ["op                                                   seconds  share   calls"]
        for (name, value) in totals.sorted(by: { $0.value.seconds > $1.value.seconds }) {
            lines.append(String(format: "%-50@ %9.3f %5.1f%% %7d", name as NSString, value.seconds, 100 * value.seconds / max(total, 1e-9), value.calls))
        }
        lines.append(String(format: "peak of live tensors: %.1f MB, during %@", Double(peak) / 1e6, peakDuring as NSString))
        FileHandle.standardError.write(Data((lines.joined(separator: "\n") + "\n").utf8))
    }
}
