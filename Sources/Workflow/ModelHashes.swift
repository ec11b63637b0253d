import AtomicFiles
import Diffusion
import Foundation

/// Hashes of model files. Hashing gigabytes takes seconds and every plan needs them, so each file's
/// SHA-256 is kept in the models' hash cache, keyed by its path, size and modification time.
extension ModelLocator {
    /// AUTOMATIC1111's "AutoV2" model hash (first 10 hex digits of the SHA-256): of the file for a
    /// single-file checkpoint, of the UNet weights for a diffusers folder. It is what images record
    /// and what A1111 shows; it does not cover the VAE or text encoder, so it is not a job's identity
    /// (`componentsHash` is). `remember: false` (a dry run) reads the cache but never writes it.
    public static func modelHash(_ path: String, remember: Bool = true) throws -> String {
        let file = isFolder(path) ? try ModelFiles.weights(in: path + "/unet", stem: "diffusion_pytorch_model") : path
        var cache = HashCache()
        defer { if remember { cache.save() } }
        return String(try cache.sha256(of: file).prefix(10))
    }

    /// Everything a model's output depends on: every weight, config and tokenizer file of a diffusers
    /// folder (UNet, VAE, text encoder, tokenizer, scheduler), or a single file and the config folder
    /// it is read with. Part of a generated job's identity, so swapping the VAE makes new images.
    public static func componentsHash(_ path: String, configFolder: String? = nil, clipMerges: String? = nil, remember: Bool = true) throws -> String {
        var cache = HashCache()
        defer { if remember { cache.save() } }
        var parts: [String] = []
        for (root, label) in [(path, "model"), (configFolder, "config"), (clipMerges, "merges")] {
            guard let root else { continue }
            let files = isFolder(root) ? componentFiles(in: root) : [""]
            for relative in files {
                let file = relative.isEmpty ? root : root + "/" + relative
                parts.append("\(label):\(relative):\(try cache.sha256(of: file))")
            }
        }
        return Hashing.of(["components-v1"] + parts)
    }

    /// The files of a diffusers folder that the engine reads (weights, configs, tokenizer), relative
    /// and sorted. Pickled `.bin`/`.ckpt` files are never read, so they do not count.
    static func componentFiles(in folder: String) -> [String] {
        let read: Set<String> = ["safetensors", "json", "txt", "gz"]
        guard let walker = FileManager.default.enumerator(atPath: folder) else { return [] }
        var files: [String] = []
        while let relative = walker.nextObject() as? String {
            let name = URL(fileURLWithPath: relative).lastPathComponent
            guard !name.hasPrefix("."), read.contains(URL(fileURLWithPath: name).pathExtension.lowercased()),
                  relative.split(separator: "/").count <= 3, RegularFile.isRegular(folder + "/" + relative) else { continue }
            files.append(relative)
        }
        return files.sorted()
    }

    static func isFolder(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// `$XDG_CACHE_HOME/stockwerk/model-hashes.json` (~/.cache/stockwerk/model-hashes.json).
    static func hashCacheFile() -> String {
        let cache = ProcessInfo.processInfo.environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (NSHomeDirectory() + "/.cache")
        return cache + "/stockwerk/model-hashes.json"
    }
}

/// The models' hash cache: file SHA-256s by path, size and modification time.
struct HashCache {
    private var entries: [String: String]
    private var changed = false
    let file = ModelLocator.hashCacheFile()

    init() {
        entries = RegularFile.contents(atPath: file).flatMap { try? JSONDecoder().decode([String: String].self, from: $0) } ?? [:]
    }

    mutating func sha256(of path: String) throws -> String {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        let size = (attributes?[.size] as? NSNumber)?.int64Value ?? -1
        let modified = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        let key = "sha256|\(URL(fileURLWithPath: path).standardizedFileURL.path)|\(size)|\(modified)"
        if let known = entries[key] { return known }
        let hash = try Hashing.file(path)
        entries[key] = hash
        changed = true
        return hash
    }

    /// A cache that cannot be written only costs the next run the hashing again.
    func save() {
        guard changed, let data = try? JSONEncoder().encode(entries) else { return }
        try? AtomicFile.write(data, to: file)
    }
}
