import CPUBackend
import Neural

/// Tests build and read tensors on the CPU backend by their values.
extension Tensor {
    public init(shape: [Int], storage: [Float]) { self = CPUBackend.shared.tensor(storage, shape: shape) }
    public init(zeros shape: [Int]) { self.init(shape: shape, storage: [Float](repeating: 0, count: shape.reduce(1, *))) }
    /// The values, read back from the backend (none for another backend's tensor, which then
    /// fails every comparison).
    public var storage: [Float] { (try? host().storage) ?? [] }
}

extension HostTensor {
    /// These values as a CPU tensor.
    public var onCPU: Tensor { CPUBackend.shared.tensor(self) }
}
