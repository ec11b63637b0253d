import Foundation

public enum MetadataError: Error, CustomStringConvertible, Equatable {
    case notJPEG(path: String)
    case malformedJPEG(path: String, reason: String)
    case malformedSegment(kind: String, reason: String)
    case exifFailed(reason: String)
    case segmentTooLarge(kind: String, bytes: Int)
    case cannotRead(path: String, reason: String)
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case let .notJPEG(path): return "\(path) is not a JPEG file (no SOI marker)"
        case let .malformedJPEG(path, reason): return "\(path) is a damaged JPEG: \(reason)"
        case let .malformedSegment(kind, reason): return "malformed \(kind) block: \(reason)"
        case let .exifFailed(reason): return "EXIF could not be written: \(reason)"
        case let .segmentTooLarge(kind, bytes): return "\(kind) block of \(bytes) bytes does not fit in one JPEG segment (65,533 bytes)"
        case let .cannotRead(path, reason): return "cannot read \(path): \(reason)"
        case let .cannotWrite(path, reason): return "cannot write \(path): \(reason)"
        }
    }

    public var hint: String {
        switch self {
        case .notJPEG: return "metadata is written into JPEG files; run the finish stage first"
        case .malformedJPEG, .malformedSegment: return "re-save the file with an image editor, then try again"
        case .exifFailed: return "the existing EXIF block may be damaged; strip it with `exiftool -exif:all= FILE`"
        case .segmentTooLarge: return "shorten the description or keywords"
        case .cannotRead: return "check the path and permissions"
        case .cannotWrite: return "check the folder's permissions and free space; the original file is unchanged"
        }
    }
}
