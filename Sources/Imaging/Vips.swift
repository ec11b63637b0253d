import CVips
import Foundation

/// Errors from image processing. Each says what failed and for which file.
public enum ImagingError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(path: String, reason: String)
    case operationFailed(operation: String, path: String, reason: String)
    case enlargementTooLarge(path: String, factor: Double, limit: Double, source: String, target: String)
    case invalidSettings(String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason):
            return "cannot read image \(path): \(reason)"
        case let .operationFailed(operation, path, reason):
            return "\(operation) failed for \(path): \(reason)"
        case let .enlargementTooLarge(path, factor, limit, source, target):
            return String(format: "%@ would be enlarged %.2f× (%@ → %@), more than the allowed %.2f×", path, factor, source, target, limit)
        case let .invalidSettings(message):
            return message
        }
    }

    public var hint: String {
        switch self {
        case .cannotOpen: return "check that the file exists and is a JPEG, PNG, TIFF or WebP image"
        case .operationFailed: return "the file may be damaged; try opening and re-saving it"
        case .enlargementTooLarge:
            return "use a larger source, lower finish.long_edge / finish.megapixels, or raise finish.max_enlargement"
        case .invalidSettings: return "see docs/workflow.md, section finish"
        }
    }
}

/// Starts libvips once per process, before any image work.
enum Vips {
    private static let started: Bool = {
        sw_vips_start("stockwerk") == 0
    }()

    static func ensureStarted() throws {
        guard started else {
            throw ImagingError.operationFailed(operation: "starting libvips", path: "-", reason: lastError())
        }
    }

    /// Takes and clears the libvips error buffer (it is global to the process).
    static func lastError() -> String {
        let text = String(cString: sw_vips_error_text()).trimmingCharacters(in: .whitespacesAndNewlines)
        sw_vips_error_reset()
        return text.isEmpty ? "unknown libvips error" : text
    }
}

/// Owns one reference to a VipsImage and releases it when dropped.
final class VipsImageRef {
    let pointer: UnsafeMutablePointer<VipsImage>

    init(_ pointer: UnsafeMutablePointer<VipsImage>) { self.pointer = pointer }
    deinit { sw_unref(pointer) }

    var width: Int { Int(sw_width(pointer)) }
    var height: Int { Int(sw_height(pointer)) }

    static func open(_ path: String, sequential: Bool) throws -> VipsImageRef {
        try Vips.ensureStarted()
        guard let image = sw_open(path, sequential ? 1 : 0) else {
            throw ImagingError.cannotOpen(path: path, reason: Vips.lastError())
        }
        return VipsImageRef(image)
    }

    /// Runs one shim operation that produces a new image.
    func apply(_ operation: String, path: String,
               _ body: (UnsafeMutablePointer<VipsImage>, UnsafeMutablePointer<UnsafeMutablePointer<VipsImage>?>) -> Int32) throws -> VipsImageRef {
        var output: UnsafeMutablePointer<VipsImage>?
        guard body(pointer, &output) == 0, let result = output else {
            throw ImagingError.operationFailed(operation: operation, path: path, reason: Vips.lastError())
        }
        return VipsImageRef(result)
    }
}
