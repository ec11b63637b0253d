import Agencies
import Catalog
import Foundation
import HTTPTypes
import Hummingbird
import Imaging
import Workflow

/// `stockwerk review OUTPUT`: a local web page to approve, reject and edit the finished images
/// before packaging. It listens on 127.0.0.1 only, on a port of its own, behind a random token in
/// the URL (`AccessGuard`); images are served by name from OUTPUT/images only, never by path.
public final class ReviewServer: Sendable {
    let library: ReviewLibrary
    /// The secret every request carries in the URL.
    public let token: String
    /// The page's own token every change carries in a header.
    let formToken: String
    private let boundPort = LockedValue(0)

    public init(output: String, presetsFolder: String? = nil) throws {
        library = try ReviewLibrary(output: output, presetsFolder: presetsFolder)
        token = Self.randomToken()
        formToken = Self.randomToken()
    }

    /// Serves until the process is stopped (Ctrl-C); `ready` gets the page's address once listening.
    public func run(port: Int = 0, ready: @escaping @Sendable (String) -> Void) async throws {
        let router = Router()
        router.add(middleware: AccessGuard(token: token, formToken: formToken, port: { [boundPort] in boundPort.value }))
        router.get("/") { [self] _, _ in
            let page = ReviewPage.html(title: library.title, items: try library.items(), agencies: library.presets, token: token, formToken: formToken)
            return Self.response(Data(page.utf8), type: "text/html; charset=utf-8")
        }
        router.get("/image/:name") { [self] request, context in
            let path = try imagePath(context.parameters.get("name"))
            let size = request.uri.queryParameters["size"].flatMap { Int($0) }.map { min(max($0, 64), 2048) } ?? 800
            return Self.response(try Thumbnails.jpeg(path, size: size, quality: 85), type: "image/jpeg")
        }
        router.get("/crop/:name") { [self] _, context in
            let name = context.parameters.get("name") ?? ""
            let path = try imagePath(name)
            guard let region = try library.item(name).detail?.softest else { throw HTTPError(.notFound, message: "no detail figure for \(name)") }
            return Self.response(try ContactSheet.softestCrop(path, region), type: "image/jpeg")
        }
        router.get("/suggest/:name") { [self] _, context in
            let name = context.parameters.get("name") ?? ""
            _ = try imagePath(name)
            return try Self.answer { try Self.json(try library.suggestions(name)) }
        }
        router.post("/decide") { [self] request, context in
            let body = try await request.decode(as: DecisionRequest.self, context: context)
            _ = try imagePath(body.image)
            return try Self.answer { try Self.json(try library.decide(body.image, body.decision)) }
        }
        router.post("/edit") { [self] request, context in
            let body = try await request.decode(as: EditRequest.self, context: context)
            _ = try imagePath(body.image)
            return try Self.answer { try Self.json(try library.edit(body.image, body.edits)) }
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "stockwerk-review"),
                              onServerRunning: { [boundPort, token] channel in
                                  let port = channel.localAddress?.port ?? 0
                                  boundPort.value = port
                                  ready("http://127.0.0.1:\(port)/?token=\(token)")
                              })
        do {
            try await app.runService()
        } catch where boundPort.value == 0 {
            // It never listened: the port is taken or not ours to use.
            throw ReviewError("cannot listen on 127.0.0.1:\(port): \(error)", hint: "choose another --port, or leave it out to use a free one")
        }
    }

    struct DecisionRequest: Decodable {
        var image: String
        var decision: ReviewRecord.Decision?
    }

    struct EditRequest: Decodable {
        var image: String
        var edits: ReviewEdits
    }

    /// The image's path when `name` is one the page shows; otherwise 404, whatever the name says.
    private func imagePath(_ name: String?) throws -> String {
        guard let name, let path = library.path(of: name) else { throw HTTPError(.notFound, message: "no such image") }
        return path
    }

    /// What went wrong with a request, as a 409 with the message and hint the page shows.
    static func answer(_ body: () throws -> Response) throws -> Response {
        do { return try body() } catch let error as HTTPError { throw error } catch let error as ReviewError {
            throw HTTPError(.conflict, message: error.message + ". " + error.hint)
        } catch {
            throw HTTPError(.conflict, message: "\(error)")
        }
    }

    static func response(_ data: Data, type: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        headers[.cacheControl] = "no-store"
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        headers[HTTPField.Name("Content-Security-Policy")!] = "default-src 'self'; img-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; frame-ancestors 'none'"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func json<T: Encodable>(_ value: T) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return response(try encoder.encode(value), type: "application/json")
    }

    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<24).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }
}

/// A value shared between the server's threads.
final class LockedValue<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}
