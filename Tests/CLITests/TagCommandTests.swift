import Foundation
import Imaging
import TestSupport
import Testing

/// `stockwerk tag` on JPEGs: fields replace the file's, others stay; ExifTool reads the result.
@Suite struct TagCommandTests {
    let binary = TestSupport.stockwerkBinary

    func jpeg(_ folder: String, _ name: String) throws -> String {
        let png = folder + "/\(name).png", jpg = folder + "/\(name).jpg"
        try TestImages.write(width: 40, height: 30, to: png)
        try Finisher.finish(source: png, destination: jpg, settings: FinishSettings(target: .longEdge(40)))
        return jpg
    }

    @Test func tagsFieldsAndKeepsTheRest() throws {
        let folder = try TestSupport.temporaryFolder("tag")
        let file = try jpeg(folder, "lake")
        let first = try TestSupport.run(binary, ["tag", file, "--title", "Lake at dusk", "--keywords", "lake, dusk, calm water", "--creator", "Zoë",
                                                 "--city", "Luzern", "--date-created", "2026-06-01T20:15:00+02:00", "--ai", "--data-mining", "DMI-PROHIBITED-GENAIMLTRAINING"])
        #expect(first.status == 0, "\(first.stderr)")
        let second = try TestSupport.run(binary, ["tag", file, "--keyword", "water, still", "--description", "Calm lake, mountains behind", "--city", ""])
        #expect(second.status == 0, "\(second.stderr)")
        let tags = try TestSupport.exiftool(file)
        #expect(tags["XMP-dc:Title"] as? String == "Lake at dusk" && tags["IPTC:ObjectName"] as? String == "Lake at dusk")
        #expect(tags["XMP-dc:Subject"] as? [String] == ["lake", "dusk", "calm water", "water, still"])
        #expect(tags["XMP-dc:Description"] as? String == "Calm lake, mountains behind" && tags["IFD0:ImageDescription"] as? String == "Calm lake, mountains behind")
        #expect(TestSupport.list(tags["XMP-dc:Creator"]) == ["Zoë"] && tags["XMP-photoshop:City"] == nil && tags["IPTC:City"] == nil)
        #expect(tags["XMP-photoshop:DateCreated"] as? String == "2026:06:01 20:15:00+02:00")
        #expect(tags["IPTC:DateCreated"] as? String == "2026:06:01" && tags["IPTC:TimeCreated"] as? String == "20:15:00+02:00")
        #expect(tags["ExifIFD:DateTimeOriginal"] as? String == "2026:06:01 20:15:00")
        #expect(tags["XMP-iptcExt:DigitalSourceType"] as? String == "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia")
        // ExifTool 12.57 (Debian 12) predates its DataMining tag and shows the PLUS vocabulary URI as written.
        #expect(tags["XMP-plus:DataMining"] as? String == "http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED-GENAIMLTRAINING")
    }

    @Test func badInputExitsTwoAndChangesNothing() throws {
        let folder = try TestSupport.temporaryFolder("tag-bad")
        let file = try jpeg(folder, "a")
        let before = try Data(contentsOf: URL(fileURLWithPath: file))
        try TestImages.write(width: 8, height: 8, to: folder + "/b.png")
        let cases: [([String], String)] = [
            ([file, folder + "/b.png", "--title", "x"], "PNG"),
            ([file, "--date-created", "yesterday"], "YYYY-MM-DD"),
            ([file, "--data-mining", "maybe"], "DMI-ALLOWED"),
            ([file, "--ai", "--ai-edited"], "exclude"),
            ([folder + "/missing.jpg"], "missing.jpg"),
        ]
        for (arguments, message) in cases {
            let result = try TestSupport.run(binary, ["tag"] + arguments)
            #expect(result.status == 2 && result.stderr.contains(message) && result.stderr.contains("hint:"), "\(arguments): \(result.stderr)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: file)) == before)
    }
}

/// `stockwerk keyword --write`: keywords, title and description from the prompt, read back by ExifTool.
@Suite struct KeywordCommandTests {
    @Test func writesWhatExifToolReadsBack() throws {
        let folder = try TestSupport.temporaryFolder("keyword")
        let file = folder + "/launch.jpg"
        try Finisher.finish(source: TestSupport.repositoryRoot + "/Workflows/samples/rocket.jpg", destination: file, settings: FinishSettings(target: .longEdge(640)))
        let tagged = try TestSupport.run(TestSupport.stockwerkBinary, ["tag", file, "--ai-prompt", "(masterpiece:1.2), 8k, a rocket launch at dawn with a plume of smoke, dramatic sky", "--keyword", "rocket"])
        #expect(tagged.status == 0, "\(tagged.stderr)")
        let result = try TestSupport.run(TestSupport.stockwerkBinary, ["keyword", file, "--write", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let tags = try TestSupport.exiftool(file)
        let keywords = try #require(TestSupport.list(tags["XMP-dc:Subject"]))
        #expect(keywords.prefix(3).contains("rocket") && keywords.contains("launch") && keywords.contains("smoke") && keywords.contains("horizontal"), "\(keywords)")
        #expect(!keywords.contains { $0.contains("masterpiece") || $0 == "8k" })
        #expect(TestSupport.list(tags["IPTC:Keywords"]) == keywords)
        #expect(tags["XMP-dc:Title"] as? String == "A rocket launch at dawn with a plume of smoke" && tags["IPTC:ObjectName"] as? String == "A rocket launch at dawn with a plume of smoke")
        #expect((tags["XMP-dc:Description"] as? String)?.hasPrefix("A rocket launch at dawn with a plume of smoke, dramatic sky") == true)
        #expect(result.stdout.contains("\"keywords\""))
        let png = try TestSupport.run(TestSupport.stockwerkBinary, ["keyword", TestSupport.repositoryRoot + "/Workflows/samples/coffee.png", "--write"])
        #expect(png.status == 2 && png.stderr.contains("not a JPEG"), "\(png.stderr)")
    }
}
