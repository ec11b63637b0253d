import Foundation
import Neural

/// A learned super-resolution model (ESRGAN / Real-ESRGAN family) from a `.safetensors` file,
/// its architecture, scale and sizes recognised from the tensors alone. Pickles (`.pth`, the
/// format most are published in) are refused with the one-line conversion.
public struct SuperResolutionModel: Sendable {
    public let path: String
    public let architecture: UpscalerArchitecture
    let network: Network
    public let backend: any Backend

    enum Network: Sendable {
        case rrdb(RRDBNet)
        case compact(CompactUpscaler)
    }

    public var scale: Int { architecture.scale }

    /// The architecture of the file at `path`, from its header alone (no weights read).
    public static func architecture(of path: String) throws -> UpscalerArchitecture { try open(path).architecture }

    /// The file (a pickle refused first) and the architecture its tensors' names and shapes make.
    private static func open(_ path: String) throws -> (file: SafeTensorsFile, architecture: UpscalerArchitecture) {
        try ModelFiles.refusePickle(path)
        let file = try SafeTensorsFile(path: path)
        return (file, try UpscalerArchitecture.detect(file.entries.mapValues(\.shape)))
    }

    public init(path: String, backend: any Backend) throws {
        let (file, architecture) = try Self.open(path)
        self.architecture = architecture
        let w = WeightLoader(backend: backend) { name, shape in
            guard file.entries[name] != nil else { throw UpscalerError.file(path: path, reason: "no tensor \(name), which a \(shape) layer needs") }
            let value = try file.tensor(name)
            guard value.shape == shape else { throw UpscalerError.file(path: path, reason: "\(name) is \(value.shape), the architecture needs \(shape)") }
            return value
        }
        switch architecture {
        case let .rrdb(shape): network = .rrdb(try RRDBNet(w, shape))
        case let .compact(shape): network = .compact(try CompactUpscaler(w, shape))
        }
        self.path = path
        self.backend = backend
    }

    /// `image` ([1, C, H, W], values in [0, 1]) enlarged `scale` times, clamped to [0, 1]; in
    /// `tiles` (input pixels, overlapping and blended) when larger, so memory stays bounded.
    public func upscale(_ image: Tensor, tiles: UpscalerTiling = .standard) throws -> Tensor {
        guard image.shape.count == 4, image.shape[0] == 1, image.shape[1] == inChannels, image.shape[2] > 0, image.shape[3] > 0 else {
            throw NeuralError.shapeMismatch("an upscaler takes one image [1, \(inChannels), h, w], not \(image.shape)")
        }
        let input = try backend.adopting(image)
        let multiple = unshuffleFactor
        guard input.shape[2] % multiple == 0, input.shape[3] % multiple == 0 else {
            throw NeuralError.shapeMismatch("this x\(scale) model's sides must be multiples of \(multiple), not \(input.shape[2])×\(input.shape[3])")
        }
        let tiling = tiles.vaeTiling(multiple: multiple)
        let whole = max(input.shape[2], input.shape[3]) <= tiles.wholeUpTo
        let output = whole ? try forward(input)
            : try tiling.apply(input, inputScale: multiple, outputScale: multiple * scale) { try forward($0) }
        return try backend.clamp(output, min: 0, max: 1)
    }

    var inChannels: Int {
        switch architecture {
        case let .rrdb(s): return s.inChannels
        case let .compact(s): return s.inChannels
        }
    }

    /// Sides must divide by the pixel-unshuffle factor (Real-ESRGAN x2: 2, x1: 4).
    var unshuffleFactor: Int {
        if case let .rrdb(s) = architecture { return s.unshuffle }
        return 1
    }

    /// The network's output for `x` ([N, C, H, W]) as PyTorch's forward gives it: whole, not clamped.
    public func forward(_ x: Tensor) throws -> Tensor {
        switch network {
        case let .rrdb(net): return try net(x)
        case let .compact(net): return try net(x)
        }
    }
}

/// Tiles for learned upscaling, in input pixels: images up to `wholeUpTo` are run whole; larger
/// ones in `size`-pixel tiles overlapping by `overlap`. A quarter of the overlap at each tile edge
/// is dropped (what the network computed from the tile's zero padding), and the tiles are blended
/// with linear ramps over the middle half (VAETiling's).
public struct UpscalerTiling: Sendable, Equatable {
    public var size: Int, overlap: Int, wholeUpTo: Int

    public init(size: Int, overlap: Int, wholeUpTo: Int) {
        (self.size, self.overlap, self.wholeUpTo) = (size, overlap, wholeUpTo)
    }

    /// 256-px tiles overlapping by 64.
    public static let standard = UpscalerTiling(size: 256, overlap: 64, wholeUpTo: 256)

    /// As VAETiling's grid: units of `multiple` pixels.
    func vaeTiling(multiple: Int) -> VAETiling {
        let overlap = max(0, self.overlap / multiple)
        return VAETiling(tileSize: max(1, size / multiple), overlap: overlap, wholeUpTo: wholeUpTo / multiple, margin: overlap / 4)
    }
}
