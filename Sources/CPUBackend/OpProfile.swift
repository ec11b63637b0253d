import Foundation

/// Time spent per op, for finding where a step goes: STOCKWERK_PROFILE=1 prints a table to stderr
/// when the process ends; STOCKWERK_PROFILE=shapes splits each op's row by the shapes it met. Off,
/// it costs one branch per op.
enum OpProfile {
    static let enabled = ["1", "shapes"].contains(ProcessInfo.processInfo.environment["STOCKWERK_PROFILE"])
    static let byShape = ProcessInfo.processInfo.environment["STOCKWERK_PROFILE"] == "shapes"
    nonisolated(unsafe) private static var totals: [String: (seconds: Double, calls: Int)] = [:]
    private static let lock = NSLock()
    private static let printer: Void = { atexit { OpProfile.report() } }()

    static func measure<T>(_ name: String, shapes: @autoclosure () -> String = "", _ body: () throws -> T) rethrows -> T {
        guard enabled else { return try body() }
        _ = printer
        let name = byShape ? "\(name) \(shapes())" : name
        let start = DispatchTime.now().uptimeNanoseconds
        defer {
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            lock.lock()
            let old = totals[name] ?? (0, 0)
            totals[name] = (old.seconds + seconds, old.calls + 1)
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
        FileHandle.standardError.write(Data((lines.joined(separator: "\n") + "\n").utf8))
    }
}
