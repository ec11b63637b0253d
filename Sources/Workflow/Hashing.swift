import AtomicFiles
import Crypto
import Foundation

/// Content and input hashes (SHA-256, hex) that name jobs and key the stage cache.
public enum Hashing {
    public static func file(_ path: String) throws -> String {
        if let problem = RegularFile.check(path) {
            throw StageFailure(job: path, stage: "hashing", message: "cannot read \(path): \(problem)", hint: "name a regular file")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw StageFailure(job: path, stage: "hashing", message: "cannot read \(path)", hint: "check that the file exists")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        return hex(hasher.finalize())
    }

    public static func of(_ parts: [String]) -> String {
        var hasher = SHA256()
        for part in parts {
            hasher.update(data: Data(part.utf8))
            hasher.update(data: Data([0]))  // separator, so ["ab","c"] ≠ ["a","bc"]
        }
        return hex(hasher.finalize())
    }

    /// Stable JSON of a value (sorted keys) for hashing settings.
    public static func json<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.map { String(format: "%02x", $0) }.joined()
    }
}
