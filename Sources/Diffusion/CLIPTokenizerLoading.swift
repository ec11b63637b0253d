import AtomicFiles
import Foundation

extension CLIPTokenizer {
    /// Loads a diffusers `tokenizer/` folder: vocab.json + merges.txt (the classic layout), or
    /// tokenizer.json (what current transformers writes), and the padding token from
    /// tokenizer_config.json or special_tokens_map.json when they name one.
    public static func load(folder: String) throws -> CLIPTokenizer {
        func read(_ name: String) throws -> Data {
            guard let data = RegularFile.contents(atPath: folder + "/" + name) else {
                throw DiffusionError.tokenizerFiles(path: folder, reason: "\(name) is missing")
            }
            return data
        }
        let vocabulary: [String: Int]
        let merges: [(String, String)]
        if FileManager.default.fileExists(atPath: folder + "/vocab.json") || !FileManager.default.fileExists(atPath: folder + "/tokenizer.json") {
            guard let table = (try? JSONSerialization.jsonObject(with: read("vocab.json"))) as? [String: Int] else {
                throw DiffusionError.tokenizerFiles(path: folder, reason: "vocab.json is not a JSON object of token ids")
            }
            vocabulary = table
            let mergesText = String(decoding: try read("merges.txt"), as: UTF8.self)
            merges = mergesText.split(separator: "\n").filter { !$0.hasPrefix("#version") }.compactMap { line -> (String, String)? in
                let parts = line.split(separator: " ")
                return parts.count == 2 ? (String(parts[0]), String(parts[1])) : nil
            }
        } else {
            (vocabulary, merges) = try bpeModel(fromTokenizerJSON: read("tokenizer.json"), folder: folder)
        }
        guard !merges.isEmpty else {
            throw DiffusionError.tokenizerFiles(path: folder, reason: "it has no merge rules (merges.txt holds no `a b` lines)")
        }
        var pad = endText
        for name in ["tokenizer_config.json", "special_tokens_map.json"] {
            if let data = RegularFile.contents(atPath: folder + "/" + name),
               let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
                if let token = object["pad_token"] as? String { pad = token; break }
                if let token = (object["pad_token"] as? [String: Any])?["content"] as? String { pad = token; break }
            }
        }
        return try CLIPTokenizer(vocabulary: vocabulary, merges: merges, padToken: pad)
    }

    /// Builds the standard CLIP vocabulary from OpenAI's merges file (bpe_simple_vocab_16e6.txt.gz):
    /// 256 byte characters, the same with `</w>`, one token per merge, then the start and end tokens.
    public static func fromCLIPMerges(gzipFile path: String, padToken: String = endText) throws -> CLIPTokenizer {
        guard let compressed = RegularFile.contents(atPath: path) else {
            throw DiffusionError.tokenizerFiles(path: path, reason: "the file is missing")
        }
        let text: String
        do { text = String(decoding: try Gzip.decompress(compressed), as: UTF8.self) } catch {
            throw DiffusionError.tokenizerFiles(path: path, reason: "\(error)")
        }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        // CLIP uses the first 49,152 − 256 − 2 merges after the version line.
        let count = 49_152 - 256 - 2
        guard lines.count > count else { throw DiffusionError.tokenizerFiles(path: path, reason: "it has only \(lines.count) lines") }
        let merges: [(String, String)] = try lines[1...count].map { line in
            let parts = line.split(separator: " ")
            guard parts.count == 2 else { throw DiffusionError.tokenizerFiles(path: path, reason: "bad merge line \"\(line)\"") }
            return (String(parts[0]), String(parts[1]))
        }
        var tokens = ByteLevel.vocabularyOrder
        tokens += ByteLevel.vocabularyOrder.map { $0 + "</w>" }
        tokens += merges.map { $0.0 + $0.1 }
        tokens += [startText, endText]
        var vocabulary: [String: Int] = [:]
        for (id, token) in tokens.enumerated() where vocabulary[token] == nil { vocabulary[token] = id }
        return try CLIPTokenizer(vocabulary: vocabulary, merges: merges, padToken: padToken)
    }

    /// The BPE vocabulary and merges inside a Hugging Face `tokenizer.json` (merges written either
    /// as "a b" strings or as ["a", "b"] pairs, depending on the tokenizers version).
    static func bpeModel(fromTokenizerJSON data: Data, folder: String) throws -> ([String: Int], [(String, String)]) {
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let model = root["model"] as? [String: Any],
              model["type"] as? String == "BPE", let vocabulary = model["vocab"] as? [String: Int], let rawMerges = model["merges"] as? [Any] else {
            throw DiffusionError.tokenizerFiles(path: folder, reason: "tokenizer.json does not hold a BPE model with vocab and merges")
        }
        var merges: [(String, String)] = []
        merges.reserveCapacity(rawMerges.count)
        for item in rawMerges {
            if let pair = item as? [String], pair.count == 2 { merges.append((pair[0], pair[1])); continue }
            if let text = item as? String {
                let parts = text.split(separator: " ")
                if parts.count == 2 { merges.append((String(parts[0]), String(parts[1]))); continue }
            }
            throw DiffusionError.tokenizerFiles(path: folder, reason: "tokenizer.json has a merge that is not a pair: \(item)")
        }
        return (vocabulary, merges)
    }
}
