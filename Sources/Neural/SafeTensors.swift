import Foundation

/// Element types of the safetensors format and their sizes in bytes.
public enum SafeTensorsDType: String, Sendable, CaseIterable {
    case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
    case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8", u8 = "U8", bool = "BOOL"
    case u16 = "U16", u32 = "U32", u64 = "U64", f8e4m3 = "F8_E4M3", f8e5m2 = "F8_E5M2"

    public var byteSize: Int {
        switch self {
        case .f64, .i64, .u64: return 8
        case .f32, .i32, .u32: return 4
        case .f16, .bf16, .i16, .u16: return 2
        case .i8, .u8, .bool, .f8e4m3, .f8e5m2: return 1
        }
    }
}

/// A safetensors file, memory-mapped. The header is validated completely when the file is opened
/// (length bound, JSON, dtypes, shapes × dtype size = byte spans, spans inside the file and not
/// overlapping), so reading a tensor afterwards can never go out of bounds.
public final class SafeTensorsFile: @unchecked Sendable {
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var dtype: SafeTensorsDType
        public var shape: [Int]
        /// Byte range inside the data section.
        public var span: Range<Int>
    }

    /// The safetensors reference implementation refuses headers above 100 MB.
    public static let maxHeaderBytes = 100_000_000

    public let path: String
    public let entries: [String: Entry]
    public let metadata: [String: String]
    private let file: MappedFile
    private let dataStart: Int

    public var names: [String] { entries.keys.sorted() }

    public init(path: String) throws {
        self.path = path
        file = try MappedFile(path: path)
        func invalid(_ reason: String, _ tensor: String? = nil) -> NeuralError {
            .invalidSafetensors(file: path, tensor: tensor, reason: reason)
        }
        guard file.size >= 8 else { throw invalid("the file is \(file.size) bytes, shorter than the 8-byte header length") }
        let lengthBytes = file.bytes(0..<8)
        var headerLength: UInt64 = 0
        for index in (0..<8).reversed() { headerLength = headerLength << 8 | UInt64(lengthBytes[index]) }
        guard headerLength <= UInt64(Self.maxHeaderBytes) else { throw invalid("the header claims \(headerLength) bytes, more than the 100 MB limit") }
        guard 8 + Int(headerLength) <= file.size else {
            throw invalid("the header claims \(headerLength) bytes but the file has only \(file.size - 8) after the length")
        }
        dataStart = 8 + Int(headerLength)
        let dataSize = file.size - dataStart
        let headerData = Data(file.bytes(8..<dataStart))
        guard let json = try? JSONSerialization.jsonObject(with: headerData), let header = json as? [String: Any] else {
            throw invalid("the header is not a JSON object")
        }

        var entries: [String: Entry] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                guard let map = value as? [String: Any] else { throw invalid("__metadata__ is not an object") }
                for (key, item) in map {
                    guard let text = item as? String else { throw invalid("__metadata__ value for \"\(key)\" is not text") }
                    metadata[key] = text
                }
                continue
            }
            guard let info = value as? [String: Any] else { throw invalid("the entry is not an object", name) }
            guard let dtypeName = info["dtype"] as? String else { throw invalid("dtype is missing", name) }
            guard let dtype = SafeTensorsDType(rawValue: dtypeName) else { throw invalid("unknown dtype \"\(dtypeName)\"", name) }
            guard let shapeValues = info["shape"] as? [Any] else { throw invalid("shape is missing", name) }
            var shape: [Int] = []
            var elements = 1
            for dimension in shapeValues {
                guard let number = dimension as? NSNumber, number.doubleValue == number.doubleValue.rounded(),
                      number.doubleValue >= 0, number.doubleValue <= Double(Int32.max) else {
                    throw invalid("shape \(shapeValues) has a dimension that is not a non-negative integer", name)
                }
                let size = number.intValue
                let (product, overflow) = elements.multipliedReportingOverflow(by: size)
                guard !overflow else { throw invalid("shape \(shapeValues) overflows", name) }
                elements = product
                shape.append(size)
            }
            guard let offsets = info["data_offsets"] as? [Any], offsets.count == 2,
                  let begin = (offsets[0] as? NSNumber)?.int64Value, let end = (offsets[1] as? NSNumber)?.int64Value else {
                throw invalid("data_offsets must be two integers", name)
            }
            guard begin >= 0, begin <= end else { throw invalid("data_offsets [\(begin), \(end)] are reversed or negative", name) }
            guard end <= Int64(dataSize) else {
                throw invalid("data_offsets end \(end) is past the end of the data (\(dataSize) bytes); the file may be truncated", name)
            }
            let (bytes, overflow) = elements.multipliedReportingOverflow(by: dtype.byteSize)
            guard !overflow, Int64(bytes) == end - begin else {
                throw invalid("shape \(shape) of \(dtype.rawValue) needs \(overflow ? "too many" : String(bytes)) bytes but data_offsets span \(end - begin)", name)
            }
            entries[name] = Entry(name: name, dtype: dtype, shape: shape, span: Int(begin)..<Int(end))
        }
        let sorted = entries.values.filter { !$0.span.isEmpty }.sorted { $0.span.lowerBound < $1.span.lowerBound }
        for (previous, next) in zip(sorted, sorted.dropFirst()) where next.span.lowerBound < previous.span.upperBound {
            throw invalid("its bytes overlap those of \"\(previous.name)\"", next.name)
        }
        self.entries = entries
        self.metadata = metadata
    }

    public func entry(_ name: String) throws -> Entry {
        guard let entry = entries[name] else { throw NeuralError.missingTensor(file: path, tensor: name) }
        return entry
    }

    /// Reads a tensor as Float32, converting F16 and BF16.
    public func tensor(_ name: String) throws -> HostTensor {
        let entry = try entry(name)
        let raw = file.bytes((dataStart + entry.span.lowerBound)..<(dataStart + entry.span.upperBound))
        let count = entry.shape.reduce(1, *)
        var values = [Float](repeating: 0, count: count)
        values.withUnsafeMutableBufferPointer { out in
            nonisolated(unsafe) let out = out, raw = raw
            // Large tensors are converted on every core (model load is mostly this conversion).
            let chunk = 1 << 20, chunks = (count + chunk - 1) / chunk
            DispatchQueue.concurrentPerform(iterations: max(1, chunks)) { part in
                let range = (part * chunk)..<min(count, (part + 1) * chunk)
                switch entry.dtype {
                case .f32:
                    for i in range { out[i] = Float(bitPattern: raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self).littleEndian) }
                case .f16:
                    for i in range { out[i] = HalfFloat.toFloat(raw.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self).littleEndian) }
                case .bf16:
                    for i in range { out[i] = Float(bitPattern: UInt32(raw.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self).littleEndian) << 16) }
                case .f64:
                    for i in range { out[i] = Float(Double(bitPattern: raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self).littleEndian)) }
                default:
                    break
                }
            }
        }
        guard [.f32, .f16, .bf16, .f64].contains(entry.dtype) else {
            throw NeuralError.unsupportedDType(file: path, tensor: name, dtype: entry.dtype.rawValue)
        }
        file.release((dataStart + entry.span.lowerBound)..<(dataStart + entry.span.upperBound))
        return HostTensor(shape: entry.shape, storage: values)
    }
}

/// IEEE 754 half precision to single precision, exact for every value (subnormals, inf, NaN).
public enum HalfFloat {
    public static func toFloat(_ bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32(bits >> 10) & 0x1F
        let mantissa = UInt32(bits & 0x3FF)
        if exponent == 0 {
            // Zero or subnormal: value = mantissa × 2^-24.
            let magnitude = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
            return sign != 0 ? -magnitude : magnitude
        }
        if exponent == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }

    /// Round-to-nearest-even conversion (for fixtures and debug dumps).
    public static func fromFloat(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16((bits >> 16) & 0x8000)
        let exponent = Int((bits >> 23) & 0xFF)
        var mantissa = bits & 0x7F_FFFF
        if exponent == 0xFF { return sign | 0x7C00 | (mantissa != 0 ? 0x200 : 0) }
        let halfExponent = exponent - 127 + 15
        if halfExponent >= 0x1F { return sign | 0x7C00 }
        if halfExponent <= 0 {
            if halfExponent < -10 { return sign }
            mantissa |= 0x80_0000
            let shift = UInt32(14 - halfExponent)
            var half = mantissa >> shift
            let remainder = mantissa & ((1 << shift) - 1), halfway = UInt32(1) << (shift - 1)
            if remainder > halfway || (remainder == halfway && half & 1 == 1) { half += 1 }
            return sign | UInt16(half)
        }
        var half = UInt32(halfExponent) << 10 | (mantissa >> 13)
        let remainder = mantissa & 0x1FFF
        if remainder > 0x1000 || (remainder == 0x1000 && half & 1 == 1) { half += 1 }  // may carry into the exponent: correct
        return sign | UInt16(half)
    }
}

extension SafeTensorsFile {
    /// How many values the .safetensors file at `path`, or all of them in the folder at `path`
    /// (at any depth), hold: read from their headers only. 0 for what cannot be read.
    public static func elementCount(under path: String) -> Int {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else { return 0 }
        let files = isFolder.boolValue
            ? (FileManager.default.enumerator(atPath: path)?.compactMap { $0 as? String }.filter { $0.hasSuffix(".safetensors") }.map { path + "/" + $0 } ?? [])
            : [path]
        return files.reduce(0) { total, file in
            total + ((try? SafeTensorsFile(path: file))?.entries.values.reduce(0) { $0 + $1.shape.reduce(1, *) } ?? 0)
        }
    }
}
