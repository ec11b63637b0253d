import AtomicFiles
import Foundation

/// Writes safetensors files (fixtures, debug dumps such as final latents).
public enum SafeTensorsWriter {
    public enum StoredType: Sendable { case f32, f16 }

    public static func serialize(_ tensors: [(name: String, tensor: HostTensor)], as type: StoredType = .f32,
                                 metadata: [String: String] = [:]) throws -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var body = Data()
        for (name, tensor) in tensors.sorted(by: { $0.name < $1.name }) {
            let begin = body.count
            switch type {
            case .f32:
                for value in tensor.storage { withUnsafeBytes(of: value.bitPattern.littleEndian) { body.append(contentsOf: $0) } }
            case .f16:
                for value in tensor.storage { withUnsafeBytes(of: HalfFloat.fromFloat(value).littleEndian) { body.append(contentsOf: $0) } }
            }
            header[name] = ["dtype": type == .f32 ? "F32" : "F16", "shape": tensor.shape, "data_offsets": [begin, body.count]] as [String: Any]
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        // The data section starts 8-byte aligned, as the reference writer does it.
        while (json.count + 8) % 8 != 0 { json.append(0x20) }
        var output = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { output.append(contentsOf: $0) }
        output.append(json)
        output.append(body)
        return output
    }

    public static func write(_ tensors: [(name: String, tensor: HostTensor)], to path: String, as type: StoredType = .f32,
                             metadata: [String: String] = [:]) throws {
        try AtomicFile.write(try serialize(tensors, as: type, metadata: metadata), to: path)
    }
}
