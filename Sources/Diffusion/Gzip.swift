import Foundation
import Inflate

/// gzip decompression through zlib (for the CLIP merges file).
enum Gzip {
    struct Failure: Error, CustomStringConvertible {
        let reason: String
        var description: String { "gzip: \(reason)" }
    }

    static func decompress(_ data: Data) throws -> Data {
        do { return Data(try Inflate.decompress([UInt8](data), format: .gzip)) } catch {
            throw Failure(reason: "the data \(error)")
        }
    }
}
