import Neural

/// `--precision auto|fp32|bf16`.
enum PrecisionOption {
    static func parse(_ text: String) throws -> Precision {
        guard let precision = Precision(rawValue: text.lowercased()) else {
            throw BadOption("--precision '\(text)' is not auto, fp32 or bf16")
        }
        return precision
    }
}
