import Foundation
import Imaging
import Metadata
import TestSupport
import Testing

/// Field × value matrix: every case written by Stockwerk and read back by ExifTool, exiv2 and
/// us; files ExifTool wrote read back by us; foreign metadata kept through our writes.
@Suite struct MetadataMatrixTests {
    /// How each reader names a single-text field: ExifTool XMP tag, ExifTool IPTC tag, exiv2 XMP key, exiv2 IPTC key.
    struct Names { var label: String; var xmp: String; var iptc: String?; var exiv2XMP: String; var exiv2IPTC: String?; var langAlt: Bool; var iimBytes: Int? }
    static let fields: [Names] = [
        Names(label: "title", xmp: "XMP-dc:Title", iptc: "IPTC:ObjectName", exiv2XMP: "Xmp.dc.title", exiv2IPTC: "Iptc.Application2.ObjectName", langAlt: true, iimBytes: 64),
        Names(label: "description", xmp: "XMP-dc:Description", iptc: "IPTC:Caption-Abstract", exiv2XMP: "Xmp.dc.description", exiv2IPTC: "Iptc.Application2.Caption", langAlt: true, iimBytes: 2000),
        Names(label: "copyright", xmp: "XMP-dc:Rights", iptc: "IPTC:CopyrightNotice", exiv2XMP: "Xmp.dc.rights", exiv2IPTC: "Iptc.Application2.Copyright", langAlt: true, iimBytes: 128),
        Names(label: "credit", xmp: "XMP-photoshop:Credit", iptc: "IPTC:Credit", exiv2XMP: "Xmp.photoshop.Credit", exiv2IPTC: "Iptc.Application2.Credit", langAlt: false, iimBytes: 32),
        Names(label: "source", xmp: "XMP-photoshop:Source", iptc: "IPTC:Source", exiv2XMP: "Xmp.photoshop.Source", exiv2IPTC: "Iptc.Application2.Source", langAlt: false, iimBytes: 32),
        Names(label: "instructions", xmp: "XMP-photoshop:Instructions", iptc: "IPTC:SpecialInstructions", exiv2XMP: "Xmp.photoshop.Instructions", exiv2IPTC: "Iptc.Application2.SpecialInstructions", langAlt: false, iimBytes: 256),
        Names(label: "city", xmp: "XMP-photoshop:City", iptc: "IPTC:City", exiv2XMP: "Xmp.photoshop.City", exiv2IPTC: "Iptc.Application2.City", langAlt: false, iimBytes: 32),
        Names(label: "country", xmp: "XMP-photoshop:Country", iptc: "IPTC:Country-PrimaryLocationName", exiv2XMP: "Xmp.photoshop.Country", exiv2IPTC: "Iptc.Application2.CountryName", langAlt: false, iimBytes: 64),
        Names(label: "AI system", xmp: "XMP-iptcExt:AISystemUsed", iptc: nil, exiv2XMP: "Xmp.iptcExt.AISystemUsed", exiv2IPTC: nil, langAlt: false, iimBytes: nil),
        Names(label: "AI prompt", xmp: "XMP-iptcExt:AIPromptInformation", iptc: nil, exiv2XMP: "Xmp.iptcExt.AIPromptInformation", exiv2IPTC: nil, langAlt: false, iimBytes: nil),
    ]
    static let values: [(kind: String, text: String)] = [
        ("ascii", "Harbour at dawn, fishing boats"),
        ("umlauts", "Größere Äpfel für Müller"),
        ("cjk", "東京の夜景 서울 上海"),
        ("emoji", "Sunset 🌅 over the sea 🌊"),
        ("xml", "Tom & Jerry <b>\"quoted\"</b> 'single'"),
        ("long", String(repeating: "Überlänge ", count: 30).trimmingCharacters(in: .whitespaces)),
        ("empty", ""),
    ]

    static func expectedIIM(_ text: String, bytes: Int) -> String {
        String(decoding: IPTCIIM.fit(text, maxBytes: bytes), as: UTF8.self)
    }

    static func blankJPEG(in folder: String, name: String) throws -> String {
        let source = folder + "/\(name).png"
        try TestImages.write(width: 64, height: 48, to: source)
        let jpeg = folder + "/\(name).jpg"
        try Finisher.finish(source: source, destination: jpeg, settings: FinishSettings(target: .longEdge(64)))
        try FileManager.default.removeItem(atPath: source)
        return jpeg
    }

    /// 10 fields × 7 kinds of value = 70 cases, one file each, read back in one ExifTool and one exiv2 call.
    @Test func everyFieldAndValueReadsBackInExifToolAndExiv2() throws {
        let folder = try TestSupport.temporaryFolder("matrix")
        var cases: [(path: String, field: Names, value: String)] = []
        for field in Self.fields {
            for (kind, value) in Self.values {
                let path = try Self.blankJPEG(in: folder, name: "\(field.label.replacingOccurrences(of: " ", with: "-"))-\(kind)")
                var edit = MetadataEdit()
                edit.texts[field.label] = value
                try MetadataWriter.write(edit.applied(to: StockMetadata(keywords: ["k"])), source: path, destination: path)
                cases.append((path, field, value))
            }
        }
        #expect(cases.count >= 40)
        let exiftool = try TestSupport.run("exiftool", ["-json", "-G1", "-a", "-struct"] + cases.map(\.path))
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(exiftool.stdout.utf8)) as? [[String: Any]])
        let byFile = Dictionary(uniqueKeysWithValues: parsed.map { (($0["SourceFile"] as? String) ?? "", $0) })
        for (path, field, value) in cases {
            let tags = try #require(byFile[path])
            let ours = try MetadataReader.read(jpeg: path)
            let label = "\(field.label)/\(URL(fileURLWithPath: path).lastPathComponent)"
            if value.isEmpty {
                #expect(tags[field.xmp] == nil && field.iptc.map { tags[$0] == nil } ?? true, "\(label)")
                continue
            }
            #expect("\(tags[field.xmp] ?? "nil")" == value, "ExifTool XMP \(label)")
            if let iptc = field.iptc, let bytes = field.iimBytes { #expect("\(tags[iptc] ?? "nil")" == Self.expectedIIM(value, bytes: bytes), "ExifTool IIM \(label)") }
            let edit = MetadataEdit.textLabels.contains(field.label)
            #expect(edit, "\(field.label) is a text field")
            var expected = StockMetadata(keywords: ["k"])
            var change = MetadataEdit()
            change.texts[field.label] = value
            expected = change.applied(to: expected)
            #expect(ours.xmp == expected, "our XMP reader \(label)")
        }
        for (path, field, value) in cases where !value.isEmpty {
            let keys = try TestSupport.exiv2(path)
            let label = "\(field.label)/\(URL(fileURLWithPath: path).lastPathComponent)"
            let expectedXMP = field.langAlt ? "lang=\"x-default\" \(value)" : value
            #expect(keys[field.exiv2XMP]?.first == expectedXMP, "exiv2 XMP \(label): \(keys[field.exiv2XMP] ?? [])")
            if let key = field.exiv2IPTC, let bytes = field.iimBytes { #expect(keys[key]?.first == Self.expectedIIM(value, bytes: bytes), "exiv2 IIM \(label)") }
        }
    }

    /// What ExifTool writes (XMP, IIM with UTF-8, EXIF), we read back identically.
    @Test func filesExifToolWroteReadBackIdentically() throws {
        let folder = try TestSupport.temporaryFolder("exiftool-wrote")
        let path = try Self.blankJPEG(in: folder, name: "by-exiftool")
        let title = "Café & Bäckerei <Zürich> 東京 🥐"
        let result = try TestSupport.run("exiftool", [
            "-overwrite_original", "-charset", "iptc=UTF8", "-IPTC:CodedCharacterSet=UTF8",
            "-XMP-dc:Title=\(title)", "-IPTC:ObjectName=\(title)", "-XMP-dc:Description=Fresh bread, \"warm\"", "-IPTC:Caption-Abstract=Fresh bread, \"warm\"",
            "-XMP-dc:Subject=bread", "-XMP-dc:Subject=bäckerei", "-XMP-dc:Subject=morning, early", "-IPTC:Keywords=bread", "-IPTC:Keywords=bäckerei",
            "-XMP-dc:Creator=Zoë Müller", "-XMP-dc:Rights=© 2026 Zoë", "-XMP-photoshop:Credit=Zoë / Stock", "-XMP-photoshop:City=Zürich",
            "-XMP-photoshop:Country=Schweiz", "-XMP-photoshop:DateCreated=2026:05:04 07:30:00+02:00",
            "-XMP-iptcExt:DigitalSourceType=http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture",
            "-EXIF:DateTimeOriginal=2026:05:04 07:30:00", "-EXIF:Artist=Zoë Müller", path,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let read = try MetadataReader.read(jpeg: path)
        let xmp = try #require(read.xmp)
        #expect(xmp.title == title && xmp.description == "Fresh bread, \"warm\"" && xmp.keywords == ["bread", "bäckerei", "morning, early"])
        #expect(xmp.creators == ["Zoë Müller"] && xmp.copyright == "© 2026 Zoë" && xmp.credit == "Zoë / Stock")
        #expect(xmp.city == "Zürich" && xmp.country == "Schweiz" && xmp.dateCreated == "2026-05-04T07:30:00+02:00")
        #expect(xmp.digitalSourceType == .digitalCapture)
        #expect(read.iptc?.title == title && read.iptc?.keywords == ["bread", "bäckerei"])
        #expect(read.exif?.dateCreated == "2026-05-04T07:30:00")
    }

    /// Properties, datasets and tags we do not own survive our writes (ExifTool checks).
    @Test func foreignMetadataSurvivesOurWrites() throws {
        let folder = try TestSupport.temporaryFolder("foreign")
        let path = try Self.blankJPEG(in: folder, name: "foreign")
        let setup = try TestSupport.run("exiftool", [
            "-overwrite_original", "-XMP-xmp:Rating=4", "-XMP-lr:HierarchicalSubject=Places|Europe|Zürich", "-XMP-photoshop:AuthorsPosition=Photographer",
            "-XMP-dc:Title=old title", "-IPTC:Sub-location=Altstadt", "-IPTC:ObjectName=old title", "-EXIF:Make=TestCam", "-EXIF:Model=TC-1",
            "-EXIF:ExposureTime=1/250", path,
        ])
        #expect(setup.status == 0, "\(setup.stderr)")
        for _ in 0..<2 { try MetadataWriter.write(StockMetadata(title: "new title", keywords: ["x"]), source: path, destination: path) }
        let tags = try TestSupport.exiftool(path)
        #expect(tags["XMP-dc:Title"] as? String == "new title" && tags["IPTC:ObjectName"] as? String == "new title")
        #expect("\(tags["XMP-xmp:Rating"] ?? "")" == "4")
        #expect(TestSupport.list(tags["XMP-lr:HierarchicalSubject"]) == ["Places|Europe|Zürich"])
        #expect(tags["XMP-photoshop:AuthorsPosition"] as? String == "Photographer")
        #expect(tags["IPTC:Sub-location"] as? String == "Altstadt")
        #expect(tags["IFD0:Make"] as? String == "TestCam" && tags["IFD0:Model"] as? String == "TC-1" && "\(tags["ExifIFD:ExposureTime"] ?? "")" == "1/250")
        #expect(tags["Photoshop:IPTCDigest"] as? String == tags["File:CurrentIPTCDigest"] as? String)
    }

    /// A batch is all or nothing: one bad file leaves every file as it was, with no leftovers.
    @Test func aBatchWithABadFileChangesNothing() throws {
        let folder = try TestSupport.temporaryFolder("batch")
        let good = try (0..<2).map { try Self.blankJPEG(in: folder, name: "good\($0)") }
        let bad = folder + "/bad.jpg"
        try Data("not a jpeg".utf8).write(to: URL(fileURLWithPath: bad))
        let before = try (good + [bad]).map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
        let files = (good + [bad]).map { (StockMetadata(title: "t"), $0, $0) }
        #expect(throws: MetadataError.self) { try MetadataWriter.write(files) }
        #expect(try (good + [bad]).map { try Data(contentsOf: URL(fileURLWithPath: $0)) } == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).sorted() == ["bad.jpg", "good0.jpg", "good1.jpg"])
        // And a good batch changes every file, keeping the image data byte for byte.
        let results = try MetadataWriter.write(good.map { (StockMetadata(title: "batch"), $0, $0) })
        #expect(results.count == 2)
        for (path, old) in zip(good, before) {
            #expect(try MetadataReader.read(jpeg: path).xmp?.title == "batch")
            #expect(try JPEGFile(contentsOf: path).scan == JPEGFile(data: old).scan)
        }
    }
}
