import CZlib
import Foundation

/// zlib inflate with a ceiling on the output, for data from outside (gzip'd vocabularies,
/// compressed PNG text): a "zip bomb" stops at `limit` bytes instead of filling memory.
public enum Inflate {
    public enum Format: Sendable {
        case zlib, gzip
        var windowBits: Int32 { self == .gzip ? 15 + 16 : 15 }
    }

    public enum Failure: Error, CustomStringConvertible, Sendable {
        case tooLarge(limit: Int)
        case incomplete(status: Int32)
        case cannotStart

        public var description: String {
            switch self {
            case .tooLarge(let limit): return "inflates to more than \(limit >> 20) MB"
            case .incomplete(let status): return "is not complete compressed data (zlib status \(status))"
            case .cannotStart: return "could not be inflated (zlib did not start)"
            }
        }
    }

    public static func decompress(_ input: [UInt8], format: Format, limit: Int = Int.max) throws -> [UInt8] {
        var stream = z_stream()
        guard inflateInit2_(&stream, format.windowBits, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { throw Failure.cannotStart }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var source = input
        var tooLarge = false
        let status: Int32 = source.withUnsafeMutableBufferPointer { buffer in
            stream.next_in = buffer.baseAddress
            stream.avail_in = uInt(buffer.count)
            var result: Int32 = Z_OK
            repeat {
                result = chunk.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress
                    stream.avail_out = uInt(out.count)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                output.append(contentsOf: chunk[0..<(chunk.count - Int(stream.avail_out))])
                if output.count > limit { tooLarge = true; break }
            } while result == Z_OK
            return result
        }
        if tooLarge { throw Failure.tooLarge(limit: limit) }
        guard status == Z_STREAM_END else { throw Failure.incomplete(status: status) }
        return output
    }
}
