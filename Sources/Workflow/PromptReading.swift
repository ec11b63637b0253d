import AtomicFiles
import Diffusion
import Foundation

/// Whether a prompt reads the same under A1111's rules (emphasis, BREAK, chunks of 75 tokens) as
/// it did before Stockwerk read prompts that way (plain text, cut at 75 tokens). Jobs whose
/// prompts read the same keep their identity, so their cached images stay valid; the others get
/// a new one and are made again.
struct PromptReading {
    let tokenizer: CLIPTokenizer?

    /// The model's (first) tokenizer; nil when it cannot be read, which counts every prompt as changed.
    init(model: ResolvedModel) {
        if ModelLocator.isFolder(model.path) {
            tokenizer = try? CLIPTokenizer.load(folder: model.path + "/tokenizer" + (ModelLocator.isFolder(model.path + "/tokenizer") ? "" : "_2"))
        } else if let folder = model.options.configFolder {
            tokenizer = try? CLIPTokenizer.load(folder: folder + "/tokenizer")
        } else {
            tokenizer = model.options.clipMerges.flatMap { try? CLIPTokenizer.fromCLIPMerges(gzipFile: $0) }
        }
    }

    func readsAsBefore(_ text: String) -> Bool {
        guard let tokenizer, PromptAttention.parse(text) == [.text(text, weight: 1)], ExtraNetworks.parse(text).text == text else { return false }
        return tokenizer.tokenIDs(text).count <= PromptChunks.length
    }
}
