import CZlib
import Foundation

/// gzip decompression through zlib (for the CLIP merges file).
enum Gzip {
    struct Failure: Error, CustomStringConvertible {
        let reason: String
        var description: String { "gzip: \(reason)" }
    }

    static func decompress(_ data: Data) throws -> Data {
        var stream = z_stream()
        // 15 window bits + 16: expect a gzip header.
        guard inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw Failure(reason: "zlib could not start")
        }
        defer { inflateEnd(&stream) }
        var output = Data()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var input = [UInt8](data)
        let status: Int32 = input.withUnsafeMutableBufferPointer { source in
            stream.next_in = source.baseAddress
            stream.avail_in = uInt(source.count)
            var result: Int32 = Z_OK
            repeat {
                result = chunk.withUnsafeMutableBufferPointer { buffer in
                    stream.next_out = buffer.baseAddress
                    stream.avail_out = uInt(buffer.count)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                output.append(contentsOf: chunk[0..<(chunk.count - Int(stream.avail_out))])
            } while result == Z_OK
            return result
        }
        guard status == Z_STREAM_END else { throw Failure(reason: "the data is not complete gzip (zlib status \(status))") }
        return output
    }
}
