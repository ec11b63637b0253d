import Foundation
import Neural

/// One model of a single-file checkpoint (UNet, VAE or text encoder), seen by diffusers names.
struct CheckpointPart: WeightSource {
    let file: SafeTensorsFile
    let locate: @Sendable (String) -> CheckpointLocation?

    var path: String { file.path }

    func shape(of name: String) -> [Int]? {
        guard let location = locate(name), let entry = file.entries[location.key] else { return nil }
        return Self.shape(entry.shape, at: location)
    }

    func tensor(_ name: String) throws -> HostTensor {
        guard let location = locate(name) else { throw NeuralError.missingTensor(file: path, tensor: name) }
        var tensor = try file.tensor(location.key)
        if let rows = location.rows {
            let width = tensor.shape.dropFirst().reduce(1, *)
            guard !tensor.shape.isEmpty, rows.upperBound <= tensor.shape[0] else { throw NeuralError.missingTensor(file: path, tensor: "\(location.key) rows \(rows)") }
            tensor = HostTensor(shape: [rows.count] + tensor.shape.dropFirst(), storage: Array(tensor.storage[rows.lowerBound * width..<rows.upperBound * width]))
        }
        let stored = tensor.shape
        tensor.shape = Self.shape(stored, at: location)
        if location.transpose, stored.count == 2 {
            let (rows, columns) = (stored[0], stored[1])
            var swapped = [Float](repeating: 0, count: tensor.count)
            for r in 0..<rows { for c in 0..<columns { swapped[c * rows + r] = tensor.storage[r * columns + c] } }
            tensor.storage = swapped
        }
        return tensor
    }

    private static func shape(_ stored: [Int], at location: CheckpointLocation) -> [Int] {
        var shape = stored
        if let rows = location.rows, !shape.isEmpty { shape[0] = rows.count }
        while location.squeeze, shape.count > 2, shape.last == 1 { shape.removeLast() }
        if location.transpose, shape.count == 2 { shape.reverse() }
        return shape
    }
}
