import Foundation

/// Just enough of an ICC profile to tell whether it is sRGB, for EXIF ColorSpace.
enum ICCDescription {
    /// The APP2 payload after "ICC_PROFILE\0": sequence number, count, then the profile. The
    /// profile description (ASCII in v2 `desc`, UTF-16BE in v4 `mluc`) names sRGB profiles
    /// ("sRGB IEC61966-2.1", libvips' "sRGB built-in").
    static func isSRGB(_ payload: Data) -> Bool {
        let profile = payload.dropFirst(2)
        guard profile.count > 132 else { return false }
        let ascii = Data("sRGB".utf8), utf16 = Data("sRGB".utf16.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] })
        return profile.range(of: ascii) != nil || profile.range(of: utf16) != nil
    }
}
