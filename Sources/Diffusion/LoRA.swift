import Foundation
import Neural

/// A LoRA file and the strength it is applied with (A1111's `<lora:name:0.8>`).
public struct LoRAReference: Sendable, Hashable, Codable {
    public var path: String
    public var weight: Double

    public init(path: String, weight: Double) {
        self.path = path
        self.weight = weight
    }
}

/// LoRA updates merged into a model's weights at load: W + weight · alpha/rank · up · down, so the
/// layers still prepare their weights once and a step costs what it did without LoRAs.
///
/// Two layouts are read: kohya-ss / A1111 (`lora_unet_<module>.lora_down.weight`, `.lora_up.weight`,
/// `.alpha`; `lora_te_`, `lora_te1_`, `lora_te2_` for the text towers; SD 1.x UNet modules named as
/// diffusers names them, SDXL's as the original UNet does, LoCon convolutions included) and
/// diffusers / PEFT (`unet.<module>.lora_A.weight`, `.lora_B.weight`, `text_encoder.`, `text_encoder_2.`;
/// alpha = rank). Module names are compared with `.` written as `_`, the way kohya writes them.
final class LoRASet: @unchecked Sendable {
    enum Component: String, Sendable { case unet, textEncoder = "text encoder", textEncoder2 = "second text encoder" }

    struct Update {
        let down: HostTensor, up: HostTensor
        let scale: Float
        let file: String, key: String
    }

    private var updates: [Component: [String: [Update]]] = [:]
    private var used = Set<String>()
    private let lock = NSLock()

    init(_ references: [LoRAReference]) throws {
        for reference in references {
            let file = try SafeTensorsFile(path: reference.path)
            func fail(_ reason: String) -> DiffusionError { .modelFiles(path: reference.path, reason: "not a usable LoRA: " + reason) }
            guard reference.weight.isFinite, abs(reference.weight) <= 100 else { throw fail("its weight \(reference.weight) is not a number between -100 and 100") }
            let keys = file.entries.keys.sorted()
            if let other = keys.first(where: { $0.contains("hada_") || $0.contains("lokr_") || $0.contains(".oft_") }) {
                throw fail("\(other) belongs to a LyCORIS variant (LoHa, LoKr, OFT) that is not supported; plain LoRA and LoCon are")
            }
            var found = 0
            for key in keys {
                guard let (component, module, downKey, upKey, alphaKey) = Self.parse(key) else { continue }
                let down = try file.tensor(key), up = try file.tensor(upKey)
                guard down.shape.count >= 2, up.shape.count >= 2, up.shape[1] == down.shape[0], down.shape[0] > 0,
                      up.shape.dropFirst(2).allSatisfy({ $0 == 1 }) else {
                    throw fail("\(downKey) is \(down.shape) and \(upKey) is \(up.shape): they do not make a low-rank update")
                }
                let rank = Float(down.shape[0])
                let alpha = try alphaKey.flatMap { file.entries[$0] != nil ? try file.tensor($0).storage.first : nil } ?? rank
                guard alpha.isFinite else { throw fail("\(alphaKey ?? key) is not a number") }
                let update = Update(down: down, up: up, scale: Float(reference.weight) * alpha / rank, file: reference.path, key: downKey)
                updates[component, default: [:]][module, default: []].append(update)
                found += 1
            }
            guard found > 0 else { throw fail("it has no lora_down/lora_up or lora_A/lora_B tensors") }
        }
    }

    /// The component, module (with `_` for `.`) and the keys of one LoRA pair, from its down key.
    static func parse(_ key: String) -> (Component, String, String, String, String?)? {
        func mangled(_ s: Substring) -> String { s.replacingOccurrences(of: ".", with: "_") }
        if key.hasSuffix(".lora_down.weight") {
            let stem = key.dropLast(".lora_down.weight".count)
            let prefixes: [(String, Component)] = [("lora_unet_", .unet), ("lora_te1_", .textEncoder), ("lora_te2_", .textEncoder2), ("lora_te_", .textEncoder)]
            guard let (prefix, component) = prefixes.first(where: { stem.hasPrefix($0.0) }) else { return nil }
            var module = String(stem.dropFirst(prefix.count))
            if component != .unet, module.hasPrefix("text_model_") { module.removeFirst("text_model_".count) }
            return (component, module, key, stem + ".lora_up.weight", stem + ".alpha")
        }
        if key.hasSuffix(".lora_A.weight") {
            let stem = key.dropLast(".lora_A.weight".count)
            let prefixes: [(String, Component)] = [("unet.", .unet), ("text_encoder_2.", .textEncoder2), ("text_encoder.", .textEncoder)]
            guard let (prefix, component) = prefixes.first(where: { stem.hasPrefix($0.0) }) else { return nil }
            var module = stem.dropFirst(prefix.count)
            if component != .unet, module.hasPrefix("text_model.") { module = module.dropFirst("text_model.".count) }
            return (component, mangled(module), key, stem + ".lora_B.weight", nil)
        }
        return nil
    }

    /// `source` with the updates for `component` added to the weights they change. `moduleNames`
    /// gives, for a weight's name, the module names a LoRA may use for it (diffusers' and, for an
    /// SDXL UNet, the original UNet's).
    func adjusting(_ source: WeightSource, _ component: Component, moduleNames: @escaping @Sendable (String) -> [String]) -> WeightSource {
        guard let table = updates[component], !table.isEmpty else { return source }
        return LoRAAdjustedSource(base: source, lookup: { [self] name in
            guard name.hasSuffix(".weight") else { return [] }
            for module in moduleNames(String(name.dropLast(".weight".count))) {
                if let found = table[module.replacingOccurrences(of: ".", with: "_")] {
                    markUsed(found.map(\.key))
                    return found
                }
            }
            return []
        })
    }

    private func markUsed(_ keys: [String]) {
        lock.lock()
        used.formUnion(keys)
        lock.unlock()
    }

    /// After the model has loaded: every update must have found its layer; one that did not is
    /// a LoRA for another base model (an SDXL LoRA on SD 1.5), named with a key it has.
    func checkAllUsed() throws {
        for (component, table) in updates {
            for update in table.values.joined() where !used.contains(update.key) {
                throw DiffusionError.modelFiles(path: update.file, reason: "the LoRA's \(update.key) changes no layer of this model's \(component.rawValue): it was made for another base model")
            }
        }
    }
}

/// A weight source whose weights have LoRA updates added as they are read (once, at load).
struct LoRAAdjustedSource: WeightSource {
    let base: WeightSource
    let lookup: @Sendable (String) -> [LoRASet.Update]

    var path: String { base.path }
    func shape(of name: String) -> [Int]? { base.shape(of: name) }

    func tensor(_ name: String) throws -> HostTensor {
        var weight = try base.tensor(name)
        for update in lookup(name) { try Self.add(update, to: &weight, name: name) }
        return weight
    }

    /// weight += scale · up [out, rank] · down [rank, rest…].
    static func add(_ update: LoRASet.Update, to weight: inout HostTensor, name: String) throws {
        let rank = update.down.shape[0], out = update.up.shape[0], rest = update.down.count / rank
        guard weight.shape.first == out, weight.count == out * rest else {
            throw DiffusionError.modelFiles(path: update.file, reason: "the LoRA's \(update.key) changes a [\(out), \(rest)] weight but \(name) is \(weight.shape): it was made for another base model")
        }
        weight.storage.withUnsafeMutableBufferPointer { w in
            update.up.storage.withUnsafeBufferPointer { up in
                update.down.storage.withUnsafeBufferPointer { down in
                    for o in 0..<out {
                        let row = w.baseAddress! + o * rest
                        for r in 0..<rank {
                            let factor = update.scale * up[o * rank + r]
                            let source = down.baseAddress! + r * rest
                            for i in 0..<rest { row[i] += factor * source[i] }
                        }
                    }
                }
            }
        }
    }
}
