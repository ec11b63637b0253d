import Foundation
import HTTPTypes
import Hummingbird

/// Who may use the review page: only this machine, only with the secret token in the URL (as
/// Jupyter does), and changes only from the page itself. Checked before any route runs:
/// - the Host header must name the loopback address and our port (no DNS rebinding);
/// - every request must carry `?token=` equal to the server's (compared in constant time);
/// - a POST must come from our own origin (Origin and Sec-Fetch-Site, when the browser sends them),
///   carry the page's form token in `X-Stockwerk-Form` (a cross-site form cannot set a header) and be JSON.
struct AccessGuard<Context: RequestContext>: RouterMiddleware {
    let token: String
    let formToken: String
    let port: @Sendable () -> Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let port = port()
        let host = request.head.authority ?? ""
        guard ["127.0.0.1:\(port)", "localhost:\(port)"].contains(host) else {
            throw HTTPError(.forbidden, message: "this review server answers only on 127.0.0.1:\(port)")
        }
        guard let given = request.uri.queryParameters["token"].map(String.init), Self.same(given, token) else {
            throw HTTPError(.forbidden, message: "missing or wrong token: open the address `stockwerk review` printed")
        }
        if request.method == .post {
            let origins = ["http://127.0.0.1:\(port)", "http://localhost:\(port)"]
            if let origin = request.headers[.origin], !origins.contains(origin) {
                throw HTTPError(.forbidden, message: "cross-site request refused")
            }
            if let site = request.headers[HTTPField.Name("Sec-Fetch-Site")!], site != "same-origin" {
                throw HTTPError(.forbidden, message: "cross-site request refused")
            }
            guard let form = request.headers[HTTPField.Name("X-Stockwerk-Form")!], Self.same(form, formToken) else {
                throw HTTPError(.forbidden, message: "missing or wrong form token: reload the review page")
            }
            guard request.headers[.contentType]?.hasPrefix("application/json") == true else {
                throw HTTPError(.unsupportedMediaType, message: "send JSON")
            }
        }
        return try await next(request, context)
    }

    /// Equal strings, compared in time that does not depend on where they differ.
    static func same(_ a: String, _ b: String) -> Bool {
        let (x, y) = (Array(a.utf8), Array(b.utf8))
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
