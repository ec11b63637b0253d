/// The element types a backend can hold.
public enum DType: String, Sendable, CaseIterable {
    case f32, bf16, f16

    public var byteSize: Int { self == .f32 ? 4 : 2 }
}

/// Memory a backend owns. Only its backend reads or writes it; everyone else holds it through a
/// `Tensor` and asks the backend (`Backend.host`) for the values.
public protocol TensorBuffer: AnyObject, Sendable {
    var backend: any Backend { get }
}

/// A tensor: a shape, an element type and memory owned by a backend. Tensors are values: every op
/// returns a new one, so a tensor never changes under whoever holds it. Models compute on tensors
/// only through `backend`; they never see the memory.
public struct Tensor: Sendable {
    public let shape: [Int]
    public let dtype: DType
    public let buffer: any TensorBuffer

    /// Backends make tensors; nobody else needs to.
    public init(shape: [Int], dtype: DType, buffer: any TensorBuffer) {
        self.shape = shape
        self.dtype = dtype
        self.buffer = buffer
    }

    public var backend: any Backend { buffer.backend }
    public var count: Int { shape.reduce(1, *) }

    /// The same values with another shape of the same size (no copy: tensors are dense).
    public func reshaped(_ shape: [Int]) throws -> Tensor {
        guard shape.reduce(1, *) == count, shape.allSatisfy({ $0 >= 0 }) else {
            throw NeuralError.shapeMismatch("reshape \(self.shape) to \(shape)")
        }
        return Tensor(shape: shape, dtype: dtype, buffer: buffer)
    }

    /// Entry `index` along the first axis: [N, a, b…] → [a, b…], or [1, a, b…] with `keepingAxis`.
    public func item(_ index: Int, keepingAxis: Bool = false) throws -> Tensor {
        let slice = try backend.slice(self, axis: 0, range: index..<(index + 1))
        return keepingAxis ? slice : try slice.reshaped(Array(shape.dropFirst()))
    }

    /// The values as Float32 in ordinary memory (reading back from the backend).
    public func host() throws -> HostTensor { try backend.host(self) }
}
