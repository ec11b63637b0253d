import Foundation

/// Helpers shared by the test targets: temporary folders, external readers, the CLI binary.
public enum TestSupport {
    /// The repository root (for presets/ and Workflows/).
    public static let repositoryRoot: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }()

    public static var presetsFolder: String { repositoryRoot + "/presets" }
    /// A real photograph (Workflows/samples/rocket.jpg, 640×427, public domain) for tests that need a JPEG.
    public static var sampleJPEG: String { repositoryRoot + "/Workflows/samples/rocket.jpg" }

    /// A new empty folder for one test. All of a test process's folders live under one root in the
    /// system's temporary folder, removed when the process exits; roots left by test processes
    /// that died (killed, crashed) are removed when the next one starts.
    public static func temporaryFolder(_ label: String = "test") throws -> String {
        let path = temporaryRoot + "/\(label)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static let temporaryRootPrefix = "stockwerk-tests-"

    static let temporaryRoot: String = {
        let files = FileManager.default, base = NSTemporaryDirectory()
        for name in (try? files.contentsOfDirectory(atPath: base)) ?? [] where name.hasPrefix(temporaryRootPrefix) {
            guard let pid = Int32(name.dropFirst(temporaryRootPrefix.count)), kill(pid, 0) != 0, errno == ESRCH else { continue }
            try? files.removeItem(atPath: base + name)
        }
        let root = base + temporaryRootPrefix + "\(getpid())"
        try? files.removeItem(atPath: root)
        try? files.createDirectory(atPath: root, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: TestSupport.temporaryRoot) }
        return root
    }()

    public struct ProcessResult {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// Runs a program to completion and captures its output.
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String], currentDirectory: String? = nil,
                           environment: [String: String] = [:]) throws -> ProcessResult {
        let process = Process()
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        process.executableURL = URL(fileURLWithPath: executable.hasPrefix("/") ? executable : "/usr/bin/env")
        process.arguments = executable.hasPrefix("/") ? arguments : [executable] + arguments
        if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read before waiting so a full pipe cannot block the child.
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return ProcessResult(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                             stderr: String(decoding: errData, as: UTF8.self))
    }

    /// ExifTool's reading of a file: tag name (with group prefix) → value, as JSON.
    public static func exiftool(_ path: String, _ tags: [String] = []) throws -> [String: Any] {
        let result = try run("exiftool", ["-json", "-G1", "-a", "-struct"] + tags + [path])
        guard result.status == 0, let data = result.stdout.data(using: .utf8),
              let array = try JSONSerialization.jsonObject(with: data) as? [[String: Any]], let first = array.first else {
            throw NSError(domain: "exiftool", code: Int(result.status), userInfo: [NSLocalizedDescriptionKey: result.stderr])
        }
        return first
    }

    /// A tag value as a list (ExifTool prints a one-item list as a plain value).
    public static func list(_ value: Any?) -> [String]? {
        if let array = value as? [String] { return array }
        if let single = value as? String { return [single] }
        return nil
    }

    /// exiv2's reading of a file: key → values (repeated keys collect all values).
    public static func exiv2(_ path: String) throws -> [String: [String]] {
        let result = try run("exiv2", ["-q", "-PEIXkt", path])
        var values: [String: [String]] = [:]
        for line in result.stdout.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            guard let key = parts.first else { continue }
            let value = parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
            values[String(key), default: []].append(value)
        }
        return values
    }

    /// The built `stockwerk` executable, next to the test bundle.
    public static var stockwerkBinary: String {
        let here = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for folder in [here, here.deletingLastPathComponent()] {
            let candidate = folder.appendingPathComponent("stockwerk").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return repositoryRoot + "/.build/debug/stockwerk"
    }

    /// All file paths under a folder (recursive), relative to it.
    public static func allFiles(under folder: String) -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: folder) else { return [] }
        var files: [String] = []
        while let path = walker.nextObject() as? String {
            var isFolder: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: folder + "/" + path, isDirectory: &isFolder)
            if !isFolder.boolValue { files.append(path) }
        }
        return files.sorted()
    }
}

extension TestSupport {
    /// Everything under a folder as path → kind, mode, owner and content (symlinks as their
    /// target, not followed): two equal snapshots mean nothing in the tree was written.
    public static func snapshot(of folder: String) -> [String: String] {
        var entries: [String: String] = [:]
        guard let walker = FileManager.default.enumerator(atPath: folder) else { return entries }
        while let relative = walker.nextObject() as? String {
            let path = folder + "/" + relative
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { continue }
            let kind = attributes[.type] as? FileAttributeType
            let mode = (attributes[.posixPermissions] as? Int).map { String($0, radix: 8) } ?? "?"
            let owner = "\(attributes[.ownerAccountID] ?? "?"):\(attributes[.groupOwnerAccountID] ?? "?")"
            var content = ""
            if kind == .typeSymbolicLink {
                content = "-> " + ((try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "?")
            } else if kind == .typeRegular, let data = FileManager.default.contents(atPath: path) {
                content = "\(data.count) bytes, fnv \(fnv1a(data))"
            }
            entries[relative] = "\(kind?.rawValue ?? "?") \(mode) \(owner) \(content)"
        }
        return entries
    }

    /// FNV-1a over all bytes (Data's own hash looks at a prefix only).
    public static func fnv1a(_ data: Data) -> UInt64 {
        data.reduce(0xcbf2_9ce4_8422_2325 as UInt64) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
    }

    /// Whether this process may set file attributes that need root (chattr +i, chown).
    public static var isRoot: Bool { getuid() == 0 }
}

/// SplitMix64: reproducible random cases (fuzzing, property tests); a failing case is found again from its seed.
public struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
