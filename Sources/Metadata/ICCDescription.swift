import Foundation

/// Just enough of an ICC profile to tell whether it is sRGB, for EXIF ColorSpace.
enum ICCDescription {
    /// The APP2 payload after "ICC_PROFILE\0": sequence number, count, then the profile. The
    /// profile description (ASCII in v2 `desc`, UTF-16BE in v4 `mluc`) names sRGB profiles
    /// ("sRGB IEC61966-2.1", libvips' "sRGB built-in").
    static func isSRGB(_ payload: Data) -> Bool {
        let profile = [UInt8](payload.dropFirst(2))
        guard profile.count > 132 else { return false }
        let ascii: [UInt8] = Array("sRGB".utf8)
        let utf16: [UInt8] = ascii.flatMap { [UInt8(0), $0] }
        return contains(profile, ascii) || contains(profile, utf16)
    }

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard haystack.count >= needle.count else { return false }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if haystack[start..<(start + needle.count)].elementsEqual(needle) { return true }
        }
        return false
    }
}
