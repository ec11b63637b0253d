/// Where a model's layers get their weights at load: a tensor by name and expected shape (the
/// model decides how names map to a file and how a mismatch is reported), and the backend the
/// layers prepare them for. Nothing reads weights after load.
public struct WeightLoader: Sendable {
    public let backend: any Backend
    private let read: @Sendable (String, [Int]) throws -> HostTensor

    public init(backend: any Backend, read: @escaping @Sendable (_ name: String, _ shape: [Int]) throws -> HostTensor) {
        self.backend = backend
        self.read = read
    }

    /// The tensor `name`, which must have `shape`, in ordinary memory.
    public func host(_ name: String, _ shape: [Int]) throws -> HostTensor {
        let value = try read(name, shape)
        guard value.shape == shape else { throw NeuralError.shapeMismatch("\(name) is \(value.shape), the model needs \(shape)") }
        return value
    }

    /// The tensor `name`, which must have `shape`, on the backend.
    public func tensor(_ name: String, _ shape: [Int]) throws -> Tensor { backend.tensor(try host(name, shape)) }
}
