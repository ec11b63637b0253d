import Foundation

/// Errors from the numeric runtime: bad weight files, shape mismatches.
public enum NeuralError: Error, CustomStringConvertible, Equatable {
    /// A safetensors file that is not well-formed; `tensor` is nil for header-level problems.
    case invalidSafetensors(file: String, tensor: String?, reason: String)
    case unsupportedDType(file: String, tensor: String, dtype: String)
    case missingTensor(file: String, tensor: String)
    case cannotOpen(file: String, reason: String)
    case shapeMismatch(String)
    /// A precision this backend or CPU cannot run.
    case unsupportedPrecision(String)

    public var description: String {
        switch self {
        case let .invalidSafetensors(file, tensor, reason):
            return "invalid safetensors file \(file)" + (tensor.map { ", tensor \"\($0)\"" } ?? "") + ": \(reason)"
        case let .unsupportedDType(file, tensor, dtype):
            return "tensor \"\(tensor)\" in \(file) has dtype \(dtype), which cannot be read as float"
        case let .missingTensor(file, tensor): return "tensor \"\(tensor)\" is not in \(file)"
        case let .cannotOpen(file, reason): return "cannot open \(file): \(reason)"
        case let .shapeMismatch(message): return "shape mismatch: \(message)"
        case let .unsupportedPrecision(message): return message
        }
    }

    public var hint: String {
        switch self {
        case .invalidSafetensors: return "the file is damaged or not a safetensors file; download or convert it again"
        case .unsupportedDType: return "weights must be F32, F16 or BF16"
        case .missingTensor: return "the file does not match the expected model layout"
        case .cannotOpen: return "check the path and permissions"
        case .shapeMismatch: return "this is a bug in Stockwerk; please report it"
        case .unsupportedPrecision: return "use --precision fp32 (or auto, which picks what this CPU runs fastest)"
        }
    }
}
