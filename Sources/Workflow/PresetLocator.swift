import Foundation

/// Finds the `presets/` folder: an explicit path, $STOCKWERK_PRESETS, or the nearest `presets/`
/// above the workflow file, the current folder or the executable.
public enum PresetLocator {
    public static func locate(explicit: String? = nil, near workflowFile: String? = nil) -> String? {
        if let explicit { return explicit }
        if let env = ProcessInfo.processInfo.environment["STOCKWERK_PRESETS"], !env.isEmpty { return env }
        var starts: [URL] = []
        if let workflowFile { starts.append(URL(fileURLWithPath: workflowFile).deletingLastPathComponent()) }
        starts.append(URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        starts.append(URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent())
        for start in starts {
            var folder = start.standardizedFileURL
            for _ in 0..<8 {
                let candidate = folder.appendingPathComponent("presets")
                if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("agencies").path) { return candidate.path }
                let parent = folder.deletingLastPathComponent()
                if parent.path == folder.path { break }
                folder = parent
            }
        }
        return nil
    }
}
