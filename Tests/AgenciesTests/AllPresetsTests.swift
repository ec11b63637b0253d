import CSV
import Foundation
import Imaging
import Metadata
import TestSupport
import Testing
@testable import Agencies

/// Every agency preset: a file that passes, and for every rule the preset has a file that breaks
/// just that rule, with the rule named in the verdict (as a rejection, or a warning where the
/// preset says so). Subjects are image facts as the check stage reads them from a file.
@Suite struct AllPresetsTests {
    static let catalog = AgencyCatalog(presetsFolder: TestSupport.presetsFolder)
    static let names = catalog.names()

    static func good() -> CheckSubject {
        let info = ImageInfo(width: 4000, height: 3000, format: .jpeg, bands: 3, fileSize: 5_000_000, iccDescription: "sRGB", colorSpace: "srgb")
        let metadata = StockMetadata(title: "Red bicycle against a white wall", description: "A red bicycle leans against a white wall in morning light.",
                                     keywords: ["bicycle", "red", "wall", "white", "morning", "light", "street", "urban", "transport", "summer"])
        var subject = CheckSubject(path: "good.jpg", info: info, metadata: metadata, aiReason: nil, jpegQuality: 95)
        subject.enlargement = 1.0
        return subject
    }

    /// A subject that breaks `rule` of `preset`, or nil when the preset does not have the rule.
    static func breaking(_ rule: String, of preset: AgencyPreset) -> CheckSubject? {
        var s = good()
        let r = preset.rules
        func firstTerm(_ lists: [String]?) -> (term: String, places: Set<TermList.Place>)? {
            guard let name = lists?.first, let list = preset.bannedTermLists[name], let term = list.terms.first else { return nil }
            return (term, list.places)
        }
        switch rule {
        case "formats": guard r.formats != nil else { return nil }; s.info.format = .png
        case "color_spaces": guard r.colorSpaces != nil else { return nil }; s.info.colorSpace = "cmyk"
        case "min_megapixels": guard r.minMegapixels != nil else { return nil }; s.info.width = 1000; s.info.height = 800
        case "max_megapixels": guard r.maxMegapixels != nil else { return nil }; s.info.width = 13000; s.info.height = 9000
        case "min_side_pixels": guard r.minSidePixels != nil else { return nil }; s.info.width = 4000; s.info.height = 1200
        case "max_side_pixels": guard r.maxSidePixels != nil else { return nil }; s.info.width = 12000; s.info.height = 2000
        case "max_file_size_mb": guard r.maxFileSizeMB != nil else { return nil }; s.info.fileSize = 2_000_000_000
        case "min_file_size_mb": guard r.minFileSizeMB != nil else { return nil }; s.info.fileSize = 100_000
        case "min_jpeg_quality": guard r.minJPEGQuality != nil else { return nil }; s.jpegQuality = 50
        case "min_keywords": guard let rule = r.minKeywords else { return nil }; s.metadata.keywords = Array(s.metadata.keywords.prefix(rule.value - 1))
        case "max_keywords": guard let rule = r.maxKeywords else { return nil }; s.metadata.keywords = (0...rule.value).map { "word\($0)" }
        case "title_required": guard r.titleRequired != nil else { return nil }; s.metadata.title = nil
        case "min_title_characters": guard r.minTitleCharacters != nil else { return nil }; s.metadata.title = "Ab"
        case "max_title_characters": guard let rule = r.maxTitleCharacters else { return nil }; s.metadata.title = String(repeating: "long title ", count: rule.value / 10 + 2)
        case "description_required": guard r.descriptionRequired != nil else { return nil }; s.metadata.description = nil
        case "max_description_characters": guard let rule = r.maxDescriptionCharacters else { return nil }; s.metadata.description = String(repeating: "x", count: rule.value + 1)
        case "max_keyword_characters": guard let rule = r.maxKeywordCharacters else { return nil }; s.metadata.keywords[0] = String(repeating: "k", count: rule.value + 1)
        case "no_duplicate_keywords": guard r.noDuplicateKeywords != nil else { return nil }; s.metadata.keywords.append("Bicycle")
        case "title_without_commas": guard r.titleWithoutCommas != nil else { return nil }; s.metadata.title = "Red bicycle, white wall"
        case "max_enlargement": guard let rule = r.maxEnlargement else { return nil }; s.enlargement = rule.value + 0.5
        case "min_detail_vs_bicubic":
            guard let rule = r.minDetailVsBicubic else { return nil }
            s.detail = SharpnessReport(detail: 1, bicubicDetail: 1, ratio: rule.value - 0.1, blockSize: 2, pixelRatio: 1, verdict: .soft, scale: 4)
        case "latin_script_metadata": guard r.latinScriptMetadata != nil else { return nil }; s.metadata.keywords.append("東京")
        case "banned_terms", "discouraged_terms":
            guard let (term, places) = firstTerm(rule == "banned_terms" ? r.bannedTerms?.value : r.discouragedTerms?.value) else { return nil }
            if places.contains(.keywords) { s.metadata.keywords[0] = term } else if places.contains(.title) { s.metadata.title = "Bicycle with \(term)" }
            else { s.metadata.description = "With \(term)." }
        default: Issue.record("no breaking case for \(rule)"); return nil
        }
        return s
    }

    static let ruleNames = ["formats", "color_spaces", "min_megapixels", "max_megapixels", "min_side_pixels", "max_side_pixels", "max_file_size_mb",
                            "min_file_size_mb", "min_jpeg_quality", "min_keywords", "max_keywords", "title_required", "min_title_characters",
                            "max_title_characters", "description_required", "max_description_characters", "max_keyword_characters",
                            "no_duplicate_keywords", "banned_terms", "discouraged_terms", "max_enlargement", "min_detail_vs_bicubic", "latin_script_metadata", "title_without_commas"]

    @Test(arguments: names)
    func passesAGoodFileAndNamesEveryBrokenRule(agency: String) throws {
        let preset = try Self.catalog.load(agency)
        let good = AgencyChecker(preset: preset).check(Self.good())
        #expect(good.accepted && good.reasons.isEmpty && good.warnings.isEmpty, "\(agency): \(good.reasons) \(good.warnings)")
        var tested = 0
        for rule in Self.ruleNames {
            guard let subject = Self.breaking(rule, of: preset) else { continue }
            tested += 1
            let verdict = AgencyChecker(preset: preset).check(subject)
            let warningOnly = preset.rules.severity(of: rule) == .warning
            let findings = warningOnly ? verdict.warnings : verdict.reasons
            let finding = findings.first { $0.rule == rule }
            #expect(finding != nil, "\(agency) \(rule): reasons \(verdict.reasons.map(\.rule)), warnings \(verdict.warnings.map(\.rule))")
            #expect(finding.map { $0.source.hasPrefix("https://") && !$0.message.isEmpty } ?? false, "\(agency) \(rule)")
            #expect(verdict.accepted == warningOnly, "\(agency) \(rule): accepted \(verdict.accepted)")
        }
        #expect(tested >= 3, "\(agency) has only \(tested) rules")
    }

    /// The same AI image: packaged for the agencies that take labelled AI, refused with the
    /// agency's policy quoted by those that do not.
    @Test func oneAIImageAcceptedOrRefusedWithThePolicyNamed() throws {
        var subject = Self.good()
        subject.aiReason = "generated by Stockwerk with the model sd15"
        for agency in Self.names {
            let preset = try Self.catalog.load(agency)
            let verdict = AgencyChecker(preset: preset).check(subject)
            let refusal = verdict.reasons.first { $0.rule == "ai_policy" }
            if ["shutterstock", "getty-images", "alamy", "depositphotos", "pond5"].contains(agency) {
                #expect(refusal?.message.contains(preset.name) == true && refusal?.message.contains(preset.ai.policy) == true, "\(agency)")
                #expect(refusal?.source == preset.ai.source)
            } else {
                #expect(verdict.accepted, "\(agency): \(verdict.reasons)")
            }
        }
    }

    /// Every agency's CSV parses back (CSV.swift reader, the layout's separator) to the values written.
    @Test(arguments: CSVFormat.allCases)
    func csvParsesBackToTheValuesWritten(format: CSVFormat) throws {
        var metadata = StockMetadata(title: "Lake, at \"dusk\" — Zürich 東京", description: "Calm \"blue\" lake; ü, é, 🙂, commas, and\nnew line",
                                     keywords: ["lake", "dusk, evening", "wasser \"quoted\"", "東京"], creators: ["Zoë"], copyright: "© Zoë")
        metadata.city = "Zürich"; metadata.country = "Schweiz"; metadata.dateCreated = "2026-05-04T07:30:00"
        metadata.generation = GenerationParameters(prompt: "a calm lake, dusk; mist", seed: 1, steps: 2, sampler: "euler", guidance: 7, width: 8, height: 8, model: "sd15", modelHash: "0")
        let entries = [PackageEntry(fileName: "lake-1.jpg", metadata: metadata, category: "11"),
                       PackageEntry(fileName: "b.jpg", metadata: StockMetadata(title: "Forest", keywords: ["forest"]), isEditorial: true)]
        let data = try format.render(entries)
        #expect(!data.starts(with: [0xEF, 0xBB, 0xBF]), "no BOM")
        let text = String(decoding: data, as: UTF8.self)
        let reader = try CSVReader(string: text, hasHeaderRow: true, delimiter: format.delimiter.unicodeScalars.first!)
        #expect(reader.headerRow == format.header)
        var rows: [[String]] = []
        while let row = reader.next() { rows.append(row) }
        // Line breaks become spaces (portal importers read a row per line); nothing else changes.
        #expect(rows == entries.map { format.row(for: $0).map { $0.replacingOccurrences(of: "\n", with: " ") } }, "\(format.rawValue)")
        if case .all = format.quoting { #expect(text.hasPrefix("\"")) }
    }

    /// Issue 16: a title or keyword a spreadsheet would run as a formula is written as text (OWASP:
    /// a leading `'`), and control characters never reach a CSV — in every agency's layout.
    @Test(arguments: CSVFormat.allCases)
    func csvCellsCannotAttackASpreadsheet(format: CSVFormat) throws {
        var metadata = StockMetadata(title: "=HYPERLINK(\"http://evil.example\",\"x\")", description: "+cmd|' /C calc'!A0\u{07}\u{1B}[2J\r",
                                     keywords: ["@SUM(1+1)", "lake"], creators: ["Zoë"], copyright: "-2+3")
        metadata.city = "\u{1B}]0;title\u{07}"; metadata.country = "\tSchweiz"
        metadata.generation = GenerationParameters(prompt: "=DDE(\"cmd\";\"/C calc\";\"x\")", seed: 1, steps: 2, sampler: "euler", guidance: 7,
                                                   width: 8, height: 8, model: "@model", modelHash: "0")
        let text = String(decoding: try format.render([PackageEntry(fileName: "a.jpg", metadata: metadata)]), as: UTF8.self)
        #expect(!text.unicodeScalars.contains { $0.properties.generalCategory == .control && $0 != "\n" }, "\(format.rawValue)")
        let reader = try CSVReader(string: text, hasHeaderRow: true, delimiter: format.delimiter.unicodeScalars.first!)
        let row = try #require(reader.next())
        for cell in row {
            #expect(cell.drop { $0 == " " }.first.map { !"=+-@\t\r".contains($0) } ?? true, "\(format.rawValue): \(cell)")
        }
        #expect(row.contains { $0.hasPrefix("'=HYPERLINK") || $0.hasPrefix("'+cmd") || $0.hasPrefix("'@SUM") }, "\(format.rawValue): \(row)")
    }

    @Test func adobeCSVsSplitAtFiveThousandRowsAndOneMegabyte() throws {
        let small = (0..<12_000).map { PackageEntry(fileName: "f\($0).jpg", metadata: StockMetadata(title: "t", keywords: ["k"])) }
        let files = try CSVFormat.adobeStock.renderFiles(small)
        #expect(files.count == 3)
        let large = (0..<3_000).map { PackageEntry(fileName: "f\($0).jpg", metadata: StockMetadata(title: "a long enough title", keywords: (0..<40).map { "keyword\($0)" })) }
        let split = try CSVFormat.adobeStock.renderFiles(large)
        #expect(split.count >= 2 && split.allSatisfy { $0.count <= 1_000_000 })
        for file in files + split {
            let reader = try CSVReader(string: String(decoding: file, as: UTF8.self), hasHeaderRow: true)
            var count = 0
            while reader.next() != nil { count += 1 }
            #expect(count <= 5_000 && reader.headerRow == CSVFormat.adobeStock.header)
        }
        #expect(try CSVFormat.shutterstock.renderFiles(small).count == 1)
    }

    @Test func templateIsAValidPreset() throws {
        let text = try String(contentsOfFile: TestSupport.presetsFolder + "/agencies/_template.yaml", encoding: .utf8)
        let preset = try AgencyCatalog.decode(yaml: text)
        #expect(preset.id == "my-agency" && preset.rules.bannedTerms?.value == ["brands", "artists"])
        #expect(!Self.names.contains("_template"))
    }

    /// The quality estimate recovers the quality libvips (libjpeg) saved with.
    @Test(arguments: [55, 80, 92])
    func jpegQualityEstimateMatchesTheSaveSetting(quality: Int) throws {
        let folder = try TestSupport.temporaryFolder("quality")
        try TestImages.write(width: 64, height: 64, to: folder + "/src.png")
        var settings = FinishSettings(target: .longEdge(64))
        settings.quality = quality
        try Finisher.finish(source: folder + "/src.png", destination: folder + "/q.jpg", settings: settings)
        #expect(try JPEGQuality.estimate(path: folder + "/q.jpg") == quality)
        #expect(try CheckSubject.read(folder + "/q.jpg").jpegQuality == quality)
    }

    /// The same checks on real files, read as the check stage reads them: a small AI image whose
    /// prompt names a real person, and a 4.5 MP photo with clean metadata.
    @Test func realFilesPassAndFailAsTheirFactsSay() throws {
        let folder = try TestSupport.temporaryFolder("real-files")
        let samples = TestSupport.repositoryRoot + "/Workflows/samples"
        var metadata = StockMetadata(title: "Rocket launch at dawn", description: "A rocket lifts off at dawn.",
                                     keywords: ["rocket", "launch", "space", "science", "dawn", "smoke", "sky", "flight"], creators: ["Suite"])
        try Finisher.finish(source: samples + "/rocket.jpg", destination: folder + "/photo.jpg", settings: FinishSettings(target: .longEdge(2600)))
        try MetadataWriter.write(metadata, source: folder + "/photo.jpg", destination: folder + "/photo.jpg")
        metadata.digitalSourceType = .trainedAlgorithmicMedia
        metadata.generation = GenerationParameters(prompt: "Taylor Swift watching a rocket launch", seed: 1, steps: 20, sampler: "euler",
                                                   guidance: 7, width: 512, height: 512, model: "sd15", modelHash: "0")
        try Finisher.finish(source: samples + "/rocket.jpg", destination: folder + "/ai.jpg", settings: FinishSettings(target: .longEdge(640)))
        try MetadataWriter.write(metadata, source: folder + "/ai.jpg", destination: folder + "/ai.jpg")
        let photo = try CheckSubject.read(folder + "/photo.jpg"), ai = try CheckSubject.read(folder + "/ai.jpg")
        #expect(photo.aiReason == nil && ai.aiReason != nil && photo.jpegQuality == FinishSettings().quality)
        for agency in Self.names {
            let preset = try Self.catalog.load(agency)
            let aiVerdict = AgencyChecker(preset: preset).check(ai)
            let rules = Set(aiVerdict.reasons.map(\.rule))
            #expect(rules.contains("ai_policy") == !preset.ai.accepted, "\(agency): \(rules)")
            if preset.rules.minMegapixels != nil { #expect(rules.contains("min_megapixels"), "\(agency)") }
            if preset.rules.minSidePixels != nil { #expect(rules.contains("min_side_pixels"), "\(agency)") }
            if preset.rules.bannedTerms?.value.contains("people") == true {
                #expect(aiVerdict.reasons.contains { $0.rule == "banned_terms" && $0.message.contains("Taylor Swift") && $0.message.contains("the prompt") }, "\(agency)")
            }
        }
        for agency in ["adobe-stock", "shutterstock", "getty-images", "dreamstime", "depositphotos", "pond5", "vecteezy"] {
            let verdict = AgencyChecker(preset: try Self.catalog.load(agency)).check(photo)
            #expect(verdict.accepted, "\(agency): \(verdict.reasons)")
        }
        // 123RF and Alamy want 6 MP; Freepik 2,000 px on the short side: the same photo is refused, with the reason.
        for (agency, rule) in [("123rf", "min_megapixels"), ("alamy", "min_megapixels"), ("freepik", "min_side_pixels")] {
            let verdict = AgencyChecker(preset: try Self.catalog.load(agency)).check(photo)
            #expect(verdict.reasons.map(\.rule) == [rule], "\(agency): \(verdict.reasons)")
        }
    }
}
