import Foundation

/// Reads the human-readable description ('desc' tag) from an ICC profile.
enum ICCProfile {
    static func description(of profile: Data) -> String? {
        let bytes = [UInt8](profile)
        guard bytes.count >= 132 else { return nil }
        func u32(_ offset: Int) -> Int? {
            guard offset >= 0, offset + 4 <= bytes.count else { return nil }
            return Int(bytes[offset]) << 24 | Int(bytes[offset + 1]) << 16 | Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
        }
        guard let count = u32(128), count < 1000 else { return nil }
        for index in 0..<count {
            let entry = 132 + index * 12
            guard let signature = u32(entry), let offset = u32(entry + 4), let size = u32(entry + 8) else { return nil }
            guard signature == 0x6465_7363, offset + size <= bytes.count, size >= 12 else { continue }  // 'desc'
            let type = String(bytes: bytes[offset..<offset + 4], encoding: .ascii)
            if type == "desc", let length = u32(offset + 8), offset + 12 + length <= bytes.count {
                // ICC v2 textDescriptionType: ASCII, NUL-terminated.
                let ascii = bytes[(offset + 12)..<(offset + 12 + length)].prefix { $0 != 0 }
                return String(decoding: ascii, as: UTF8.self)
            }
            if type == "mluc", let records = u32(offset + 8), records > 0,
               let length = u32(offset + 20), let start = u32(offset + 24),
               offset + start + length <= bytes.count {
                // ICC v4 multiLocalizedUnicodeType: first record, UTF-16BE.
                let utf16 = bytes[(offset + start)..<(offset + start + length)]
                return String(data: Data(utf16), encoding: .utf16BigEndian)
            }
        }
        return nil
    }
}
