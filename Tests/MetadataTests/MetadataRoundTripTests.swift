import Foundation
import Imaging
import Metadata
import TestSupport
import Testing

@Suite struct MetadataRoundTripTests {
    static let full = StockMetadata(
        title: "Café terrace in Zürich at dusk — ein schöner Abend",
        description: "Straßencafé with people 🙂 & \"quoted\" <text>, under warm lights; 東京 style.",
        keywords: ["café", "Zürich", "Straße", "dusk", "night life", "東京"],
        creators: ["Zoë Müller"], copyright: "© 2026 Zoë Müller",
        digitalSourceType: .trainedAlgorithmicMedia, software: "Stockwerk")

    func sampleJPEG(_ label: String) throws -> String {
        let folder = try TestSupport.temporaryFolder(label)
        let source = folder + "/src.png"
        try TestImages.write(width: 320, height: 200, to: source, profile: .p3)
        let jpeg = folder + "/image.jpg"
        try Finisher.finish(source: source, destination: jpeg, settings: FinishSettings(target: .longEdge(320)))
        return jpeg
    }

    @Test func exiftoolReadsEveryFieldBack() throws {
        let path = try sampleJPEG("exiftool")
        let warnings = try MetadataWriter.write(Self.full, source: path, destination: path)
        #expect(warnings.isEmpty)
        let tags = try TestSupport.exiftool(path)
        let m = Self.full
        #expect(tags["XMP-dc:Title"] as? String == m.title)
        #expect(tags["XMP-dc:Description"] as? String == m.description)
        #expect(tags["XMP-dc:Subject"] as? [String] == m.keywords)
        #expect(TestSupport.list(tags["XMP-dc:Creator"]) == m.creators)
        #expect(tags["XMP-dc:Rights"] as? String == m.copyright)
        #expect(tags["XMP-photoshop:Headline"] as? String == m.title)
        #expect(tags["XMP-iptcExt:DigitalSourceType"] as? String == "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia")
        #expect(tags["IPTC:CodedCharacterSet"] as? String == "UTF8")
        #expect(tags["IPTC:ObjectName"] as? String == m.title)
        #expect(tags["IPTC:Keywords"] as? [String] == m.keywords)
        #expect(tags["IPTC:By-line"] as? String == m.creators[0])
        #expect(tags["IPTC:CopyrightNotice"] as? String == m.copyright)
        #expect(tags["IPTC:Caption-Abstract"] as? String == m.description)
        #expect(tags["IFD0:ImageDescription"] as? String == m.description)
        #expect(tags["IFD0:Artist"] as? String == m.creators[0])
        #expect(tags["IFD0:Copyright"] as? String == m.copyright)
        #expect(tags["IFD0:Software"] as? String == "Stockwerk")
        // The IPTC digest was refreshed, so MWG readers trust XMP and IIM alike.
        let digest = tags["Photoshop:IPTCDigest"] as? String
        #expect(digest != nil && digest == tags["File:CurrentIPTCDigest"] as? String)
        // The colour-converted sRGB profile is still there.
        #expect((tags["ICC_Profile:ProfileDescription"] as? String)?.contains("sRGB") == true)
    }

    static let generation = GenerationParameters(
        prompt: "a red bicycle, (golden hour:1.2), Zürich 東京", negativePrompt: "blurry, text\nwatermark", seed: 4_000_000_123, steps: 25,
        sampler: "dpmpp-2m-karras", guidance: 7.5, width: 512, height: 768, model: "sd15", modelHash: "6ce0161689")

    /// Generation parameters: our JSON in XMP, A1111's text in EXIF UserComment, read back by
    /// ExifTool, exiv2 and us; the UNICODE form for non-ASCII text, the ASCII form otherwise.
    @Test(arguments: [false, true])
    func generationParametersReadBackEverywhere(ascii: Bool) throws {
        let path = try sampleJPEG("generation")
        var metadata = Self.full
        var generation = Self.generation
        if ascii { generation.prompt = "a red bicycle, (golden hour:1.2)" }
        metadata.generation = generation
        try MetadataWriter.write(metadata, source: path, destination: path)
        let text = generation.a1111Text
        #expect(text == generation.prompt + "\nNegative prompt: blurry, text\nwatermark\nSteps: 25, Sampler: DPM++ 2M Karras, CFG scale: 7.5, "
                + "Seed: 4000000123, Size: 512x768, Model hash: 6ce0161689, Model: sd15, RNG: CPU")
        let tags = try TestSupport.exiftool(path)
        #expect(tags["ExifIFD:UserComment"] as? String == text)
        #expect((tags["XMP-stockwerk:Generation"] as? String).flatMap(GenerationParameters.fromJSON) == generation)
        let keys = try TestSupport.exiv2(path)
        let exiv2Comment = try #require(keys["Exif.Photo.UserComment"]?.first)
        #expect(exiv2Comment.hasSuffix(generation.prompt.components(separatedBy: "\n")[0]) || exiv2Comment.contains("Steps: 25"), "\(exiv2Comment)")
        let read = try MetadataReader.read(jpeg: path)
        #expect(read.exif?.generation == GenerationParameters.fromA1111(text))
        #expect(read.xmp?.generation == generation && read.reconciled.generation == generation)
    }

    @Test func a1111TextFromOtherToolsParses() throws {
        let text = "portrait of a cat\nSteps: 30, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 6, Seed: 42, Size: 768x512, Model hash: abc, Model: dreamshaper_8, Version: v1.10.1"
        let parsed = try #require(GenerationParameters.fromA1111(text))
        #expect(parsed.prompt == "portrait of a cat" && parsed.negativePrompt.isEmpty && parsed.sampler == "dpmpp-2m-karras")
        #expect(parsed.steps == 30 && parsed.guidance == 6 && parsed.seed == 42 && parsed.width == 768 && parsed.height == 512 && parsed.model == "dreamshaper_8")
        // A1111 draws its noise on the GPU unless its text says `RNG: CPU`; what Stockwerk does not apply is kept by name.
        #expect(parsed.otherSettings == ["RNG": "GPU"])
        let extended = try #require(GenerationParameters.fromA1111(text + ", Clip skip: 2, RNG: CPU, ADetailer model: face_yolov8n.pt"))
        #expect(extended.otherSettings == ["ADetailer model": "face_yolov8n.pt"] && extended.clipSkip == 2)
        #expect(extended.a1111Text.contains("Clip skip: 2") && GenerationParameters.fromA1111(extended.a1111Text)?.clipSkip == 2)
        #expect(GenerationParameters.fromA1111("just a caption") == nil)
        // A1111's hires keys (its "hires fix"), as A1111 writes them: Hires steps left out when equal to Steps.
        let hires = "a fox\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x512, Model hash: x, Model: m, Denoising strength: 0.55, Hires upscale: 2, Hires upscaler: Latent (bicubic antialiased)"
        #expect(GenerationParameters.fromA1111(hires)?.hires == GenerationParameters.Hires(upscaler: "bicubic-antialiased", factor: 2, steps: 20, strength: 0.55))
        var ours = try #require(GenerationParameters.fromA1111(hires))
        ours.hires = GenerationParameters.Hires(upscaler: "nearest-exact", factor: 1.5, steps: 12, strength: 0.6, sampler: "ddim")
        #expect(ours.a1111Text.hasSuffix("Denoising strength: 0.6, Hires upscale: 1.5, Hires steps: 12, Hires upscaler: Latent (nearest-exact), Hires sampler: DDIM, RNG: CPU"))
        #expect(GenerationParameters.fromA1111(ours.a1111Text)?.hires == ours.hires && GenerationParameters.fromJSON(ours.json) == ours)
    }

    @Test func exiv2ReadsEveryFieldBack() throws {
        let path = try sampleJPEG("exiv2")
        try MetadataWriter.write(Self.full, source: path, destination: path)
        let keys = try TestSupport.exiv2(path)
        let m = Self.full
        #expect(keys["Xmp.dc.title"]?.first == "lang=\"x-default\" \(m.title!)")
        #expect(keys["Xmp.dc.subject"]?.first == m.keywords.joined(separator: ", "))
        #expect(keys["Xmp.iptcExt.DigitalSourceType"]?.first == DigitalSourceType.trainedAlgorithmicMedia.uri)
        #expect(keys["Iptc.Application2.ObjectName"]?.first == m.title)
        #expect(keys["Iptc.Application2.Keywords"] == m.keywords)
        #expect(keys["Iptc.Application2.Caption"]?.first == m.description)
        #expect(keys["Iptc.Application2.Byline"]?.first == m.creators[0])
        #expect(keys["Iptc.Application2.Copyright"]?.first == m.copyright)
        #expect(keys["Exif.Image.Artist"]?.first == m.creators[0])
        #expect(keys["Exif.Image.Copyright"]?.first == m.copyright)
    }

    @Test func ourReaderAgreesAndDigestMatches() throws {
        let path = try sampleJPEG("reader")
        try MetadataWriter.write(Self.full, source: path, destination: path)
        let embedded = try MetadataReader.read(jpeg: path)
        #expect(embedded.xmp == Self.full)
        #expect(embedded.iptc?.keywords == Self.full.keywords)
        #expect(embedded.iptcDigestMatches == true)
        #expect(embedded.hasICCProfile)
        #expect(embedded.reconciled == Self.full)
    }

    @Test func keepsICCAndUnrelatedSegmentsByteForByte() throws {
        let path = try sampleJPEG("preserve")
        var jpeg = try JPEGFile(contentsOf: path)
        let custom = JPEGFile.Segment(marker: 0xEF, payload: Data("private-app15-data".utf8))
        jpeg.segments.insert(custom, at: 1)
        let originalICC = try #require(jpeg.first(JPEGFile.app2, signature: JPEGFile.iccSignature))
        try jpeg.serialized().write(to: URL(fileURLWithPath: path))

        // Written twice: the second write replaces our own blocks instead of adding new ones.
        try MetadataWriter.write(Self.full, source: path, destination: path)
        try MetadataWriter.write(Self.full, source: path, destination: path)
        let after = try JPEGFile(contentsOf: path)
        #expect(after.first(JPEGFile.app2, signature: JPEGFile.iccSignature) == originalICC)
        #expect(after.segments.contains(custom))
        #expect(after.segments.filter { $0.starts(with: JPEGFile.xmpSignature) }.count == 1)
        #expect(after.segments.filter { $0.starts(with: JPEGFile.exifSignature) }.count == 1)
        #expect(after.segments.filter { $0.marker == JPEGFile.app13 }.count == 1)
        #expect(after.scan == jpeg.scan)
    }

    @Test func iimLimitsCutOnCharacterBoundariesAndXMPKeepsAll() throws {
        let path = try sampleJPEG("limits")
        // 63 ASCII bytes then "é" (2 bytes): 65 bytes, so the IIM title must stop at 63.
        let title = String(repeating: "a", count: 63) + "é and more"
        let keyword = String(repeating: "ü", count: 40)  // 80 bytes → 32 characters fit in 64
        let metadata = StockMetadata(title: title, keywords: [keyword, "short"])
        let warnings = try MetadataWriter.write(metadata, source: path, destination: path)
        #expect(warnings.map(\.field).contains("IPTC ObjectName (2:05)"))
        #expect(warnings.map(\.field).contains("IPTC Keywords (2:25)"))
        let tags = try TestSupport.exiftool(path)
        #expect(tags["IPTC:ObjectName"] as? String == String(repeating: "a", count: 63))
        #expect(tags["IPTC:Keywords"] as? [String] == [String(repeating: "ü", count: 32), "short"])
        #expect(tags["XMP-dc:Title"] as? String == title)
        #expect(tags["XMP-dc:Subject"] as? [String] == [keyword, "short"])
    }

    @Test func controlCharactersNeverBreakTheXMP() throws {
        let path = try sampleJPEG("escape")
        let metadata = StockMetadata(title: "Tom & Jerry <live>\u{0007} \"now\"", keywords: ["a\u{0001}b"])
        try MetadataWriter.write(metadata, source: path, destination: path)
        let tags = try TestSupport.exiftool(path)
        #expect(tags["XMP-dc:Title"] as? String == "Tom & Jerry <live> \"now\"")
        #expect(TestSupport.list(tags["XMP-dc:Subject"]) == ["ab"])
    }

    @Test func damagedFilesGiveErrorsNotCrashes() throws {
        let path = try sampleJPEG("damaged")
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(throws: MetadataError.self) { try MetadataWriter.embed(StockMetadata(title: "x"), into: data.prefix(40)) }
        #expect(throws: MetadataError.self) { try MetadataWriter.embed(StockMetadata(title: "x"), into: Data("not a jpeg".utf8)) }
        // Every truncation point of the header area is handled without a crash.
        var seen = Set<String>()
        for length in stride(from: 2, to: min(data.count, 3000), by: 7) {
            do { _ = try JPEGFile(data: data.prefix(length)) } catch let error as MetadataError { seen.insert("\(error)".components(separatedBy: ":").first ?? "") }
        }
        #expect(!seen.isEmpty)
        // A corrupted IIM block is reported as such.
        #expect(throws: MetadataError.self) { try IPTCIIM(parsing: Data([0x1C, 0x02, 0x05, 0x00, 0x40, 0x41])) }
        #expect(throws: MetadataError.self) { try PhotoshopResources(parsing: Data("8BIM\u{04}\u{04}\u{00}\u{00}\u{7F}\u{FF}\u{FF}\u{FF}".utf8)) }
    }
}
