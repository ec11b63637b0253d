import Foundation

/// Recognises the text that image generators embed, each in its own documented layout
/// (docs/agencies.md, "How Stockwerk decides an image is AI", cites each source).
enum GeneratorText {
    /// Texts larger than this are not parsed as JSON (a 10 MB prompt is not a prompt).
    static let maxJSONBytes = 4 << 20

    /// AUTOMATIC1111 / Forge / SD.Next "parameters": prompt, optional "Negative prompt: …", then a
    /// settings line that starts with "Steps: " and names at least two more of A1111's keys.
    static func a1111(_ text: String) -> (prompt: String, negative: String?, model: String?, generation: GenerationParameters?)? {
        let lines = text.components(separatedBy: "\n")
        guard let settingsIndex = lines.lastIndex(where: { $0.hasPrefix("Steps: ") }) else { return nil }
        let settings = lines[settingsIndex]
        let keys = ["Sampler: ", "CFG scale: ", "Seed: ", "Size: ", "Model: ", "Model hash: "]
        guard keys.filter({ settings.contains($0) }).count >= 2 else { return nil }
        var head = Array(lines[..<settingsIndex])
        var negative: String?
        if let index = head.firstIndex(where: { $0.hasPrefix("Negative prompt: ") }) {
            negative = ([String(head[index].dropFirst("Negative prompt: ".count))] + head[(index + 1)...]).joined(separator: "\n")
            head.removeSubrange(index...)
        }
        let model = settings.components(separatedBy: ", ").first { $0.hasPrefix("Model: ") }.map { String($0.dropFirst("Model: ".count)) }
        return (head.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines), negative, model, GenerationParameters.fromA1111(text))
    }

    static func json(_ text: String) -> Any? {
        guard text.utf8.count <= maxJSONBytes, text.first == "{" || text.first == "[" else { return nil }
        return try? JSONSerialization.jsonObject(with: Data(text.utf8))
    }

    /// ComfyUI's API-format graph (`prompt` chunk): node id → {class_type, inputs}. The positive
    /// prompt is the text of the node wired to a sampler's `positive` input.
    static func comfyPrompt(_ graph: [String: Any]) -> (prompt: String?, negative: String?, model: String?)? {
        let nodes = graph.compactMapValues { $0 as? [String: Any] }
        guard !nodes.isEmpty, nodes.values.contains(where: { $0["class_type"] is String && $0["inputs"] is [String: Any] }) else { return nil }
        func inputs(_ node: [String: Any]?) -> [String: Any] { node?["inputs"] as? [String: Any] ?? [:] }
        func text(of link: Any?) -> String? {
            guard let link = link as? [Any], let id = link.first.map({ "\($0)" }) else { return nil }
            let values = inputs(nodes[id])
            let parts = ["text", "text_g", "text_l"].compactMap { values[$0] as? String }.filter { !$0.isEmpty }
            return parts.first
        }
        let sampler = nodes.values.first { ($0["class_type"] as? String)?.contains("Sampler") == true && inputs($0)["positive"] != nil }
        var prompt = text(of: inputs(sampler)["positive"])
        if prompt == nil {  // no sampler wired to a text node: the first text encoder's text
            prompt = nodes.sorted { $0.key < $1.key }.lazy.compactMap { ($0.value["class_type"] as? String)?.hasPrefix("CLIPTextEncode") == true
                ? inputs($0.value)["text"] as? String : nil }.first
        }
        let model = nodes.values.lazy.compactMap { inputs($0)["ckpt_name"] as? String ?? inputs($0)["unet_name"] as? String }.first
        let file = model.map { $0.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? $0 }
        return (prompt, text(of: inputs(sampler)["negative"]), file)
    }

    /// ComfyUI's UI graph (`workflow` chunk): {nodes: [{type, widgets_values}], links: […]}.
    static func isComfyWorkflow(_ value: Any?) -> Bool {
        guard let graph = value as? [String: Any], let nodes = graph["nodes"] as? [[String: Any]] else { return false }
        return nodes.contains { $0["type"] is String } && graph["links"] != nil
    }

    /// InvokeAI 2.x writes the negative prompt in square brackets inside the prompt.
    static func invokePositive(_ prompt: String) -> String {
        prompt.replacingOccurrences(of: #"\s*\[[^\]]*\]"#, with: "", options: .regularExpression).trimmingCharacters(in: .whitespaces)
    }

    static func invokeNegative(_ prompt: String) -> String? {
        let parts = prompt.matches(of: /\[([^\]]*)\]/).map { String($0.output.1) }
        return parts.isEmpty ? nil : parts.joined(separator: ", ")
    }

    /// A checkpoint file name without folders and extension.
    static func stem(_ name: String) -> String {
        let last = name.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? name
        for ext in [".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".gguf"] where last.lowercased().hasSuffix(ext) { return String(last.dropLast(ext.count)) }
        return last
    }

    static func string(_ value: Any?) -> String? {
        if let text = value as? String, !text.isEmpty { return text }
        return nil
    }
}
