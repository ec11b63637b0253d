import CSV
import Foundation
import TestSupport
import Testing

/// Issue 16's reproductions, each as a careless or hostile user would try it with `stockwerk run`,
/// `check`, `package` and `inspect`: the user's files stay as they were, nothing is written
/// outside the output folder, and every bad input is exit 2 (or one file's rejection) with its name.
@Suite struct FileSafetyTests {
    let binary = TestSupport.stockwerkBinary
    static let sample = TestSupport.sampleJPEG

    /// A folder with a workflow file and `photos` copies of the sample in `photosFolder`.
    func sandbox(_ label: String, workflow: String, photos: [String] = ["rocket.jpg"], in photosFolder: String = "photos") throws -> String {
        let folder = try TestSupport.temporaryFolder(label)
        try FileManager.default.createDirectory(atPath: folder + "/" + photosFolder, withIntermediateDirectories: true)
        for name in photos { try FileManager.default.copyItem(atPath: Self.sample, toPath: folder + "/" + photosFolder + "/" + name) }
        try Data(workflow.utf8).write(to: URL(fileURLWithPath: folder + "/w.yaml"))
        return folder
    }

    func run(_ folder: String, _ extra: [String] = [], environment: [String: String] = [:]) throws -> TestSupport.ProcessResult {
        try TestSupport.run(binary, ["run", folder + "/w.yaml", "--presets", TestSupport.presetsFolder] + extra, environment: environment)
    }

    static let finish = "finish: {long_edge: 1000}\n"

    // 2. A source inside the output folder is never replaced by the output.
    @Test func sourcesInsideTheOutputAreNeverOverwritten() throws {
        let folder = try sandbox("safety-src", workflow: "import: {files: \"s2/images/*.jpg\"}\noutput: s2\n" + Self.finish, in: "s2/images")
        let before = TestSupport.snapshot(of: folder)
        for extra in [[], ["--force"]] {
            let result = try run(folder, extra)
            #expect(result.status == 2 && result.stderr.contains("inside the output folder"), "\(extra): \(result.stderr)")
            #expect(TestSupport.snapshot(of: folder) == before)
        }
    }

    // 3. No writes outside: `/`, names that climb out, a foreign folder, agency names that are paths.
    @Test func nothingIsWrittenOutsideTheOutputFolder() throws {
        let rootRun = try sandbox("safety-root", workflow: "import: {files: \"photos/*.jpg\"}\noutput: /\n" + Self.finish)
        // The dry run first: should this ever regress, a real run would write into `/`.
        let result = try run(rootRun, ["--dry-run"])
        #expect(result.status == 2 && result.stderr.contains("root of the file system") && result.stderr.contains("w.yaml:2:9"), "\(result.stderr)")
        if result.status == 2 {
            let real = try run(rootRun)
            #expect(real.status == 2 && real.stderr.contains("root of the file system"), "\(real.stderr)")
        }

        for name in ["..", "../../x", "a/b"] {
            let folder = try sandbox("safety-name", workflow: "name: \"\(name)\"\nimport: {files: \"photos/*.jpg\"}\n" + Self.finish)
            let before = TestSupport.snapshot(of: folder)
            let result = try run(folder)
            #expect(result.status == 2 && result.stderr.contains("not a plain name"), "\(name): \(result.stderr)")
            #expect(TestSupport.snapshot(of: folder) == before)
        }

        // A folder that is not a Stockwerk output: refused, by the dry run too, unless --force.
        let foreign = try sandbox("safety-foreign", workflow: "import: {files: \"photos/*.jpg\"}\noutput: mine\nagencies: [adobe-stock]\n" + Self.finish)
        try FileManager.default.createDirectory(atPath: foreign + "/mine/packages/adobe-stock", withIntermediateDirectories: true)
        try Data("mine".utf8).write(to: URL(fileURLWithPath: foreign + "/mine/packages/adobe-stock/mine.txt"))
        try Data("{\"mine\": true}".utf8).write(to: URL(fileURLWithPath: foreign + "/mine/report.json"))
        let before = TestSupport.snapshot(of: foreign)
        let dry = try run(foreign, ["--dry-run"])
        #expect(dry.status == 2 && dry.stdout.contains("NOT a Stockwerk output") && dry.stdout.contains("images/rocket.jpg"), "\(dry.stdout)\n\(dry.stderr)")
        let refused = try run(foreign)
        #expect(refused.status == 2 && refused.stderr.contains("--force"), "\(refused.stderr)")
        #expect(TestSupport.snapshot(of: foreign) == before)
        let forced = try run(foreign, ["--force"])
        #expect(forced.status != 2, "\(forced.stderr)")
        #expect(FileManager.default.fileExists(atPath: foreign + "/mine/.stockwerk/output"))

        // An agency name is a name, not a path to a YAML file elsewhere.
        let outside = try TestSupport.temporaryFolder("safety-preset")
        let adobe = try String(contentsOfFile: TestSupport.presetsFolder + "/agencies/adobe-stock.yaml", encoding: .utf8)
        try Data(adobe.replacingOccurrences(of: "id: adobe-stock", with: "id: x").utf8).write(to: URL(fileURLWithPath: outside + "/x.yaml"))
        let traversal = "../../../../../../../../.." + outside + "/x"
        let agencies = try sandbox("safety-agency", workflow: "import: {files: \"photos/*.jpg\"}\nagencies: [\"\(traversal)\"]\n" + Self.finish)
        let loaded = try run(agencies, ["--dry-run"])
        #expect(loaded.status == 2 && loaded.stderr.contains("unknown agency"), "\(loaded.stderr)")
    }

    // Not in the issue's list, same family: links planted inside an output carry no write out of it.
    @Test func linksPlantedInsideTheOutputAreRefused() throws {
        let folder = try sandbox("safety-links", workflow: "import: {files: \"photos/*.jpg\"}\noutput: out\n" + Self.finish)
        #expect(try run(folder).status != 2)
        let elsewhere = try TestSupport.temporaryFolder("safety-links-target")
        for name in ["images", "catalog.sqlite"] {
            let path = folder + "/out/" + name
            let saved = path + ".saved"
            try FileManager.default.moveItem(atPath: path, toPath: saved)
            try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: elsewhere)
            let before = TestSupport.snapshot(of: elsewhere)
            let result = try run(folder)
            #expect(result.status == 2 && result.stderr.contains("symbolic link") && result.stderr.contains(name), "\(name): \(result.stderr)")
            #expect(TestSupport.snapshot(of: elsewhere) == before)
            try FileManager.default.removeItem(atPath: path)
            try FileManager.default.moveItem(atPath: saved, toPath: path)
        }
    }

    // 4. `**` does not import the run's own outputs on the next run.
    @Test func recursiveGlobsDoNotReimportOutputs() throws {
        let folder = try sandbox("safety-glob", workflow: "import: {files: \"shoot/**/*.jpg\"}\noutput: shoot/out\n" + Self.finish, in: "shoot/day1")
        for attempt in 1...3 {
            let result = try run(folder, ["--json"])
            #expect(result.status != 2, "\(result.stderr)")
            let summary = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
            #expect((summary?["images"] as? [Any])?.count == 1, "run \(attempt)")
        }
    }

    // 6. Formulas and control characters from titles and keywords never reach a CSV or the terminal raw.
    @Test func csvCellsAndTerminalOutputAreNeutralised() throws {
        let sidecar = """
            title: "=HYPERLINK(\\"http://evil.example\\",\\"click\\")"
            description: "\\a\\e[31mred\\r+cmd|' /C calc'!A0"
            keywords: ["@SUM(1+1)", "-2+3", "rocket", "launch", "sky", "=DDE(\\"cmd\\")"]

            """
        let folder = try sandbox("safety-csv", workflow: "import: {files: \"photos/*.jpg\"}\noutput: out\nagencies: [\(Self.allAgencies)]\n"
                                 + "finish: {long_edge: 3000}\n")
        try Data(sidecar.utf8).write(to: URL(fileURLWithPath: folder + "/photos/rocket.yaml"))
        let result = try run(folder)
        #expect(result.status != 2, "\(result.stderr)")
        let csvs = TestSupport.allFiles(under: folder + "/out/packages").filter { $0.hasSuffix(".csv") }
        #expect(csvs.count >= 5, "\(csvs)")
        for csv in csvs {
            let text = try String(contentsOfFile: folder + "/out/packages/" + csv, encoding: .utf8)
            #expect(!text.unicodeScalars.contains { $0.properties.generalCategory == .control && $0 != "\n" }, "\(csv) has control characters")
            let reader = try CSVReader(string: text, hasHeaderRow: true, delimiter: csv.contains("freepik") ? ";" : ",")
            while let row = reader.next() {
                for cell in row {
                    let first = cell.drop { $0 == " " }.first
                    #expect(first.map { !"=+-@".contains($0) } ?? true, "\(csv): cell \(cell) starts a formula")
                }
            }
        }
        // inspect shows the ESC and BEL as escapes, not as bytes the terminal acts on.
        let inspect = try TestSupport.run(binary, ["inspect", folder + "/out/images/rocket.jpg"])
        #expect(inspect.status == 0 && !inspect.stdout.contains("\u{1B}") && !inspect.stdout.contains("\u{07}") && inspect.stdout.contains("\\u{1B}"), "\(inspect.stdout)")
    }

    static let allAgencies = "adobe-stock, shutterstock, getty-images, alamy, dreamstime, 123rf, depositphotos, freepik, pond5, vecteezy"

    // 7 and 9. A damaged file is that file's rejection, named; the batch goes on.
    @Test func damagedFilesAreRejectedByNameAndTheBatchGoesOn() throws {
        let folder = try TestSupport.temporaryFolder("safety-damaged")
        let original = try Data(contentsOf: URL(fileURLWithPath: Self.sample))
        var files: [String: Data] = ["good.jpg": original, "truncated.jpg": original.prefix(original.count * 6 / 10)]
        for (name, segment) in BrokenMetadata.segments { files[name] = BrokenMetadata.inserting(segment, into: original) }
        for (name, data) in files { try data.write(to: URL(fileURLWithPath: folder + "/" + name)) }
        let names = files.keys.sorted()
        let check = try TestSupport.run(binary, ["check", "--json", "--agency", "adobe-stock", "--presets", TestSupport.presetsFolder] + names.map { folder + "/" + $0 })
        #expect(check.status == 1, "\(check.stderr)")
        let verdicts = try JSONSerialization.jsonObject(with: Data(check.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(verdicts.count == names.count)
        for verdict in verdicts {
            let file = verdict["file"] as? String ?? "", reasons = (verdict["reasons"] as? [[String: Any]] ?? []).compactMap { $0["message"] as? String }
            if file.hasSuffix("good.jpg") { continue }
            #expect(reasons.contains { $0.contains("damaged") || $0.contains("cannot be read") }, "\(file): \(reasons)")
        }
        // In a run, the good image is still finished; each bad one fails with its name.
        try Data("import: {files: \"*.jpg\"}\noutput: out\n\(Self.finish)".utf8).write(to: URL(fileURLWithPath: folder + "/w.yaml"))
        let run = try run(folder, ["--json"])
        #expect(run.status == 1, "\(run.stderr)")
        let images = (try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])?["images"] as? [[String: Any]] ?? []
        #expect(images.count == names.count)
        for image in images {
            let name = image["name"] as? String ?? ""
            if name == "good" { #expect(image["output"] != nil && image["failure"] == nil); continue }
            #expect((image["failure"] as? String)?.contains(name + ".jpg") == true, "\(image)")
        }
        // `tag` is all or nothing: the bad file is named and the good one is left as it was.
        let tag = try TestSupport.run(binary, ["tag", folder + "/good.jpg", folder + "/iptc-lengths-lie.jpg", "--title", "X"])
        #expect(tag.status == 2 && tag.stderr.contains("iptc-lengths-lie.jpg"), "\(tag.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: folder + "/good.jpg")) == original)
        let inspect = try TestSupport.run(binary, ["inspect", folder + "/xmp-invalid-utf8.jpg"])
        #expect(inspect.status == 2 && inspect.stderr.contains("xmp-invalid-utf8.jpg"), "\(inspect.stderr)")
    }

    // 8. A damaged catalog stops the run before it touches the packages.
    @Test func aDamagedCatalogKeepsTheGoodPackage() throws {
        let folder = try sandbox("safety-catalog", workflow: "import: {files: \"photos/*.jpg\"}\noutput: out\nagencies: [adobe-stock]\nmetadata: {title: Rocket launch at dawn, keywords: [rocket, launch, sky]}\nfinish: {long_edge: 3000}\n")
        let first = try run(folder)
        #expect(first.status == 0, "\(first.stderr)")
        let package = folder + "/out/packages/adobe-stock"
        let before = TestSupport.snapshot(of: package)
        #expect(before.keys.contains("adobe-stock.csv"))
        let drop = try TestSupport.run("python3", ["-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('DROP TABLE stage_results'); c.commit()", folder + "/out/catalog.sqlite"])
        #expect(drop.status == 0, "\(drop.stderr)")
        let second = try run(folder)
        #expect(second.status == 2 && second.stderr.contains("damaged") && second.stderr.contains("stage_results"), "\(second.stderr)")
        #expect(TestSupport.snapshot(of: package) == before)
    }

    // 10. FIFOs and devices named like images or models do not hang the tool.
    @Test func pipesAndDevicesAreNotRead() throws {
        let folder = try sandbox("safety-fifo", workflow: "import: {files: \"photos/*.jpg\"}\noutput: out\n" + Self.finish)
        #expect(mkfifo(folder + "/photos/pipe.jpg", 0o644) == 0)
        try FileManager.default.createSymbolicLink(atPath: folder + "/photos/zero.jpg", withDestinationPath: "/dev/zero")
        let result = try TestSupport.run("timeout", ["-s", "KILL", "60", binary, "run", folder + "/w.yaml", "--json"])
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stdout.contains("pipe.jpg") && result.stdout.contains("named pipe") && result.stdout.contains("zero.jpg") && result.stdout.contains("device"))
        #expect(mkfifo(folder + "/model.safetensors", 0o644) == 0)
        try Data("generate:\n  model: model.safetensors\n  prompts: [a cat]\noutput: out2\n".utf8).write(to: URL(fileURLWithPath: folder + "/m.yaml"))
        let model = try TestSupport.run("timeout", ["-s", "KILL", "60", binary, "run", folder + "/m.yaml", "--dry-run"])
        #expect(model.status == 2 && model.stderr.contains("named pipe"), "\(model.stderr)")
        let check = try TestSupport.run("timeout", ["-s", "KILL", "60", binary, "check", folder + "/photos/zero.jpg", "--agency", "adobe-stock"])
        #expect(check.status == 1 && check.stdout.contains("device"), "\(check.stdout)")
    }

    // 11. A sidecar linked to a secret is not read, and a sidecar's strange keys are not echoed.
    @Test func sidecarsDoNotLeakOtherFiles() throws {
        let folder = try sandbox("safety-sidecar", workflow: "import: {files: \"photos/*.jpg\"}\noutput: out\n" + Self.finish)
        let secret = folder + "/shadow"
        try Data("root:$6$secretsalt$hash:19000:0:99999:7:::\nbin:*:19000:0:99999:7:::\n".utf8).write(to: URL(fileURLWithPath: secret))
        try FileManager.default.createSymbolicLink(atPath: folder + "/photos/rocket.yaml", withDestinationPath: secret)
        var result = try run(folder, ["--dry-run"])
        #expect(result.status == 2 && result.stderr.contains("symbolic link") && !result.stderr.contains("secretsalt"), "\(result.stderr)")
        try FileManager.default.removeItem(atPath: folder + "/photos/rocket.yaml")
        try FileManager.default.copyItem(atPath: secret, toPath: folder + "/photos/rocket.yaml")
        result = try run(folder, ["--dry-run"])
        #expect(result.status == 2 && !result.stderr.contains("secretsalt") && !result.stderr.contains("root:"), "\(result.stderr)")
    }

    // 12. A prompt too long for the metadata is refused while planning, before generating.
    @Test func aHugePromptIsRefusedBeforeGenerating() throws {
        let model = TestSupport.repositoryRoot + "/Tests/Fixtures/pipelines/tiny-sd1"
        let prompt = String(repeating: "a red bicycle ", count: 8_000)
        let folder = try sandbox("safety-prompt", workflow: "generate:\n  model: \(model)\n  prompts: [\"\(prompt)\"]\n  size: 64x64\n  steps: 1\noutput: out\nfinish: {long_edge: 256}\n", photos: [])
        let result = try run(folder)
        #expect(result.status == 2 && result.stderr.contains("XMP") && result.stderr.contains("prompt") && result.stderr.contains("w.yaml:3:"), "\(result.stderr.prefix(600))")
        #expect(!FileManager.default.fileExists(atPath: folder + "/out"))
    }

    // 13. Bad input exits 2, never 3; a dry run writes nothing, not even the model-hash cache.
    @Test func badInputExitsTwo() throws {
        let folder = try sandbox("safety-exit", workflow: "import: {files: \"photos/*.jpg\"}\noutput: afile\n" + Self.finish)
        try Data("x".utf8).write(to: URL(fileURLWithPath: folder + "/afile"))
        var result = try run(folder)
        #expect(result.status == 2 && result.stderr.contains("not a folder"), "\(result.stderr)")
        result = try TestSupport.run(binary, ["package", "/", "--agency", "adobe-stock", "--presets", TestSupport.presetsFolder])
        #expect(result.status == 2 && result.stderr.contains("not the output folder"), "\(result.stderr)")
        try Data("import: []\n".utf8).write(to: URL(fileURLWithPath: folder + "/w.yaml"))
        result = try run(folder)
        #expect(result.status == 2 && result.stderr.contains("empty list"), "\(result.stderr)")
        try FileManager.default.copyItem(atPath: Self.sample, toPath: folder + "/d.jpg")
        result = try TestSupport.run(binary, ["tag", folder + "/d.jpg", "--date-created", "2026-02-30"])
        #expect(result.status == 2, "\(result.stderr)")
        result = try TestSupport.run(binary, ["run"])
        #expect(result.status == 2)

        let model = folder + "/model"
        try FileManager.default.copyItem(atPath: TestSupport.repositoryRoot + "/Tests/Fixtures/pipelines/tiny-sd1", toPath: model)
        try Data("generate:\n  model: model\n  prompts: [a cat]\n  seed: 18446744073709551615\n  count: 2\n  size: 64x64\n".utf8).write(to: URL(fileURLWithPath: folder + "/w.yaml"))
        result = try run(folder, ["--dry-run"])
        #expect(result.status == 2 && result.stderr.contains("largest seed"), "\(result.stderr)")

        let cache = try TestSupport.temporaryFolder("safety-cache")
        try Data("generate:\n  model: model\n  prompts: [a cat]\n  size: 64x64\nfinish: {long_edge: 256}\n".utf8).write(to: URL(fileURLWithPath: folder + "/w.yaml"))
        result = try run(folder, ["--dry-run"], environment: ["XDG_CACHE_HOME": cache])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(TestSupport.allFiles(under: cache).isEmpty)

        try Data("garbage{".utf8).write(to: URL(fileURLWithPath: model + "/text_encoder/config.json"))
        result = try TestSupport.run(binary, ["generate", "--model", model, "--prompt", "cat", "--steps", "1", "--size", "64x64", "--output", folder + "/g.png"])
        #expect(result.status == 2 && result.stderr.contains("config.json"), "\(result.stderr)")
    }
}

/// JPEG segments whose lengths lie or whose text is not text, as damaged or hostile files carry them.
enum BrokenMetadata {
    static func segment(_ marker: UInt8, _ body: [UInt8]) -> Data {
        Data([0xFF, marker, UInt8((body.count + 2) >> 8), UInt8((body.count + 2) & 0xFF)] + body)
    }

    static var segments: [(String, Data)] {
        let xmp = Array("http://ns.adobe.com/xap/1.0/\0".utf8) + Array("<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description rdf:about=\"\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><dc:title><rdf:Alt><rdf:li xml:lang=\"x-default\">bad ".utf8)
            + [0xFF, 0xFE] + Array(" title</rdf:li></rdf:Alt></dc:title></rdf:Description></rdf:RDF></x:xmpmeta>".utf8)
        let iim: [UInt8] = [0x1C, 0x02, 0x78, 0x70, 0x00] + Array("short caption".utf8)  // claims 28,672 bytes
        func resource(size: UInt32) -> [UInt8] {
            Array("Photoshop 3.0\0".utf8) + Array("8BIM".utf8) + [0x04, 0x04, 0, 0]
                + [UInt8(size >> 24), UInt8((size >> 16) & 0xFF), UInt8((size >> 8) & 0xFF), UInt8(size & 0xFF)] + iim
        }
        return [("xmp-invalid-utf8.jpg", segment(0xE1, xmp)),
                ("iptc-lengths-lie.jpg", segment(0xED, resource(size: UInt32(iim.count)))),
                ("photoshop-claims-2gb.jpg", segment(0xED, resource(size: 0x7FFF_FFFF)))]
    }

    /// `segment` placed right after the SOI marker.
    static func inserting(_ segment: Data, into jpeg: Data) -> Data { jpeg.prefix(2) + segment + jpeg.dropFirst(2) }
}
