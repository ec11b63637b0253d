/// A review that cannot be made: the output, image or edit is not one Stockwerk can review.
public struct ReviewError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var hint: String
    public init(_ message: String, hint: String) {
        self.message = message
        self.hint = hint
    }
    public var description: String { "error: \(message)\nhint: \(hint)" }
}
