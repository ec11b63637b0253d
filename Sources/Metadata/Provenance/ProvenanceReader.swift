import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The one reader of AI provenance: walks a JPEG's or PNG's metadata (or the EXIF and XMP
/// blocks of any other format) and collects every sign of how the image was made. It never
/// throws on what it reads: what cannot be read becomes a warning, and the rest is still read.
public enum ProvenanceReader {
    public static func read(path: String) -> Provenance {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            var provenance = Provenance()
            provenance.warnings.append("\(path): cannot be read for provenance")
            return provenance
        }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 8)) ?? Data()
        if PNGChunks.isPNG(head) {
            guard let png = try? PNGChunks.read(handle) else {
                var provenance = Provenance()
                provenance.warnings.append("\(path): cannot be read for provenance")
                return provenance
            }
            return read(png: png)
        }
        if head.starts(with: [0xFF, 0xD8]), let (jpeg, fd, _) = try? JPEGFile.header(of: path) {
            close(fd)
            return read(jpeg: jpeg)
        }
        return Provenance()
    }

    /// For formats other than JPEG and PNG: the EXIF ("Exif\0\0" + TIFF) and XMP blocks.
    public static func read(exif: Data?, xmp: Data?) -> Provenance {
        var provenance = Provenance()
        if let exif { readEXIF(exif, container: "EXIF", into: &provenance) }
        if let xmp { readXMP(xmp, container: "XMP", into: &provenance) }
        return provenance
    }

    public static func read(jpeg data: Data) -> Provenance {
        guard let jpeg = try? JPEGFile(data: data) else {
            var provenance = Provenance()
            provenance.warnings.append("the JPEG's metadata segments are malformed: no provenance read")
            return provenance
        }
        return read(jpeg: jpeg)
    }

    public static func read(jpeg: JPEGFile) -> Provenance {
        var provenance = Provenance()
        if let exif = jpeg.body(JPEGFile.app1, signature: JPEGFile.exifSignature) {
            readEXIF(Data(JPEGFile.exifSignature) + exif, container: "EXIF", into: &provenance)
        }
        if let xmp = jpeg.body(JPEGFile.app1, signature: JPEGFile.xmpSignature) { readXMP(xmp, container: "XMP", into: &provenance) }
        let app11 = jpeg.segments.filter { $0.marker == 0xEB }.map(\.payload)
        if !app11.isEmpty, let jumbf = C2PAManifestStore.jumbf(fromAPP11: app11) {
            readC2PA(jumbf, container: "JPEG APP11", into: &provenance)
        }
        return provenance
    }

    public static func read(png data: Data) -> Provenance { read(png: PNGChunks(data: data)) }

    static func read(png: PNGChunks) -> Provenance {
        var provenance = Provenance()
        provenance.warnings += png.warnings
        if let exif = png.exif { readEXIF(Data(JPEGFile.exifSignature) + exif, container: "PNG eXIf", into: &provenance) }
        let texts = Dictionary(png.texts.map { ($0.keyword, $0) }, uniquingKeysWith: { first, _ in first })
        for text in png.texts {
            let location = "PNG \(text.chunk) chunk `\(text.keyword)`"
            switch text.keyword {
            case "XML:com.adobe.xmp": readXMP(Data(text.text.utf8), container: "XMP (\(location))", into: &provenance)
            default: readGeneratorText(text.keyword, text.text, location: location, all: texts, into: &provenance)
            }
        }
        if let c2pa = png.c2pa { readC2PA([UInt8](c2pa), container: "PNG caBX", into: &provenance) }
        return provenance
    }

    static func readGeneratorText(_ keyword: String, _ text: String, location: String, all: [String: PNGChunks.Text], into provenance: inout Provenance) {
        func evidence(_ kind: ProvenanceEvidence.Kind, _ tool: String, _ excerpt: String) -> ProvenanceEvidence {
            ProvenanceEvidence(kind: kind, tool: tool, location: location, excerpt: ProvenanceEvidence.excerpt(excerpt), indicatesAI: true)
        }
        switch keyword {
        case "parameters":
            if let found = GeneratorText.a1111(text) {
                let tool = text.contains("Version: Fooocus") || all["fooocus_scheme"] != nil ? "Fooocus" : "AUTOMATIC1111 / Forge / SD.Next"
                provenance.add(evidence(tool == "Fooocus" ? .fooocus : .a1111Parameters, tool, found.prompt.isEmpty ? text : found.prompt),
                               prompt: found.prompt, negativePrompt: found.negative, model: found.model, generation: found.generation)
            } else if let json = GeneratorText.json(text) as? [String: Any], all["fooocus_scheme"] != nil || (json["version"] as? String)?.hasPrefix("Fooocus") == true {
                let prompt = GeneratorText.string(json["prompt"])
                provenance.add(evidence(.fooocus, "Fooocus", prompt ?? text), prompt: prompt,
                               negativePrompt: GeneratorText.string(json["negative_prompt"]),
                               model: GeneratorText.string(json["base_model"]).map(GeneratorText.stem))
            }
        case "prompt":
            if let graph = GeneratorText.json(text) as? [String: Any], let found = GeneratorText.comfyPrompt(graph) {
                provenance.add(evidence(.comfyUI, "ComfyUI", found.prompt ?? text), prompt: found.prompt, negativePrompt: found.negative, model: found.model)
            }
        case "workflow":
            // The UI graph is evidence only where the API graph (`prompt`, written first) was not.
            if !provenance.evidence.contains(where: { $0.kind == .comfyUI }), GeneratorText.isComfyWorkflow(GeneratorText.json(text)) {
                provenance.add(evidence(.comfyUI, "ComfyUI", text))
            }
        case "invokeai_metadata":
            if let json = GeneratorText.json(text) as? [String: Any] {
                let model = json["model"] as? [String: Any]
                let prompt = GeneratorText.string(json["positive_prompt"])
                provenance.add(evidence(.invokeAI, "InvokeAI", prompt ?? text), prompt: prompt, negativePrompt: GeneratorText.string(json["negative_prompt"]),
                               model: GeneratorText.string(model?["name"]) ?? GeneratorText.string(model?["model_name"]))
            }
        case "sd-metadata":
            // InvokeAI 2.x: {app_id, model_id / model_weights, image: {prompt: [{prompt, weight}] or text}}.
            if let json = GeneratorText.json(text) as? [String: Any], json["image"] is [String: Any] || json["app_id"] != nil {
                let image = json["image"] as? [String: Any]
                let raw = GeneratorText.string(image?["prompt"]) ?? ((image?["prompt"] as? [[String: Any]])?.first.flatMap { GeneratorText.string($0["prompt"]) })
                let prompt = raw.map(GeneratorText.invokePositive)
                provenance.add(evidence(.invokeAI, "InvokeAI", prompt ?? text), prompt: prompt, negativePrompt: raw.flatMap(GeneratorText.invokeNegative),
                               model: GeneratorText.string(json["model_id"]) ?? GeneratorText.string(json["model_weights"]))
            }
        case "Dream":
            // InvokeAI 2.x: "<prompt> -s 30 -S 1234 -W 512 -H 512 -C 7.5 -A k_lms" (the prompt may be quoted).
            if let range = text.range(of: #" -s \d+ -S \d+"#, options: .regularExpression) {
                let raw = text[..<range.lowerBound].trimmingCharacters(in: CharacterSet(charactersIn: "\" "))
                provenance.add(evidence(.invokeAI, "InvokeAI", raw), prompt: GeneratorText.invokePositive(raw), negativePrompt: GeneratorText.invokeNegative(raw))
            }
        case "Software":
            if text.trimmingCharacters(in: .whitespaces) == "NovelAI" {
                let prompt = all["Description"]?.text
                provenance.add(evidence(.novelAI, "NovelAI", prompt ?? text), prompt: prompt, model: all["Source"]?.text)
            }
        default:
            break
        }
    }

    static func readEXIF(_ block: Data, container: String, into provenance: inout Provenance) {
        let fields = EXIFBlock.generatorText(block)
        guard let comment = fields.comment else { return }
        // Fooocus in JPEG: its JSON parameters in UserComment, "Fooocus v…" in Software.
        if let json = GeneratorText.json(comment) as? [String: Any], let prompt = GeneratorText.string(json["prompt"]),
           (json["version"] as? String)?.hasPrefix("Fooocus") == true || fields.software?.hasPrefix("Fooocus") == true {
            provenance.add(ProvenanceEvidence(kind: .fooocus, tool: "Fooocus", location: "\(container) UserComment",
                                              excerpt: ProvenanceEvidence.excerpt(prompt), indicatesAI: true),
                           prompt: prompt, negativePrompt: GeneratorText.string(json["negative_prompt"]),
                           model: GeneratorText.string(json["base_model"]).map(GeneratorText.stem))
            return
        }
        if let found = GeneratorText.a1111(comment) {
            let fooocus = comment.contains("Version: Fooocus")
            provenance.add(ProvenanceEvidence(kind: fooocus ? .fooocus : .a1111Parameters, tool: fooocus ? "Fooocus" : "AUTOMATIC1111 / Forge / SD.Next",
                                              location: "\(container) UserComment", excerpt: ProvenanceEvidence.excerpt(found.prompt.isEmpty ? comment : found.prompt),
                                              indicatesAI: true),
                           prompt: found.prompt, negativePrompt: found.negative, model: found.model, generation: found.generation)
        }
    }

    static func readXMP(_ packet: Data, container: String, into provenance: inout Provenance) {
        let values: StockMetadata
        do { values = try XMPPacket.parse(packet) } catch {
            provenance.warnings.append("the \(container) packet cannot be read (\(error)): its AI fields, if any, were not seen")
            return
        }
        if let type = values.digitalSourceType {
            provenance.declaredSourceType = provenance.declaredSourceType ?? type
            provenance.add(ProvenanceEvidence(kind: .digitalSourceType, tool: "IPTC Digital Source Type", location: "\(container) Iptc4xmpExt:DigitalSourceType",
                                              excerpt: type.rawValue, indicatesAI: type.isGenerativeAI))
        }
        let aiFields: [(String, String?)] = [("AISystemUsed", values.aiSystem), ("AISystemVersionUsed", values.aiSystemVersion),
                                              ("AIPromptInformation", values.aiPrompt), ("AIPromptWriterName", values.aiPromptWriter)]
        if let (name, value) = aiFields.first(where: { $0.1?.isEmpty == false }), let value {
            provenance.add(ProvenanceEvidence(kind: .iptcAIFields, tool: "IPTC 2025.1 AI fields", location: "\(container) Iptc4xmpExt:\(name)",
                                              excerpt: ProvenanceEvidence.excerpt(value), indicatesAI: true),
                           prompt: values.aiPrompt, model: values.aiSystem)
        }
        // Draw Things: xmp:CreatorTool "Draw Things", its parameters as JSON in exif:UserComment.
        if values.software?.hasPrefix("Draw Things") == true {
            let json = XMPPacket.value(namespace: "http://ns.adobe.com/exif/1.0/", property: "UserComment", in: packet)
                .flatMap(GeneratorText.json) as? [String: Any]
            let prompt = GeneratorText.string(json?["c"])
            provenance.add(ProvenanceEvidence(kind: .drawThings, tool: "Draw Things", location: "\(container) xmp:CreatorTool",
                                              excerpt: ProvenanceEvidence.excerpt(prompt ?? values.software!), indicatesAI: true),
                           prompt: prompt, negativePrompt: GeneratorText.string(json?["uc"]), model: GeneratorText.string(json?["model"]))
        }
        if let generation = values.generation {
            provenance.add(ProvenanceEvidence(kind: .stockwerk, tool: "Stockwerk", location: "\(container) stockwerk:Generation",
                                              excerpt: ProvenanceEvidence.excerpt(generation.prompt), indicatesAI: true),
                           prompt: generation.prompt, negativePrompt: generation.negativePrompt, model: generation.model, generation: generation)
        }
    }

    static func readC2PA(_ jumbf: [UInt8], container: String, into provenance: inout Provenance) {
        let store: C2PAManifestStore
        do { store = try C2PAManifestStore(jumbf: jumbf) } catch {
            provenance.warnings.append("the C2PA manifest store (\(container)) cannot be read (\(error)): ignored")
            return
        }
        for (index, manifest) in store.manifests.enumerated() {
            let role = index == store.manifests.count - 1 ? "active manifest" : "ingredient manifest"
            for declared in manifest.sourceTypes {
                let type = DigitalSourceType(uri: declared.type)
                let term = declared.type.split(separator: "/").last.map(String.init) ?? declared.type
                if index == store.manifests.count - 1, let type { provenance.declaredSourceType = provenance.declaredSourceType ?? type }
                let agent = declared.agent.map { ", software agent \($0)" } ?? ""
                provenance.add(ProvenanceEvidence(kind: .c2pa, tool: "C2PA" + (manifest.generator.map { ", claim generator \($0)" } ?? ""),
                                                  location: "C2PA \(role) (\(container)) action \(declared.action)",
                                                  excerpt: "digitalSourceType \(term)\(agent)", indicatesAI: type?.isGenerativeAI ?? false, verified: false),
                               model: type?.isGenerativeAI == true ? declared.agent ?? manifest.generator : nil)
            }
        }
    }
}
