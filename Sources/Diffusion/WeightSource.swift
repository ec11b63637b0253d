import Foundation
import Neural

/// Model tensors by their diffusers name, wherever they are stored: a component file of a
/// diffusers folder (names as they are) or one part of a single-file checkpoint (renamed).
protocol WeightSource: Sendable {
    /// The file, for error messages.
    var path: String { get }
    /// The tensor's shape, or nil when the source does not have it.
    func shape(of name: String) -> [Int]?
    /// The tensor as float32.
    func tensor(_ name: String) throws -> Tensor
}

extension WeightSource {
    /// A tensor that must have `shape`; a missing tensor or a mismatch names the tensor, the file
    /// and both shapes.
    func tensor(_ name: String, shape: [Int], configName: String) throws -> Tensor {
        guard let actual = self.shape(of: name) else {
            throw DiffusionError.modelFiles(path: path, reason: "tensor \(name) is missing (the file does not match \(configName))")
        }
        guard actual == shape else {
            throw DiffusionError.modelFiles(path: path, reason: "tensor \(name) is \(actual), \(configName) needs \(shape)")
        }
        return try tensor(name)
    }

    /// Every listed tensor as float32, checking every name and shape before reading any (a
    /// truncated or foreign file fails at once, naming the tensor).
    func tensors(_ wanted: [(name: String, shape: [Int])], configName: String) throws -> [String: Tensor] {
        for (name, shape) in wanted {
            guard let actual = self.shape(of: name) else {
                throw DiffusionError.modelFiles(path: path, reason: "tensor \(name) is missing (the file does not match \(configName))")
            }
            guard actual == shape else {
                throw DiffusionError.modelFiles(path: path, reason: "tensor \(name) is \(actual), \(configName) needs \(shape)")
            }
        }
        var tensors: [String: Tensor] = [:]
        for (name, _) in wanted { tensors[name] = try tensor(name) }
        return tensors
    }
}

extension SafeTensorsFile: WeightSource {
    func shape(of name: String) -> [Int]? { entries[name]?.shape }
}
