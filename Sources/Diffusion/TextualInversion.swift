import Foundation
import Neural

/// A textual-inversion embedding (A1111's `embeddings/` folder): vectors a prompt uses by writing
/// the file's name. A1111's files hold `emb_params` [vectors, width] (SD 1.x/2.x) or `clip_l` and
/// `clip_g` (SDXL's two towers); diffusers' hold one tensor under the token's name.
public struct TextualInversion: Sendable {
    /// The file name without `.safetensors`: the word a prompt writes.
    public let name: String
    /// Vectors by key: "emb_params" (or a diffusers token), "clip_l", "clip_g".
    let vectors: [String: HostTensor]

    public init(path: String) throws {
        let file = try SafeTensorsFile(path: path)
        func fail(_ reason: String) -> DiffusionError { .modelFiles(path: path, reason: "not a usable textual-inversion embedding: " + reason) }
        var vectors: [String: HostTensor] = [:]
        for key in file.entries.keys {
            var tensor = try file.tensor(key)
            if tensor.shape.count == 1 { tensor.shape = [1] + tensor.shape }
            guard tensor.shape.count == 2, (1...PromptChunks.length).contains(tensor.shape[0]), tensor.shape[1] > 0,
                  tensor.storage.allSatisfy(\.isFinite) else {
                throw fail("\(key) is \(tensor.shape); an embedding is 1 to 75 vectors of the text encoder's width, all finite")
            }
            vectors[key] = tensor
        }
        guard !vectors.isEmpty else { throw fail("it holds no tensors") }
        name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        self.vectors = vectors
    }

    /// The vectors for a tower of `width`: SDXL's by its key, else the one tensor of that width.
    func vectors(tower index: Int, of count: Int, width: Int) -> HostTensor? {
        if count == 2, let tower = vectors[index == 0 ? "clip_l" : "clip_g"] { return tower.shape[1] == width ? tower : nil }
        let candidates = vectors.filter { !["clip_l", "clip_g"].contains($0.key) }.values.filter { $0.shape[1] == width }
        return candidates.count == 1 ? candidates.first : nil
    }
}
