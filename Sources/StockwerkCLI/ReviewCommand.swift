import ArgumentParser
import Foundation
import Review
import Workflow

struct ReviewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "review",
        abstract: "Approve, reject and edit a run's finished images in a local web page before packaging.",
        discussion: """
            Serves OUTPUT's images on 127.0.0.1 only, behind a random token in the printed address. Keys: P approve, \
            X reject, U undecided, arrows previous/next; edits of title, description, keywords and categories are written \
            into the image at once and re-checked. Decisions and edits are kept in the catalog: `stockwerk package` and \
            later runs honour them. Stop with Ctrl-C. See docs/review.md.
            """)

    @Argument(help: "The output folder of a `stockwerk run`.") var output: String
    @Option(name: .long, help: "The port on 127.0.0.1 (default: a free one).") var port: Int = 0
    @Option(name: .long, help: "The presets folder (default: nearest presets/ above the workflow).") var presets: String?

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0…65535 (0: a free one)") }
    }

    func run() throws {
        let server: ReviewServer
        do { server = try ReviewServer(output: output, presetsFolder: presets) } catch { throw ErrorReporting.exit(for: error) }
        let finished = DispatchSemaphore(value: 0)
        let failure = ReviewFailure()
        let output = output
        Task {
            do {
                try await server.run(port: port) { address in
                    // Written at once (not buffered): scripts and tests read the address from it.
                    FileHandle.standardOutput.write(Data("Review \(output) at \(address)\nDecisions are saved as you make them; stop with Ctrl-C.\n".utf8))
                }
            } catch { failure.error = error }
            finished.signal()
        }
        finished.wait()
        if let error = failure.error { throw ErrorReporting.exit(for: error) }
    }
}

/// The server's error, handed from its task to the command.
private final class ReviewFailure: @unchecked Sendable {
    var error: Error?
}
