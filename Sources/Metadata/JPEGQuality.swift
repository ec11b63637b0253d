import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Estimates the IJG (libjpeg) quality setting a JPEG was saved with, from its luminance
/// quantisation table: the quality whose scaled standard table is closest to the file's.
/// Exact for files written by libjpeg, libvips, ImageMagick, Photoshop's "baseline" libjpeg mode
/// and most cameras' in-camera encoders approximate it; agencies state minimums in these terms.
public enum JPEGQuality {
    /// The standard luminance table (JPEG Annex K), in zigzag order as DQT stores it.
    static let standardLuminance: [Int] = {
        let natural = [16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
                       14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
                       49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99]
        let zigzag = [0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
                      35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63]
        return zigzag.map { natural[$0] }
    }()

    /// The table libjpeg writes for `quality` (1…100, baseline: values clamped to 1…255).
    static func table(quality: Int) -> [Int] {
        let scale = quality < 50 ? 5000 / quality : 200 - 2 * quality
        return standardLuminance.map { min(255, max(1, ($0 * scale + 50) / 100)) }
    }

    /// The quality estimate from a DQT segment payload, or nil when it has no 64-entry table 0.
    public static func estimate(dqt payload: Data) -> Int? {
        let bytes = [UInt8](payload)
        var offset = 0
        while offset < bytes.count {
            let precision = bytes[offset] >> 4, id = bytes[offset] & 0x0F
            let size = precision == 0 ? 64 : 128
            guard offset + 1 + size <= bytes.count else { return nil }
            if id == 0 {
                let values = (0..<64).map { i in
                    precision == 0 ? Int(bytes[offset + 1 + i]) : Int(bytes[offset + 1 + 2 * i]) << 8 | Int(bytes[offset + 2 + 2 * i])
                }
                return (1...100).min { distance(values, table(quality: $0)) < distance(values, table(quality: $1)) }
            }
            offset += 1 + size
        }
        return nil
    }

    /// The estimate for a JPEG file (its DQT segments; the image data is not read).
    public static func estimate(path: String) throws -> Int? {
        let (jpeg, fd, _) = try JPEGFile.header(of: path)
        close(fd)
        for segment in jpeg.segments where segment.marker == 0xDB {
            if let quality = estimate(dqt: segment.payload) { return quality }
        }
        return nil
    }

    private static func distance(_ a: [Int], _ b: [Int]) -> Int { zip(a, b).reduce(0) { $0 + abs($1.0 - $1.1) } }
}
