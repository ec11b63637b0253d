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
    func tensor(_ name: String) throws -> HostTensor
}

extension WeightSource {
    /// A tensor that must have `shape`; a missing tensor or a mismatch names the tensor, the file
    /// and both shapes.
    func tensor(_ name: String, shape: [Int], configName: String) throws -> HostTensor {
        guard let actual = self.shape(of: name) else {
            throw DiffusionError.modelFiles(path: path, reason: "tensor \(name) is missing (the file does not match \(configName))")
        }
        guard actual == shape else {
            throw DiffusionError.modelFiles(path: path, reason: "tensor \(name) is \(actual), \(configName) needs \(shape)")
        }
        return try tensor(name)
    }

    /// Checks every listed name and shape before anything is read (a truncated or foreign file
    /// fails at once, naming the tensor).
    func check(_ wanted: [(name: String, shape: [Int])], configName: String) throws {
        for (name, shape) in wanted {
            guard let actual = self.shape(of: name) else {
                throw DiffusionError.modelFiles(path: path, reason: "tensor \(name) is missing (the file does not match \(configName))")
            }
            guard actual == shape else {
                throw DiffusionError.modelFiles(path: path, reason: "tensor \(name) is \(actual), \(configName) needs \(shape)")
            }
        }
    }

    /// Layers read their weights from this source, `prefix` before every name.
    func loader(backend: any Backend, configName: String, prefix: String = "") -> WeightLoader {
        WeightLoader(backend: backend) { name, shape in try self.tensor(prefix + name, shape: shape, configName: configName) }
    }
}

extension SafeTensorsFile: WeightSource {
    func shape(of name: String) -> [Int]? { entries[name]?.shape }
}
