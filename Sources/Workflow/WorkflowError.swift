import Foundation

/// One problem in a workflow file, with where it is and how to fix it.
public struct WorkflowIssue: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var file: String
    public var line: Int
    public var column: Int
    public var hint: String

    public init(_ message: String, file: String, line: Int, column: Int, hint: String) {
        self.message = message; self.file = file; self.line = line; self.column = column; self.hint = hint
    }

    public var location: String { "\(file):\(line):\(column)" }
    public var description: String { "error: \(message) (\(location))\nhint: \(hint)" }
}

/// Bad input: the workflow (every problem found, not just the first) or a file it names.
public struct WorkflowValidationError: Error, Sendable, CustomStringConvertible {
    public var issues: [WorkflowIssue]
    public var description: String { issues.map(\.description).joined(separator: "\n") }
}

/// A failure while running (not the user's input): a stage that could not finish.
public struct StageFailure: Error, Sendable, CustomStringConvertible {
    public var job: String
    public var stage: String
    public var message: String
    public var hint: String
    public var description: String { "error: \(stage) failed for \(job): \(message)\nhint: \(hint)" }
}

/// Another run holds the output folder.
public struct OutputBusyError: Error, Sendable, CustomStringConvertible {
    public var output: String
    public var description: String {
        "error: another stockwerk run is using the output folder (\(output))\nhint: wait for it to finish, or set a different `output:` in the workflow"
    }
}
