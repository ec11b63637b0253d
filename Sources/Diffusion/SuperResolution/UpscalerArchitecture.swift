/// What a super-resolution state dict is, read from its tensor names and shapes alone (as
/// chaiNNer's spandrel does; our own rules): ESRGAN's RRDBNet in BasicSR's layout (Real-ESRGAN,
/// with the pixel-unshuffle front of its x2 and x1 models) or the original ESRGAN layout
/// (`model.N`, 4x-UltraSharp, NMKD models), and Real-ESRGAN's SRVGGNetCompact.
public enum UpscalerArchitecture: Sendable, Equatable, CustomStringConvertible {
    case rrdb(RRDBShape)
    case compact(CompactShape)

    /// RRDBNet's sizes.
    public struct RRDBShape: Sendable, Equatable {
        /// BasicSR's names (conv_first, body.N.rdbK, conv_up1…) or ESRGAN's (model.0, model.1.sub.N.RDBK…).
        public var originalLayout: Bool
        public var inChannels: Int, outChannels: Int
        public var features: Int, growth: Int, blocks: Int
        /// ×2 nearest-neighbour enlargements, each followed by a convolution (2 in BasicSR's layout).
        public var enlargements: Int
        /// Pixel-unshuffle factor before the first convolution (1, 2 or 4: Real-ESRGAN's x2 and x1).
        public var unshuffle: Int

        public var scale: Int { (1 << enlargements) / unshuffle }
    }

    /// SRVGGNetCompact's sizes (PReLU activations, as every published model has).
    public struct CompactShape: Sendable, Equatable {
        public var inChannels: Int, outChannels: Int
        public var features: Int, convolutions: Int
        public var scale: Int
    }

    public var scale: Int {
        switch self {
        case let .rrdb(shape): return shape.scale
        case let .compact(shape): return shape.scale
        }
    }

    public var description: String {
        switch self {
        case let .rrdb(s):
            return "ESRGAN (RRDBNet, \(s.blocks) blocks of \(s.features) features\(s.unshuffle > 1 ? ", pixel-unshuffle" : "")) x\(s.scale)"
        case let .compact(s): return "Real-ESRGAN compact (SRVGGNetCompact, \(s.convolutions) convolutions of \(s.features) features) x\(s.scale)"
        }
    }

    /// The architecture of `shapes` (name → shape); an error saying what was found otherwise.
    public static func detect(_ shapes: [String: [Int]]) throws -> UpscalerArchitecture {
        if shapes["conv_first.weight"] != nil { return .rrdb(try basicSR(shapes)) }
        if shapes["model.0.weight"] != nil, shapes.keys.contains(where: { $0.hasPrefix("model.1.sub.") }) { return .rrdb(try esrgan(shapes)) }
        if shapes["body.0.weight"] != nil, shapes["body.1.weight"]?.count == 1 { return .compact(try compact(shapes)) }
        let sample = shapes.keys.sorted().prefix(4).joined(separator: ", ")
        throw UpscalerError.unknownArchitecture("neither ESRGAN (RRDBNet) nor Real-ESRGAN compact (SRVGGNetCompact) tensor names (it has \(sample)…)")
    }

    static func convolution(_ shapes: [String: [Int]], _ name: String) throws -> (outputs: Int, inputs: Int) {
        guard let shape = shapes[name + ".weight"], shape.count == 4, shape[2] == 3, shape[3] == 3, shape[0] > 0, shape[1] > 0 else {
            throw UpscalerError.unknownArchitecture("\(name).weight is \(shapes[name + ".weight"].map { "\($0)" } ?? "missing"), a 3×3 convolution is needed")
        }
        return (shape[0], shape[1])
    }

    static func count(_ shapes: [String: [Int]], prefix: String) -> Int {
        Set(shapes.keys.compactMap { key -> Int? in
            guard key.hasPrefix(prefix) else { return nil }
            return Int(key.dropFirst(prefix.count).prefix { $0 != "." })
        }).count
    }

    static func basicSR(_ shapes: [String: [Int]]) throws -> RRDBShape {
        let first = try convolution(shapes, "conv_first"), last = try convolution(shapes, "conv_last")
        let growth = try convolution(shapes, "body.0.rdb1.conv1").outputs
        var enlargements = 0
        while shapes["conv_up\(enlargements + 1).weight"] != nil { enlargements += 1 }
        let out = last.outputs
        guard first.inputs % out == 0, let unshuffle = [1: 1, 4: 2, 16: 4][first.inputs / out] else {
            throw UpscalerError.unknownArchitecture("conv_first takes \(first.inputs) channels for \(out) out: not a pixel-unshuffle of 1, 2 or 4")
        }
        let shape = RRDBShape(originalLayout: false, inChannels: first.inputs / (unshuffle * unshuffle), outChannels: out, features: first.outputs,
                              growth: growth, blocks: count(shapes, prefix: "body."), enlargements: enlargements, unshuffle: unshuffle)
        guard shape.blocks > 0, enlargements > 0, (1 << enlargements) >= unshuffle else {
            throw UpscalerError.unknownArchitecture("RRDBNet with \(shape.blocks) blocks and \(enlargements) enlargements")
        }
        return shape
    }

    /// ESRGAN's original layout: model.0 first conv, model.1.sub.N blocks (the last one the body's
    /// conv), then per ×2 an upsample (no weights), a conv and a LeakyReLU (3 indices each), the HR
    /// conv, a LeakyReLU and the last conv.
    static func esrgan(_ shapes: [String: [Int]]) throws -> RRDBShape {
        let first = try convolution(shapes, "model.0")
        let subs = count(shapes, prefix: "model.1.sub.")
        let growth = try convolution(shapes, "model.1.sub.0.RDB1.conv1.0").outputs
        let indices = Set(shapes.keys.compactMap { key -> Int? in
            guard key.hasPrefix("model."), key.hasSuffix(".weight") else { return nil }
            return Int(key.dropFirst("model.".count).prefix { $0 != "." })
        }).sorted()
        guard let lastIndex = indices.last, lastIndex >= 7, (lastIndex - 4) % 3 == 0 else {
            throw UpscalerError.unknownArchitecture("ESRGAN layers \(indices) do not follow model.0, model.1, upsampling, model.N")
        }
        let enlargements = (lastIndex - 4) / 3
        let expected = [0, 1] + (0..<enlargements).map { 3 + 3 * $0 } + [3 * enlargements + 2, 3 * enlargements + 4]
        guard indices == expected else { throw UpscalerError.unknownArchitecture("ESRGAN layers \(indices), expected \(expected)") }
        let last = try convolution(shapes, "model.\(lastIndex)")
        return RRDBShape(originalLayout: true, inChannels: first.inputs, outChannels: last.outputs, features: first.outputs, growth: growth,
                         blocks: subs - 1, enlargements: enlargements, unshuffle: 1)
    }

    static func compact(_ shapes: [String: [Int]]) throws -> CompactShape {
        let first = try convolution(shapes, "body.0")
        let layers = count(shapes, prefix: "body.")
        // body.0 conv, body.1 PReLU, then (conv, PReLU) × n, then the last conv: 2n + 3 layers.
        guard layers >= 3, layers % 2 == 1 else { throw UpscalerError.unknownArchitecture("SRVGGNetCompact with \(layers) layers") }
        let convolutions = (layers - 3) / 2
        for i in 0..<(convolutions + 1) {
            guard shapes["body.\(2 * i + 1).weight"] == [first.outputs] else {
                throw UpscalerError.unknownArchitecture("body.\(2 * i + 1) is not a PReLU of \(first.outputs) (only PReLU compact models are supported)")
            }
        }
        let last = try convolution(shapes, "body.\(layers - 1)")
        let outChannels = first.inputs
        let square = last.outputs / outChannels
        let scale = Int(Double(square).squareRoot().rounded())
        guard scale >= 1, scale * scale * outChannels == last.outputs else {
            throw UpscalerError.unknownArchitecture("the last convolution's \(last.outputs) outputs are not \(outChannels) × a square scale")
        }
        return CompactShape(inChannels: first.inputs, outChannels: outChannels, features: first.outputs, convolutions: convolutions, scale: scale)
    }
}

/// An upscaler file that cannot be used, and why.
public enum UpscalerError: Error, CustomStringConvertible, Equatable {
    case unknownArchitecture(String)
    case file(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unknownArchitecture(reason): return "not a super-resolution model Stockwerk knows: \(reason)"
        case let .file(path, reason): return "\(path): \(reason)"
        }
    }
}
