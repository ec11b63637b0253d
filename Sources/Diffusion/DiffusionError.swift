import Foundation

public enum DiffusionError: Error, CustomStringConvertible, Equatable {
    case tokenizerFiles(path: String, reason: String)
    case modelFiles(path: String, reason: String)
    case pickleRefused(path: String)
    case request(String)
    /// The model computed NaN or infinity (a damaged weight file, an fp16 overflow).
    case notFinite(String)

    public var description: String {
        switch self {
        case let .tokenizerFiles(path, reason): return "cannot load the CLIP tokenizer from \(path): \(reason)"
        case let .modelFiles(path, reason): return "cannot load \(path): \(reason)"
        case let .pickleRefused(path):
            return "refusing to open \(path): it is a PyTorch pickle file, and loading a pickle runs whatever code its maker put in it"
        case let .request(reason): return reason
        case let .notFinite(what): return what
        }
    }

    public var hint: String {
        switch self {
        case .tokenizerFiles: return "a diffusers model folder has tokenizer/vocab.json and tokenizer/merges.txt; Stockwerk's own copy is presets/clip/bpe_simple_vocab_16e6.txt.gz"
        case .pickleRefused:
            return "convert it to safetensors once, in a Python environment you trust: `pip install torch safetensors` then "
                + "`python3 -c \"import torch, safetensors.torch as s; d = torch.load('IN.ckpt', weights_only=True); "
                + "d = next((d[k] for k in ('state_dict', 'params_ema', 'params') if k in d), d); "
                + "s.save_file({k: v.contiguous() for k, v in d.items() if hasattr(v, 'contiguous')}, 'OUT.safetensors')\"` "
                + "(weights_only=True refuses code), or download the model's .safetensors release"
        case .request: return "see `stockwerk generate --help` for the accepted values"
        case .notFinite: return "a weight file may be damaged, or a 16-bit VAE overflowed: try the fp16-fix VAE, or the model's fp32 files"
        case .modelFiles: return "check that the model folder is a complete diffusers layout (model_index.json, scheduler/, text_encoder/, unet/, vae/)"
        }
    }
}
