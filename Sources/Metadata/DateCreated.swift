import Foundation

/// The date (and optional time and zone) a picture was made, in the three forms the standards
/// want: ISO 8601 for XMP, CCYYMMDD + HHMMSS±HHMM for IIM 2:55/2:60, and EXIF's
/// "YYYY:MM:DD HH:MM:SS" for DateTimeOriginal (which has no zone and needs a time).
struct DateCreated: Equatable {
    var year, month, day: Int
    var time: (hour: Int, minute: Int, second: Int)?
    /// Minutes east of UTC, when the value names a zone.
    var zoneMinutes: Int?

    /// Reads `YYYY-MM-DD`, `YYYY-MM-DDThh:mm`, `…:ss`, each optionally followed by `Z` or `±hh:mm`.
    init?(_ text: String) {
        let pattern = #"^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$"#
        guard let regex = try? NSRegularExpression(pattern: pattern),
              let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) else { return nil }
        func group(_ index: Int) -> String? {
            Range(match.range(at: index), in: text).map { String(text[$0]) }
        }
        guard let year = group(1).flatMap(Int.init), let month = group(2).flatMap(Int.init), let day = group(3).flatMap(Int.init),
              (1...12).contains(month), (1...Self.days(inMonth: month, of: year)).contains(day) else { return nil }
        self.year = year; self.month = month; self.day = day
        if let hour = group(4).flatMap(Int.init), let minute = group(5).flatMap(Int.init) {
            let second = group(6).flatMap(Int.init) ?? 0
            guard hour < 24, minute < 60, second < 61 else { return nil }
            time = (hour, minute, second)
        }
        if let zone = group(7) {
            if zone == "Z" { zoneMinutes = 0 } else {
                let digits = zone.dropFirst().replacingOccurrences(of: ":", with: "")
                guard let hours = Int(digits.prefix(2)), let minutes = Int(digits.suffix(2)) else { return nil }
                zoneMinutes = (zone.hasPrefix("-") ? -1 : 1) * (hours * 60 + minutes)
            }
        }
    }

    /// Days in a month of the proleptic Gregorian calendar (so 2026-02-30 is no date).
    static func days(inMonth month: Int, of year: Int) -> Int {
        switch month {
        case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    static func == (a: DateCreated, b: DateCreated) -> Bool {
        a.year == b.year && a.month == b.month && a.day == b.day && a.time?.hour == b.time?.hour
            && a.time?.minute == b.time?.minute && a.time?.second == b.time?.second && a.zoneMinutes == b.zoneMinutes
    }

    var iimDate: String { String(format: "%04d%02d%02d", year, month, day) }

    var iimTime: String? {
        guard let time else { return nil }
        let zone = zoneMinutes ?? 0
        return String(format: "%02d%02d%02d%@%02d%02d", time.hour, time.minute, time.second, zone < 0 ? "-" : "+", abs(zone) / 60, abs(zone) % 60)
    }

    /// EXIF DateTimeOriginal: a date alone becomes midnight.
    var exif: String {
        let t = time ?? (0, 0, 0)
        return String(format: "%04d:%02d:%02d %02d:%02d:%02d", year, month, day, t.hour, t.minute, t.second)
    }

    /// From IIM 2:55 (CCYYMMDD) and optional 2:60 (HHMMSS±HHMM).
    init?(iimDate: String, iimTime: String?) {
        guard iimDate.count == 8, let year = Int(iimDate.prefix(4)), let month = Int(iimDate.dropFirst(4).prefix(2)),
              let day = Int(iimDate.suffix(2)) else { return nil }
        var text = String(format: "%04d-%02d-%02d", year, month, day)
        if let time = iimTime, time.count >= 6 {
            let digits = Array(time)
            text += "T\(String(digits[0..<2])):\(String(digits[2..<4])):\(String(digits[4..<6]))"
            if digits.count == 11 { text += "\(digits[6])\(String(digits[7..<9])):\(String(digits[9..<11]))" }
        }
        self.init(text)
    }

    /// ISO 8601 as XMP writes it.
    var iso: String {
        var text = String(format: "%04d-%02d-%02d", year, month, day)
        if let time {
            text += String(format: "T%02d:%02d:%02d", time.hour, time.minute, time.second)
            if let zone = zoneMinutes {
                text += zone == 0 ? "Z" : String(format: "%@%02d:%02d", zone < 0 ? "-" : "+", abs(zone) / 60, abs(zone) % 60)
            }
        }
        return text
    }
}
