/// Text from files (titles, keywords, sidecar lines) made safe to print: control characters
/// (ESC sequences that move the cursor or retitle the terminal, BEL, CR that overwrites a line)
/// are shown as escapes such as `\u{1B}` instead of being acted on.
public enum TerminalText {
    public static func escaped(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            // Control characters, and the bidi controls that reorder a line ("Trojan Source").
            if scalar.properties.generalCategory == .control || scalar.properties.isBidiControl {
                result += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}
