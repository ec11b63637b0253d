import Foundation
import Imaging
import TestSupport
import Testing

/// The review page in a real browser (Debian's chromium, driven through chromium-driver's
/// WebDriver protocol): reject one image with the keyboard, edit another's title and keywords in
/// its form, approve the rest; then `stockwerk package` holds exactly the approved files with the
/// edited metadata (ExifTool reads it), and the rejected one is in no package. Screenshots of the
/// page must not be blank.
@Suite(.serialized) struct ReviewBrowserTests {
    /// A headless chromium session through chromedriver on a loopback port.
    final class Browser {
        let driver = Process()
        let base: String
        var session = ""

        init() throws {
            guard FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver"), FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium") else {
                throw BrowserError("chromium and chromium-driver are not installed: run Tools/install-deps.sh")
            }
            let port = Int.random(in: 20_000...40_000)
            base = "http://127.0.0.1:\(port)"
            driver.executableURL = URL(fileURLWithPath: "/usr/bin/chromedriver")
            driver.arguments = ["--port=\(port)"]
            driver.standardOutput = FileHandle.nullDevice
            driver.standardError = FileHandle.nullDevice
            try driver.run()
            try Self.waitFor(seconds: 20) { (try? Self.request("GET", self.base + "/status"))?["value"].flatMap { ($0 as? [String: Any])?["ready"] as? Bool } == true }
            let options: [String: Any] = ["binary": "/usr/bin/chromium",
                                          "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000"]]
            let created = try Self.request("POST", base + "/session", ["capabilities": ["alwaysMatch": ["goog:chromeOptions": options]]])
            guard let value = created["value"] as? [String: Any], let id = value["sessionId"] as? String else {
                throw BrowserError("no browser session: \(created)")
            }
            session = id
        }

        deinit {
            if !session.isEmpty { _ = try? Self.request("DELETE", base + "/session/" + session) }
            kill(driver.processIdentifier, SIGKILL)  // chromedriver does not always stop on SIGTERM
            driver.waitUntilExit()
        }

        @discardableResult
        func command(_ method: String, _ path: String, _ body: [String: Any] = [:]) throws -> Any? {
            let answer = try Self.request(method, base + "/session/" + session + path, body)
            if let value = answer["value"] as? [String: Any], let error = value["error"] as? String {
                throw BrowserError("\(path): \(error): \(value["message"] ?? "")")
            }
            return answer["value"]
        }

        func open(_ url: String) throws { try command("POST", "/url", ["url": url]) }
        func run(_ script: String) throws -> Any? { try command("POST", "/execute/sync", ["script": script, "args": []]) }

        func element(_ css: String) throws -> String {
            let found = try command("POST", "/element", ["using": "css selector", "value": css]) as? [String: Any]
            guard let id = found?.values.first as? String else { throw BrowserError("no element \(css)") }
            return id
        }

        func type(_ text: String, into css: String) throws {
            let id = try element(css)
            try command("POST", "/element/\(id)/clear")
            try command("POST", "/element/\(id)/value", ["text": text])
        }

        func click(_ css: String) throws { try command("POST", "/element/\(try element(css))/click") }

        /// Key presses as a person makes them (keydown, keyup), to whatever has the focus.
        func press(_ keys: [String]) throws {
            let actions = keys.flatMap { [["type": "keyDown", "value": $0], ["type": "keyUp", "value": $0]] }
            try command("POST", "/actions", ["actions": [["type": "key", "id": "keyboard", "actions": actions]]])
        }

        func screenshot() throws -> Data {
            guard let text = try command("GET", "/screenshot") as? String, let data = Data(base64Encoded: text) else { throw BrowserError("no screenshot") }
            return data
        }

        static func request(_ method: String, _ url: String, _ body: [String: Any]? = nil) throws -> [String: Any] {
            var arguments = ["-s", "-X", method, url, "-H", "Content-Type: application/json"]
            if let body, method != "GET" { arguments += ["--data", String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)] }
            let result = try TestSupport.run("curl", arguments)
            return (try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8))) as? [String: Any] ?? [:]
        }

        static func waitFor(seconds: Double, _ condition: () throws -> Bool) throws {
            let end = Date().addingTimeInterval(seconds)
            while Date() < end {
                if (try? condition()) == true { return }
                usleep(100_000)
            }
            throw BrowserError("timed out after \(seconds) s")
        }
    }

    struct BrowserError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// A screenshot with something on it: many colours, not one flat page.
    func expectNotBlank(_ png: Data, _ label: String) throws {
        let path = try TestSupport.temporaryFolder("review-screenshot") + "/\(label).png"
        try png.write(to: URL(fileURLWithPath: path))
        // To look at them: STOCKWERK_SCREENSHOTS=/some/folder swift test --filter ReviewBrowserTests
        if let keep = ProcessInfo.processInfo.environment["STOCKWERK_SCREENSHOTS"] { try? png.write(to: URL(fileURLWithPath: keep + "/review-\(label).png")) }
        let image = try RGBImage.read(path)
        let values = image.pixels.map(Double.init)
        let mean = values.reduce(0, +) / Double(values.count)
        let spread = (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)).squareRoot()
        #expect(image.width >= 800 && spread > 20, "\(label): \(image.width)x\(image.height), spread \(spread)")
        var colours = Set<Int>()
        for index in stride(from: 0, to: image.pixels.count - 2, by: 3 * 97) {
            colours.insert(Int(image.pixels[index]) << 16 | Int(image.pixels[index + 1]) << 8 | Int(image.pixels[index + 2]))
        }
        #expect(colours.count > 50, "\(label): \(colours.count) colours")
    }

    @Test func reviewedInABrowserThenPackaged() throws {
        let binary = TestSupport.stockwerkBinary
        let folder = try ReviewServerTests().finishedRun("review-browser", review: "review: required")
        let server = try ReviewServerTests.Server(binary: binary, output: folder + "/out")
        let browser = try Browser()
        try browser.open(server.address.absoluteString)
        try Browser.waitFor(seconds: 30) { try browser.run("return document.querySelectorAll('.card').length") as? Int == 3 }
        try expectNotBlank(try browser.screenshot(), "opened")

        // The first image is selected: X rejects it.
        try browser.press(["x"])
        try Browser.waitFor(seconds: 15) {
            try browser.run("return document.querySelector('section[data-image=\"photo1.jpg\"]').classList.contains('rejected')") as? Bool == true
        }
        // The second image's title and keywords, edited in its form and saved (the page reloads on it).
        try browser.type("Violet plasma cloud", into: "section[data-image=\"photo2.jpg\"] input[name=\"title\"]")
        try browser.type("violet, cloud, plasma, texture, abstract, fractal, pattern", into: "section[data-image=\"photo2.jpg\"] textarea[name=\"keywords\"]")
        try browser.click("section[data-image=\"photo2.jpg\"] button[type=\"submit\"]")
        try Browser.waitFor(seconds: 30) {
            try browser.run("""
                const title = document.querySelector('section[data-image="photo2.jpg"] input[name="title"]');
                return document.readyState === 'complete' && title.value === 'Violet plasma cloud' && title.defaultValue === 'Violet plasma cloud'
                """) as? Bool == true
        }
        // Selected again after the reload: P approves it, → and P the last one.
        try browser.press(["p", "\u{E014}", "p"])
        try Browser.waitFor(seconds: 15) { try browser.run("return document.querySelectorAll('.card.approved').length") as? Int == 2 }
        #expect(try browser.run("return document.getElementById('counts').textContent") as? String == "2 approved, 1 rejected, 0 undecided")
        try expectNotBlank(try browser.screenshot(), "reviewed")

        let packaged = try TestSupport.run(binary, ["package", folder + "/out", "--agency", "shutterstock", "--presets", TestSupport.presetsFolder])
        #expect(packaged.status == 1, "the rejected image is refused: \(packaged.stdout) \(packaged.stderr)")
        let package = folder + "/out/packages/shutterstock"
        #expect(try FileManager.default.contentsOfDirectory(atPath: package).filter { $0.hasSuffix(".jpg") }.sorted() == ["photo2.jpg", "photo3.jpg"])
        let tags = try TestSupport.exiftool(package + "/photo2.jpg")
        #expect(tags["XMP-dc:Title"] as? String == "Violet plasma cloud" && tags["IPTC:ObjectName"] as? String == "Violet plasma cloud")
        #expect(TestSupport.list(tags["XMP-dc:Subject"]) == ["violet", "cloud", "plasma", "texture", "abstract", "fractal", "pattern"])
        #expect(try TestSupport.exiftool(package + "/photo3.jpg")["XMP-dc:Title"] as? String == "Plasma study")
    }
}
