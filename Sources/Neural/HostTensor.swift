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
}
