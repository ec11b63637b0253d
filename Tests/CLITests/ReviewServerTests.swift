import Foundation
import TestSupport
import Testing

/// `stockwerk review`, started as users start it, driven over HTTP (curl): who may use it (only
/// this machine, only with the token, changes only from the page itself, no file outside
/// OUTPUT/images), and what a review does: decisions and edits reach the image, `stockwerk package`
/// and later runs.
@Suite(.serialized) struct ReviewServerTests {
    let binary = TestSupport.stockwerkBinary

    /// A running review server and how to talk to it.
    final class Server {
        let process = Process()
        let address: URL
        let token: String
        let formToken: String
        var port: Int { address.port ?? 0 }

        init(binary: String, output: String) throws {
            let out = Pipe()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = ["review", output, "--presets", TestSupport.presetsFolder]
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            try process.run()
            var text = ""
            while !text.contains("\n") {
                let chunk = out.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                text += String(decoding: chunk, as: UTF8.self)
            }
            guard let line = text.split(separator: "\n").first, let range = line.range(of: "http://"),
                  let url = URL(string: String(line[range.lowerBound...])) else {
                process.terminate()
                throw ReviewTestError("the server printed no address: \(text)")
            }
            address = url
            token = URLComponents(url: url, resolvingAgainstBaseURL: false)?.queryItems?.first { $0.name == "token" }?.value ?? ""
            // The page carries the form token the script sends back.
            let page = try Self.curl(["http://127.0.0.1:\(url.port ?? 0)/?token=\(token)"]).body
            formToken = page.components(separatedBy: "formToken = \"").dropFirst().first.map { String($0.prefix { $0 != "\"" }) } ?? ""
        }

        deinit { process.terminate(); process.waitUntilExit() }

        /// An HTTP request by curl: status and body.
        static func curl(_ arguments: [String]) throws -> (status: Int, body: String) {
            let result = try TestSupport.run("curl", ["-s", "-w", "\n%{http_code}"] + arguments)
            let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            return (Int(lines.last ?? "") ?? (result.status == 7 ? -7 : -1), lines.dropLast().joined(separator: "\n"))
        }

        /// A change as the page sends it.
        func post(_ path: String, _ json: String, extra: [String] = []) throws -> (status: Int, body: String) {
            try Self.curl(["-X", "POST", "http://127.0.0.1:\(port)\(path)?token=\(token)", "-H", "Content-Type: application/json",
                           "-H", "X-Stockwerk-Form: \(formToken)", "-H", "Origin: http://127.0.0.1:\(port)", "--data", json] + extra)
        }
    }

    struct ReviewTestError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// Three photos run for Shutterstock; returns the folder (workflow w.yaml, output out).
    func finishedRun(_ label: String, review: String = "") throws -> String {
        let folder = try TestSupport.temporaryFolder(label)
        try FileManager.default.createDirectory(atPath: folder + "/photos", withIntermediateDirectories: true)
        // Small sources (quick to make), finished to Shutterstock's 4 MP.
        for (index, size) in ["750x500", "500x750", "650x650"].enumerated() {
            let made = try TestSupport.run("convert", ["-size", size, "plasma:fractal", "-seed", "\(index + 1)", folder + "/photos/photo\(index + 1).jpg"])
            #expect(made.status == 0)
        }
        let yaml = """
            import: {files: "photos/*.jpg"}
            finish: {long_edge: 2600, max_enlargement: 4}
            metadata: {title: Plasma study, description: A fractal plasma texture., creator: Suite,
                       keywords: [plasma, texture, abstract, colour, background, fractal, pattern], categories: {shutterstock: [Abstract]}}
            agencies: [shutterstock]
            \(review)
            output: out
            """
        try yaml.write(toFile: folder + "/w.yaml", atomically: false, encoding: .utf8)
        let run = try TestSupport.run(binary, ["run", folder + "/w.yaml", "--presets", TestSupport.presetsFolder])
        #expect(run.status == 0, "\(run.stderr)")
        return folder
    }

    @Test func strangersAreRefused() throws {
        let folder = try finishedRun("review-security")
        let server = try Server(binary: binary, output: folder + "/out")
        let base = "http://127.0.0.1:\(server.port)"
        #expect(server.token.count == 48 && server.formToken.count == 48 && server.token != server.formToken)

        // The page with the token; nothing without it, or with another.
        let page = try Server.curl([base + "/?token=" + server.token])
        #expect(page.status == 200 && page.body.contains("photo1.jpg") && page.body.contains("Shutterstock"))
        #expect(try Server.curl([base + "/"]).status == 403)
        #expect(try Server.curl([base + "/?token=" + String(server.token.reversed())]).status == 403)
        #expect(try Server.curl([base + "/image/photo1.jpg"]).status == 403)

        // Images by name only: no path climbs out of OUTPUT/images.
        #expect(try Server.curl([base + "/image/photo1.jpg?token=" + server.token]).status == 200)
        for attack in ["/image/..%2F..%2F..%2F..%2Fetc%2Fpasswd", "/image/..%2Fcatalog.sqlite", "/crop/%2Fetc%2Fpasswd", "/../../../../etc/passwd",
                       "/image/../../w.yaml", "/suggest/..%2F..%2Fw.yaml"] {
            let answer = try Server.curl(["--path-as-is", base + attack + "?token=" + server.token])
            #expect(answer.status == 404 && !answer.body.contains("root:") && !answer.body.contains("import:"), "\(attack): \(answer.status)")
        }

        // A cross-site form POST, a script without the page's form token, another Host: refused.
        let forged = try Server.curl(["-X", "POST", base + "/decide?token=" + server.token, "-H", "Origin: http://evil.example",
                                      "-H", "Content-Type: application/x-www-form-urlencoded", "--data", "image=photo1.jpg&decision=rejected"])
        #expect(forged.status == 403)
        #expect(try server.post("/decide", #"{"image":"photo1.jpg","decision":"rejected"}"#, extra: ["-H", "Origin: http://evil.example"]).status == 403)
        #expect(try server.post("/decide", #"{"image":"photo1.jpg","decision":"rejected"}"#, extra: ["-H", "Sec-Fetch-Site: cross-site"]).status == 403)
        let noFormToken = try Server.curl(["-X", "POST", base + "/decide?token=" + server.token, "-H", "Content-Type: application/json",
                                           "--data", #"{"image":"photo1.jpg","decision":"rejected"}"#])
        #expect(noFormToken.status == 403)
        #expect(try Server.curl(["-H", "Host: evil.example:\(server.port)", base + "/?token=" + server.token]).status == 403)
        #expect(try server.post("/decide", #"{"image":"../photo1.jpg","decision":"rejected"}"#).status == 404)
        let sqlite = try TestSupport.run("sqlite3", [folder + "/out/catalog.sqlite", "SELECT count(*) FROM review_decisions"])
        #expect(sqlite.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "a refused request changed nothing")

        // Listening on the loopback address only: the kernel's table of listening TCP sockets.
        let table = try String(contentsOfFile: "/proc/net/tcp", encoding: .utf8)
        var listening: [String] = []  // local address:port of each socket in state 0A (LISTEN)
        for line in table.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ")
            if fields.count > 3, fields[3] == "0A" { listening.append(String(fields[1])) }
        }
        let port = String(format: "%04X", server.port)
        #expect(listening.filter { $0.hasSuffix(":" + port) } == ["0100007F:" + port], "\(listening)")
        #expect(!(try String(contentsOfFile: "/proc/net/tcp6", encoding: .utf8)).contains(":" + port + " 00000000000000000000000000000000:0000 0A"))
        // A second server on the same port: a clear error, exit 2.
        let taken = try TestSupport.run("timeout", ["20", binary, "review", folder + "/out", "--port", "\(server.port)", "--presets", TestSupport.presetsFolder])
        #expect(taken.status == 2 && taken.stderr.contains("cannot listen on 127.0.0.1:\(server.port)") && taken.stderr.contains("hint:"), "\(taken.status): \(taken.stderr)")

        // An image changed by hand since the run is shown with why it cannot be reviewed, and left alone.
        let handEdited = folder + "/out/images/photo3.jpg"
        #expect(try TestSupport.run("exiftool", ["-q", "-overwrite_original", "-XMP-dc:Title=By hand", handEdited]).status == 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: handEdited))
        let shown = try Server.curl([base + "/?token=" + server.token]).body
        #expect(shown.contains("Cannot be reviewed: ") && shown.contains("has changed since the run wrote it") && shown.contains("data-image=\"photo1.jpg\""))
        let refused = try server.post("/decide", #"{"image":"photo3.jpg","decision":"approved"}"#)
        #expect(refused.status == 409 && refused.body.contains("has changed since the run wrote it"), "\(refused)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: handEdited)) == before)

        // And from another address of this machine, when it has one, nobody answers.
        let addresses = (try? TestSupport.run("hostname", ["-I"]).stdout.split(separator: " ").map(String.init).filter { $0.contains(".") && !$0.hasPrefix("127.") }) ?? []
        for address in addresses {
            let answer = try Server.curl(["--max-time", "5", "http://\(address):\(server.port)/?token=" + server.token])
            #expect(answer.status <= 0, "\(address) answered \(answer.status)")
        }
    }

    @Test func decisionsAndEditsReachTheImagePackagesAndReruns() throws {
        let folder = try finishedRun("review-flow", review: "review: required")
        // `review: required`: the run stops before packaging and says how to review.
        let waiting = try TestSupport.run(binary, ["run", folder + "/w.yaml", "--presets", TestSupport.presetsFolder])
        #expect(waiting.stdout.contains("stockwerk review") && !FileManager.default.fileExists(atPath: folder + "/out/packages/shutterstock"),
                "\(waiting.stdout)")

        let server = try Server(binary: binary, output: folder + "/out")
        #expect(try server.post("/decide", #"{"image":"photo1.jpg","decision":"rejected"}"#).status == 200)
        let edited = try server.post("/edit", #"{"image":"photo2.jpg","edits":{"title":"Violet plasma cloud","keywords":["violet","cloud","plasma","texture","abstract","fractal","pattern"],"categories":{"shutterstock":"Nature"}}}"#)
        #expect(edited.status == 200 && edited.body.contains("Violet plasma cloud") && edited.body.contains("\"verdicts\""), "\(edited.body)")
        for image in ["photo2.jpg", "photo3.jpg"] { #expect(try server.post("/decide", #"{"image":"\#(image)","decision":"approved"}"#).status == 200) }
        // The edit is in the image at once.
        let tags = try TestSupport.exiftool(folder + "/out/images/photo2.jpg")
        #expect(tags["XMP-dc:Title"] as? String == "Violet plasma cloud")
        #expect(TestSupport.list(tags["XMP-dc:Subject"])?.prefix(3) == ["violet", "cloud", "plasma"] && TestSupport.list(tags["IPTC:Keywords"])?.count == 7)

        // `stockwerk package`: exactly the approved images, with the edits.
        let packaged = try TestSupport.run(binary, ["package", folder + "/out", "--agency", "shutterstock", "--presets", TestSupport.presetsFolder])
        #expect(packaged.status == 1, "photo1 is refused: \(packaged.stdout) \(packaged.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder + "/out/packages/shutterstock").filter { $0.hasSuffix(".jpg") }.sorted()
        #expect(files == ["photo2.jpg", "photo3.jpg"])
        #expect(try TestSupport.exiftool(folder + "/out/packages/shutterstock/photo2.jpg")["XMP-dc:Title"] as? String == "Violet plasma cloud")
        let csv = try String(contentsOfFile: folder + "/out/packages/shutterstock/shutterstock.csv", encoding: .utf8)
        #expect(csv.contains("violet,cloud,plasma,texture") && !csv.contains("photo1.jpg"), "\(csv)")
        // The edited category reaches the CSV; the other image keeps the workflow's.
        let rows = csv.split(separator: "\n")
        #expect(rows.first { $0.hasPrefix("photo2.jpg") }?.contains("Nature") == true && rows.first { $0.hasPrefix("photo3.jpg") }?.contains("Abstract") == true, "\(csv)")

        // A rerun keeps the edit and the decisions; it makes nothing again but the check of the edited file.
        let rerun = try TestSupport.run(binary, ["run", folder + "/w.yaml", "--presets", TestSupport.presetsFolder, "--json"])
        #expect(rerun.stderr.components(separatedBy: "\"status\":\"done\"").count == 2 && rerun.stderr.contains("photo2\",\"note\":\"accepted everywhere\""),
                "\(rerun.stderr)")
        #expect(try TestSupport.exiftool(folder + "/out/images/photo2.jpg")["XMP-dc:Title"] as? String == "Violet plasma cloud")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder + "/out/packages/shutterstock").filter { $0.hasSuffix(".jpg") }.sorted() == files)

        // New inputs (another description for every image): the reviews no longer apply, and the run says so.
        try (try String(contentsOfFile: folder + "/w.yaml", encoding: .utf8)).replacingOccurrences(of: "A fractal plasma texture.", with: "A plasma texture.")
            .write(toFile: folder + "/w.yaml", atomically: false, encoding: .utf8)
        let changed = try TestSupport.run(binary, ["run", folder + "/w.yaml", "--presets", TestSupport.presetsFolder])
        #expect(changed.stdout.contains("review it again") || changed.stderr.contains("review it again"), "\(changed.stdout)")
        #expect(try TestSupport.exiftool(folder + "/out/images/photo2.jpg")["XMP-dc:Title"] as? String == "Plasma study")
    }
}
