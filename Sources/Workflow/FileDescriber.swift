import AtomicFiles
import Agencies
import Foundation
import Imaging
import Keywording
import Metadata
import CPUBackend
import Neural

/// Keywords, title and description for an image file from everything it carries: its generation
/// prompt, its existing title, description and keywords, its file name and its pixels.
public enum FileDescriber {
    /// The sentence-embedding model's folder: the models folder's all-MiniLM-L6-v2.
    public static func modelFolder() -> String { ModelLocator.defaultModelsFolder() + "/all-MiniLM-L6-v2" }

    /// Lists in presets/banned/ whose terms never become keywords or title words.
    static let excludedLists = ["brands", "artists", "people", "ai-wording", "camera-terms"]

    /// `excluding`: more terms that never become keywords, titles or descriptions (a workflow's stop list).
    public static func keyworder(presetsFolder: String, excluding extra: [String] = []) throws -> Keyworder {
        var terms = extra
        for list in excludedLists {
            if let text = RegularFile.text(atPath: presetsFolder + "/banned/\(list).txt") { terms += TermList(text: text).terms }
        }
        return Keyworder(vocabulary: try KeywordVocabulary(folder: presetsFolder + "/keywords"), encoder: try SentenceEncoder(folder: modelFolder(), backend: EngineBackend.current),
                         excludedTerms: terms)
    }

    /// The identity of everything `keyworder` reads: the vocabulary, the banned lists and the
    /// sentence-embedding model (hashed once per file version, in the models' hash cache).
    /// A file that is missing counts as missing; the keyworder then says what to do about it.
    static func keyworderIdentity(presetsFolder: String) -> String {
        var cache = HashCache()
        defer { cache.save() }
        let vocabulary = presetsFolder + "/keywords"
        let vocabularyFiles = ((try? FileManager.default.contentsOfDirectory(atPath: vocabulary)) ?? []).sorted().map { vocabulary + "/" + $0 }
        let files = vocabularyFiles + excludedLists.map { presetsFolder + "/banned/\($0).txt" }
            + ["config.json", "vocab.txt", "model.safetensors"].map { modelFolder() + "/" + $0 }
        return Hashing.of(["keyworder-v1"] + files.filter { !$0.hasSuffix("README.md") }.map { file in
            "\(URL(fileURLWithPath: file).lastPathComponent):" + ((RegularFile.isRegular(file) ? try? cache.sha256(of: file) : nil) ?? "missing")
        })
    }

    /// The result, and the file's metadata with it applied: keywords replaced by the ranked list
    /// (which starts from the file's own), title and description filled where the file has none.
    public static func describe(_ path: String, keyworder: Keyworder, limit: Int = 49) throws -> (result: KeywordResult, metadata: StockMetadata) {
        let info = try ImageInfo.read(path)
        let (embedded, provenance) = try readEmbedded(of: path, info: info)
        let existing = embedded.reconciled
        // The prompt a generator embedded (A1111, ComfyUI, InvokeAI, C2PA…) says what the image shows.
        let embeddedPrompt = provenance.prompt
        // Decoding the pixels (libjpeg, one core, the slower part for a 6K JPEG) and embedding the
        // text are independent: run them side by side, the text on the other core only.
        let pixels = BackgroundResult { ImageAnalysis.analyze(try Thumbnails.rgb(path, size: 96), width: info.width, height: info.height) }
        let source = KeywordSource(prompt: existing.generation?.prompt ?? existing.aiPrompt ?? embeddedPrompt, title: existing.title, description: existing.description,
                                   keywords: existing.keywords, fileName: URL(fileURLWithPath: path).lastPathComponent)
        let text = try ThreadLimit.run(threads: max(1, ProcessInfo.processInfo.activeProcessorCount - 1)) {
            try keyworder.describeText(source, limit: limit)
        }
        let result = text.addingPixelWords(try pixels.value().keywords, limit: limit)
        var updated = existing.labelled(from: provenance)  // written back by `keyword --write`: an AI image leaves labelled
        updated.keywords = result.keywords
        if updated.title == nil, !result.title.isEmpty { updated.title = result.title }
        if updated.description == nil, !result.description.isEmpty { updated.description = result.description }
        return (result, updated)
    }
}

/// A value computed on another thread, waited for when needed.
final class BackgroundResult<Value: Sendable>: @unchecked Sendable {
    private var result: Result<Value, Error>?
    private let done = DispatchSemaphore(value: 0)

    init(_ work: @escaping @Sendable () throws -> Value) {
        Thread.detachNewThread { [self] in
            result = Result(catching: work)
            done.signal()
        }
    }

    /// Waits for the value; throws what the work threw.
    func value() throws -> Value {
        done.wait()
        done.signal()  // later calls return at once
        return try result!.get()
    }
}
