/// A dense, row-major Float32 tensor in ordinary memory: what weight files, the random generator
/// and fixtures give, and what a backend takes in (`Backend.tensor`) and gives back (`Backend.host`).
/// Models compute only on `Tensor`s, through their backend.
public struct HostTensor: Sendable, Equatable {
    public var shape: [Int]
    public var storage: [Float]

    public init(shape: [Int], storage: [Float]) {
        precondition(shape.reduce(1, *) == storage.count, "shape \(shape) does not hold \(storage.count) values")
        self.shape = shape
        self.storage = storage
    }

    public init(zeros shape: [Int]) {
        self.init(shape: shape, storage: [Float](repeating: 0, count: shape.reduce(1, *)))
    }

    public var count: Int { storage.count }
}

extension HostTensor {
    /// Entry `index` along the first axis: [N, a, b…] → [a, b…], or [1, a, b…] with `keepingAxis`.
    public func item(_ index: Int, keepingAxis: Bool = false) -> HostTensor {
        let size = count / shape[0]
        let rest = Array(shape.dropFirst())
        return HostTensor(shape: keepingAxis ? [1] + rest : rest, storage: Array(storage[(index * size)..<((index + 1) * size)]))
    }

    /// Rows `ids` of a [rows, width] table (a token embedding), in order.
    public func embedding(_ ids: [Int]) throws -> HostTensor {
        guard shape.count == 2 else { throw NeuralError.shapeMismatch("embedding table \(shape)") }
        let width = shape[1]
        var out = HostTensor(zeros: [ids.count, width])
        for (row, id) in ids.enumerated() {
            guard id >= 0, id < shape[0] else { throw NeuralError.shapeMismatch("token id \(id) outside the table of \(shape[0])") }
            out.storage.replaceSubrange((row * width)..<((row + 1) * width), with: storage[(id * width)..<((id + 1) * width)])
        }
        return out
    }

    /// The same values with another shape of the same size.
    public func reshaped(_ shape: [Int]) throws -> HostTensor {
        guard shape.reduce(1, *) == count, shape.allSatisfy({ $0 >= 0 }) else { throw NeuralError.shapeMismatch("reshape \(self.shape) to \(shape)") }
        return HostTensor(shape: shape, storage: storage)
    }
}
