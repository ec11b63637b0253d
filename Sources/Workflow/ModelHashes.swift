import AtomicFiles
import Diffusion
import Foundation

/// Hashes of model files. Hashing gigabytes takes seconds and every plan needs them, so each file's
/// SHA-256 is kept in the models' hash cache, keyed by its path, size and modification time.
extension ModelLocator {
    /// AUTOMATIC1111's "AutoV2" model hash (first 10 hex digits of the SHA-256): of the file for a
    /// single-file checkpoint, of the UNet weights for a diffusers folder. It is what images record
    /// and what A1111 shows; it does not cover the VAE or text encoder, so it is not a job's identity
    /// (`identity` is). `remember: false` (a dry run) reads the cache but never writes it.
    public static func modelHash(_ path: String, remember: Bool = true) throws -> String {
        var cache = HashCache()
        defer { if remember { cache.save() } }
        return try autoV2(path, cache: &cache)
    }

    private static func autoV2(_ path: String, cache: inout HashCache) throws -> String {
        let unet = isFolder(path) ? try ModelFiles.weights(in: path + "/unet", stem: "diffusion_pytorch_model") : path
        return String(try cache.sha256(of: unet).prefix(10))
    }

    /// The AutoV2 hash and the identity of everything the model's output depends on: every file the
    /// engine reads of a diffusers folder (UNet, VAE, text encoders, tokenizers, scheduler), or a single
    /// file with the config folder and merges it is read with. The identity is part of a generated
    /// job's, so swapping the VAE makes new images. One cache serves both, so no file is hashed twice.
    public static func hashes(_ path: String, configFolder: String? = nil, clipMerges: String? = nil,
                              remember: Bool = true) throws -> (autoV2: String, identity: String) {
        var cache = HashCache()
        defer { if remember { cache.save() } }
        let autoV2 = try autoV2(path, cache: &cache)
        var parts: [String] = []
        for (root, label) in [(path, "model"), (configFolder, "config"), (clipMerges, "merges")] {
            guard let root else { continue }
            let files = isFolder(root) ? componentFiles(in: root) : [""]
            for relative in files {
                let file = relative.isEmpty ? root : root + "/" + relative
                parts.append("\(label):\(relative):\(try cache.sha256(of: file))")
            }
        }
        return (autoV2, Hashing.of(["components-v1"] + parts))
    }

    /// The files of a diffusers folder that the engine reads, relative and sorted: model_index.json,
    /// each component's configs and the weights file the loader picks, and the tokenizer's files.
    /// A safety checker, pickled `.bin` files or a weights variant the loader does not open do not count.
    static func componentFiles(in folder: String) -> [String] {
        let weights = ["unet": "diffusion_pytorch_model", "vae": "diffusion_pytorch_model", "text_encoder": "model", "text_encoder_2": "model"]
        var files = ["model_index.json"]
        // SDXL's second text tower and tokenizer (absent from SD 1.x/2.x folders, whose identities stay as they were).
        for component in ["unet", "vae", "text_encoder", "tokenizer", "text_encoder_2", "tokenizer_2", "scheduler"] {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder + "/" + component)) ?? []
            files += names.filter { name in [".json", ".txt", ".gz"].contains { name.hasSuffix($0) } }.map { component + "/" + $0 }
            if let stem = weights[component], let path = try? ModelFiles.weights(in: folder + "/" + component, stem: stem) {
                files.append(component + "/" + URL(fileURLWithPath: path).lastPathComponent)
            }
        }
        return files.filter { RegularFile.isRegular(folder + "/" + $0) }.sorted()
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
