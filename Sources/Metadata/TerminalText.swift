/// Text from files (titles, keywords, sidecar lines) made safe to print: control characters
/// (ESC sequences that move the cursor or retitle the terminal, BEL, CR that overwrites a line)
/// are shown as escapes such as `\u{1B}` instead of being acted on.
public enum TerminalText {
    public static func escaped(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar.properties.generalCategory {
            case .control, .format where scalar.value == 0x202E || scalar.value == 0x202D:  // and bidi overrides that reorder a line
                result += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            default:
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}
