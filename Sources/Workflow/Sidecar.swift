import AtomicFiles
import Foundation
import Metadata
import Yams

/// Per-image values from a file next to it: `photo.yaml`/`.yml`/`.json` (fields) or `photo.txt` (the prompt).
public struct Sidecar: Sendable, Equatable {
    public var path: String
    public var title: String?
    public var description: String?
    public var keywords: [String] = []
    public var creators: [String] = []
    public var copyright: String?
    public var prompt: String?
    public var aiGenerated: Bool?
    public var categories: [String: String] = [:]
    public var modelReleases: [String] = []
    public var propertyReleases: [String] = []

    static let keys = ["title", "description", "keywords", "creator", "copyright", "prompt", "ai_generated", "categories",
                       "model_releases", "property_releases"]

    /// Finds and reads the sidecar of `image`, or nil when there is none.
    static func find(for image: String, issues: inout [WorkflowIssue]) -> Sidecar? {
        let base = URL(fileURLWithPath: image).deletingPathExtension().path
        for ext in ["yaml", "yml", "json", "txt"] where FilePath.isSymbolicLink(base + "." + ext) {
            // A sidecar is the user's own text next to the photo: a link could make a run read and
            // echo any file on the machine, so links are not followed.
            issues.append(WorkflowIssue("the sidecar \(base).\(ext) is a symbolic link, and Stockwerk reads sidecars only as plain files",
                                        file: base + "." + ext, line: 1, column: 1, hint: "replace the link by a copy of the file"))
            return nil
        }
        for ext in ["yaml", "yml", "json"] where FileManager.default.fileExists(atPath: base + "." + ext) {
            return read(structured: base + "." + ext, issues: &issues)
        }
        if let text = RegularFile.text(atPath: base + ".txt") {
            let prompt = text.trimmingCharacters(in: .whitespacesAndNewlines)
            return prompt.isEmpty ? nil : Sidecar(path: base + ".txt", prompt: prompt)
        }
        return nil
    }

    static func read(structured path: String, issues: inout [WorkflowIssue]) -> Sidecar? {
        let reader = YAMLNodeReader(file: path)
        defer { issues += reader.issues }
        guard let text = RegularFile.text(atPath: path) else {
            reader.issue("cannot read the sidecar file", at: nil, hint: "check its permissions and that it is UTF-8 text")
            return nil
        }
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch let error as YamlError {
            issues.append(WorkflowParser.yamlSyntaxIssue(error, file: path))
            return nil
        } catch { return nil }
        guard let node, let map = reader.mapping(node, path: "the sidecar", allowed: keys) else { return nil }
        var sidecar = Sidecar(path: path)
        sidecar.title = map["title"].flatMap { reader.string($0.value, path: "title") }
        sidecar.description = map["description"].flatMap { reader.string($0.value, path: "description") }
        sidecar.keywords = map["keywords"].flatMap { reader.strings($0.value, path: "keywords", splitCommas: true) } ?? []
        sidecar.creators = map["creator"].flatMap { reader.strings($0.value, path: "creator") } ?? []
        sidecar.copyright = map["copyright"].flatMap { reader.string($0.value, path: "copyright") }
        sidecar.prompt = map["prompt"].flatMap { reader.string($0.value, path: "prompt") }
        sidecar.aiGenerated = map["ai_generated"].flatMap { reader.bool($0.value, path: "ai_generated") }
        sidecar.modelReleases = map["model_releases"].flatMap { reader.strings($0.value, path: "model_releases", splitCommas: true) } ?? []
        sidecar.propertyReleases = map["property_releases"].flatMap { reader.strings($0.value, path: "property_releases", splitCommas: true) } ?? []
        if let entry = map["categories"], case .mapping(let categories) = entry.value {
            for (key, value) in categories {
                if let agency = key.string, let names = reader.strings(value, path: "categories.\(agency)") {
                    sidecar.categories[agency] = names.joined(separator: ",")
                }
            }
        }
        return sidecar
    }
}
