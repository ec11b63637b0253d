import AtomicFiles
import Diffusion
import Foundation

/// Which LoRAs a generated image uses: the prompt's `<lora:name:weight>` tags and the workflow's
/// `generate.loras` (written into the prompt as tags, so the recorded prompt names every LoRA, as
/// an A1111 prompt does), found by name in the LoRA folder.
public enum LoRAPlanning {
    /// `$STOCKWERK_LORAS`, else `loras/` in the models folder.
    public static func defaultFolder(modelsFolder: String) -> String {
        if let folder = ProcessInfo.processInfo.environment["STOCKWERK_LORAS"], !folder.isEmpty { return folder }
        return modelsFolder + "/loras"
    }

    /// `prompt` with a tag for each workflow LoRA it does not name already.
    static func tagged(_ prompt: String, with loras: [WorkflowSpec.LoRASetting]) -> String {
        let named = Set(ExtraNetworks.parse(prompt).loras.map(\.name))
        return loras.filter { !named.contains($0.name) }.reduce(prompt) { $0 + " <lora:\($1.name):\(format($1.weight))>" }
    }

    static func format(_ weight: Double) -> String { weight == weight.rounded() ? String(Int(weight)) : String(weight) }

    /// The files of `prompt`'s LoRA tags, or why they cannot be used.
    public static func resolve(_ prompt: String, folder: String) throws -> [LoRAReference] {
        let parsed = ExtraNetworks.parse(prompt)
        if let tag = parsed.unsupported.first {
            throw ModelLookupError(message: "the prompt's \(tag) cannot be applied",
                                   hint: "Stockwerk applies LoRAs as <lora:name> or <lora:name:weight> (one weight for text encoder and UNet); hypernetworks are not supported")
        }
        return try parsed.loras.map { LoRAReference(path: try file(named: $0.name, folder: folder), weight: $0.weight) }
    }

    /// `name.safetensors` in `folder` (or `name` itself when it is a path to a file).
    static func file(named name: String, folder: String) throws -> String {
        if name.hasSuffix(".safetensors"), RegularFile.isRegular(name) { return name }
        let path = folder + "/" + name + ".safetensors"
        if RegularFile.isRegular(path) { return path }
        if let pickle = [".pt", ".ckpt", ".bin"].map({ folder + "/" + name + $0 }).first(where: RegularFile.isRegular) {
            throw ModelLookupError(message: "the LoRA \(pickle) is a pickle file, which can run code when loaded; it is not loaded",
                                   hint: "convert it once to .safetensors (e.g. with kohya-ss' convert tools) and put \(name).safetensors in \(folder)")
        }
        throw ModelLookupError(message: "the LoRA `\(name)` is not in \(folder) (no \(name).safetensors)",
                               hint: "put the file there, or set generate.loras_folder or $STOCKWERK_LORAS to where your LoRAs are")
    }
}

/// `vae:` / `--vae`: another VAE for a model, found as a path or by name in the models folder's `vae/`.
public enum VAEPlanning {
    public static func resolve(_ reference: String, baseFolder: String, modelsFolder: String) throws -> String {
        let candidates = [reference.hasPrefix("/") ? reference : baseFolder + "/" + reference, modelsFolder + "/vae/" + reference]
        if let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) { return found }
        throw ModelLookupError(message: "the VAE `\(reference)` is neither at that path (relative to the workflow) nor in \(modelsFolder)/vae",
                               hint: "give the path of a VAE .safetensors file or diffusers VAE folder, or put it in \(modelsFolder)/vae")
    }

    /// A1111's VAE hash: the first 10 hex digits of the weights file's SHA-256.
    public static func hash(_ path: String, remember: Bool = true) throws -> String {
        let weights = ModelLocator.isFolder(path) ? try ModelFiles.weights(in: path, stem: "diffusion_pytorch_model") : path
        return try ModelLocator.modelHash(weights, remember: remember)
    }
}


/// Textual-inversion embeddings a prompt names: the `.safetensors` files in the embeddings folder
/// whose names appear in the prompt or the negative prompt (the engine matches them by tokens).
public enum EmbeddingPlanning {
    /// `$STOCKWERK_EMBEDDINGS`, else `embeddings/` in the models folder.
    public static func defaultFolder(modelsFolder: String) -> String {
        if let folder = ProcessInfo.processInfo.environment["STOCKWERK_EMBEDDINGS"], !folder.isEmpty { return folder }
        return modelsFolder + "/embeddings"
    }

    public static func files(for texts: [String], folder: String) -> [String] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.lowercased().hasSuffix(".safetensors") }.sorted()
        let lowered = texts.map { $0.lowercased() }
        return names.filter { file in
            let stem = String(file.dropLast(".safetensors".count)).lowercased()
            return !stem.isEmpty && lowered.contains { $0.contains(stem) }
        }.map { folder + "/" + $0 }.filter(RegularFile.isRegular)
    }
}

extension StableDiffusionModel.LoadOptions {
    /// These options with the LoRAs of `prompt`'s tags and the embeddings `prompt` or `negative`
    /// name: what the workflow, `generate` and `rerun` all load a model with.
    public func with(prompt: String, negative: String, lorasFolder: String, embeddingsFolder: String) throws -> Self {
        var options = self
        options.loras = try LoRAPlanning.resolve(prompt, folder: lorasFolder)
        options.embeddings = EmbeddingPlanning.files(for: [prompt, negative], folder: embeddingsFolder)
        return options
    }
}

