import Foundation

/// A1111's extra-network tags in a prompt: `<lora:name:0.8>` (also `<lyco:…>`) applies a LoRA; every
/// `<word:…>` tag is taken out of the text the encoder reads, as A1111 does. The prompt keeps its
/// tags wherever it is recorded, so the image says which LoRAs made it.
public enum ExtraNetworks {
    public struct LoRATag: Equatable, Sendable {
        public var name: String
        public var weight: Double

        public init(name: String, weight: Double) {
            self.name = name
            self.weight = weight
        }
    }

    public struct Parsed: Equatable, Sendable {
        /// The prompt without its tags: what the text encoders read.
        public var text: String
        public var loras: [LoRATag]
        /// Tags this engine cannot apply (hypernetworks, a LoRA with separate text and UNet
        /// weights, a weight that is not a number), as written.
        public var unsupported: [String]
    }

    public static func parse(_ prompt: String) -> Parsed {
        var text = "", loras: [LoRATag] = [], unsupported: [String] = []
        var rest = Substring(prompt)
        while let open = rest.firstIndex(of: "<") {
            text += rest[..<open]
            let afterOpen = rest.index(after: open)
            // A1111's pattern: <(\w+):([^>]+)>
            guard let close = rest[afterOpen...].firstIndex(of: ">"), let colon = rest[afterOpen..<close].firstIndex(of: ":"),
                  colon > afterOpen, rest[afterOpen..<colon].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }), rest.index(after: colon) < close else {
                text += "<"
                rest = rest[afterOpen...]
                continue
            }
            let kind = rest[afterOpen..<colon], arguments = rest[rest.index(after: colon)..<close].split(separator: ":", omittingEmptySubsequences: false)
            let tag = String(rest[open...close])
            if kind == "lora" || kind == "lyco", let name = arguments.first.map({ $0.trimmingCharacters(in: .whitespaces) }), !name.isEmpty {
                let weights = arguments.dropFirst().map { Double($0.trimmingCharacters(in: .whitespaces)) }
                if weights.contains(where: { $0 == nil }) || Set(weights.compactMap { $0 }).count > 1 || arguments.count > 3 {
                    unsupported.append(tag)
                } else {
                    loras.append(LoRATag(name: name, weight: weights.first.flatMap { $0 } ?? 1))
                }
            } else {
                unsupported.append(tag)
            }
            rest = rest[rest.index(after: close)...]
        }
        text += rest
        return Parsed(text: text, loras: loras, unsupported: unsupported)
    }
}
