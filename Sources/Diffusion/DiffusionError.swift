import Foundation

public enum DiffusionError: Error, CustomStringConvertible, Equatable {
    case tokenizerFiles(path: String, reason: String)
    case modelFiles(path: String, reason: String)

    public var description: String {
        switch self {
        case let .tokenizerFiles(path, reason): return "cannot load the CLIP tokenizer from \(path): \(reason)"
        case let .modelFiles(path, reason): return "cannot load \(path): \(reason)"
        }
    }

    public var hint: String {
        switch self {
        case .tokenizerFiles: return "a diffusers model folder has tokenizer/vocab.json and tokenizer/merges.txt; Stockwerk's own copy is presets/clip/bpe_simple_vocab_16e6.txt.gz"
        case .modelFiles: return "check that the model folder is a complete diffusers layout (model_index.json, scheduler/, text_encoder/, unet/, vae/)"
        }
    }
}
