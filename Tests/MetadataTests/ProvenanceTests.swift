import Foundation
import Metadata
import TestSupport
import Testing

/// The provenance reader on files in each producing tool's real format
/// (Tools/reference/build_provenance_fixtures.py, build_c2pa_fixtures.py), with near-miss controls.
@Suite struct ProvenanceTests {
    static let folder = TestSupport.repositoryRoot + "/Tests/Fixtures/provenance"

    struct Expectation: Decodable, CustomTestStringConvertible, Sendable {
        var file: String
        var ai: Bool?
        var kind: String?
        var prompt: String?
        var model: String?
        var testDescription: String { file }
    }

    static let expectations: [Expectation] = {
        let data = FileManager.default.contents(atPath: folder + "/expected.json") ?? Data()
        return (try? JSONDecoder().decode([Expectation].self, from: data)) ?? []
    }()

    struct C2PAExpectation: Decodable, CustomTestStringConvertible, Sendable {
        var file: String
        var ai: Bool
        var digitalSourceType: String
        var generator: String
        var testDescription: String { file }
    }

    static let c2paExpectations: [C2PAExpectation] = {
        let data = FileManager.default.contents(atPath: folder + "/c2pa-expected.json") ?? Data()
        return (try? JSONDecoder().decode([C2PAExpectation].self, from: data)) ?? []
    }()

    @Test func fixturesAreThere() {
        #expect(Self.expectations.count >= 20)
        #expect(Self.c2paExpectations.count >= 3)
    }

    @Test(arguments: expectations) func readsEachToolsFormat(_ expected: Expectation) throws {
        let provenance = ProvenanceReader.read(path: Self.folder + "/" + expected.file)
        guard let ai = expected.ai else { return }  // hostile files: covered below
        #expect(provenance.isAI == ai, "\(expected.file): \(provenance.evidence.map(\.description))")
        if let kind = expected.kind {
            #expect(provenance.aiEvidence.contains { $0.kind.rawValue == kind }, "\(provenance.evidence.map(\.kind))")
        }
        if let prompt = expected.prompt { #expect(provenance.prompt == prompt) }
        if let model = expected.model { #expect(provenance.model == model) }
    }

    @Test(arguments: c2paExpectations) func readsC2PAManifests(_ expected: C2PAExpectation) throws {
        let provenance = ProvenanceReader.read(path: Self.folder + "/" + expected.file)
        #expect(provenance.isAI == expected.ai)
        let evidence = try #require(provenance.evidence.first { $0.kind == .c2pa })
        #expect(evidence.verified == false)  // the signature is not validated, and reports say so
        #expect(evidence.excerpt.contains(expected.digitalSourceType.split(separator: "/").last.map(String.init) ?? "-"))
        #expect(evidence.tool.contains(expected.generator))
        #expect(evidence.description.contains("unverified"))
    }

    /// A manifest spread over three APP11 segments (c2pa-rs cuts at 64,000 bytes, each continuation
    /// repeating the box header) is joined before it is read.
    @Test func aC2PAManifestOverSeveralSegmentsIsJoined() throws {
        let data = try #require(FileManager.default.contents(atPath: Self.folder + "/c2pa-multisegment.jpg"))
        let jpeg = try JPEGFile(data: data)
        #expect(jpeg.segments.filter { $0.marker == 0xEB }.count == 3)
        let provenance = ProvenanceReader.read(jpeg: jpeg)
        #expect(provenance.isAI && provenance.warnings.isEmpty)
        #expect(provenance.declaredSourceType == .trainedAlgorithmicMedia)
    }

    @Test func a1111ParametersBecomeGenerationParameters() throws {
        let provenance = ProvenanceReader.read(path: Self.folder + "/a1111.png")
        let generation = try #require(provenance.generation)
        #expect(generation.seed == 1234 && generation.steps == 20 && generation.sampler == "dpmpp-2m-karras")
        #expect(generation.negativePrompt.isEmpty == false)
    }

    // MARK: the decision

    @Test func evidenceBeatsADeclarationOfNotAI() {
        let provenance = ProvenanceReader.read(path: Self.folder + "/comfyui.png")
        let status = AIDecision.decide(provenance, declared: AIDeclaration(isAI: false, by: "its sidecar fox.yaml (ai_generated: false)"))
        #expect(status.isAI)
        #expect(status.overruled?.contains("fox.yaml") == true && status.overruled?.contains("ComfyUI") == true)
        #expect(status.reason?.contains("PNG tEXt chunk `prompt`") == true)
        #expect(status.reason?.contains("a red fox") == true)
    }

    @Test func aDeclarationOfAIStandsWithoutEvidence() {
        let provenance = ProvenanceReader.read(path: Self.folder + "/photo-camera.jpg")
        #expect(!AIDecision.decide(provenance, declared: nil).isAI)
        #expect(!AIDecision.decide(provenance, declared: AIDeclaration(isAI: false, by: "x")).isAI)
        let declared = AIDecision.decide(provenance, declared: AIDeclaration(isAI: true, by: "--ai"))
        #expect(declared.isAI && declared.reason == "--ai marks it as AI-generated" && declared.overruled == nil)
    }

    @Test func aDeclaredNonAISourceTypeIsNotAIEvidence() {
        let provenance = ProvenanceReader.read(path: Self.folder + "/iptc-dst-photo.jpg")
        #expect(provenance.evidence.count == 1 && !provenance.isAI)
        #expect(provenance.declaredSourceType == .digitalCapture)
    }

    // MARK: hostile input

    @Test func hostileFilesEndInWarningsNotCrashes() {
        for name in ["hostile-invalid-utf8.png", "hostile-ztxt-bomb.png", "hostile-bad-crc.png", "hostile-truncated.png"] {
            let start = Date()
            let provenance = ProvenanceReader.read(path: Self.folder + "/" + name)
            #expect(!provenance.warnings.isEmpty, "\(name) should say what it skipped")
            #expect(Date().timeIntervalSince(start) < 10, "\(name) took too long")
        }
        #expect(ProvenanceReader.read(path: Self.folder + "/hostile-ztxt-bomb.png").warnings.contains { $0.contains("inflates to more than") })
    }

    @Test func aTenMegabyteParametersChunkIsReadOnceWithoutTrouble() throws {
        let base = try #require(FileManager.default.contents(atPath: Self.folder + "/png-unrelated-text.png"))
        let prompt = String(repeating: "a red fox in a snowy forest, ", count: 10_000_000 / 29)
        let text = prompt + "\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x512"
        let png = PNGBuilder.inserting(chunk: "tEXt", body: Array("parameters".utf8) + [0] + Array(text.utf8), into: [UInt8](base))
        let start = Date()
        let provenance = ProvenanceReader.read(png: Data(png))
        #expect(provenance.isAI)
        #expect(Date().timeIntervalSince(start) < 20)
    }

    @Test func jumbfWithLyingLengthsIsIgnoredWithAWarning() throws {
        let original = [UInt8](try #require(FileManager.default.contents(atPath: Self.folder + "/c2pa-firefly.jpg")))
        let app11 = try #require((0..<(original.count - 1)).first { original[$0] == 0xFF && original[$0 + 1] == 0xEB })
        // The JUMBF starts 12 bytes after the marker (length, "JP", instance, sequence): its store box now claims ~2 GB.
        var lying = original
        lying[app11 + 12] = 0x7F
        let provenance = ProvenanceReader.read(jpeg: Data(lying))
        #expect(!provenance.isAI)
        #expect(provenance.warnings.contains { $0.contains("C2PA") && $0.contains("claims") }, "\(provenance.warnings)")
        // Every other length or label in the first 400 bytes lying too: never a trap.
        for offset in stride(from: app11 + 12, to: min(original.count - 4, app11 + 400), by: 4) {
            var bytes = original
            bytes[offset] = 0x7F
            _ = ProvenanceReader.read(jpeg: Data(bytes))
        }
    }

    /// Random damage to every fixture: bytes flipped, runs zeroed, files cut. The reader must
    /// return (evidence or warnings), never trap or hang.
    @Test func fuzzedFixturesNeverCrashTheReader() throws {
        var generator = SeededGenerator(seed: 0x5EED)
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.folder).filter { $0.hasSuffix(".png") || $0.hasSuffix(".jpg") }
            .filter { !$0.contains("bomb") }
        for name in names {
            let original = [UInt8](try #require(FileManager.default.contents(atPath: Self.folder + "/" + name)))
            for round in 0..<40 {
                var bytes = original
                switch round % 4 {
                case 0: for _ in 0..<8 { bytes[Int.random(in: 8..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator) }
                case 1: let start = Int.random(in: 8..<bytes.count, using: &generator)
                        for index in start..<min(bytes.count, start + 16) { bytes[index] = 0xFF }
                case 2: bytes = Array(bytes.prefix(Int.random(in: 8..<bytes.count, using: &generator)))
                default: let index = Int.random(in: 8..<(bytes.count - 4), using: &generator)
                         bytes.replaceSubrange(index..<(index + 4), with: [0x7F, 0xFF, 0xFF, 0xF0])
                }
                let provenance = name.hasSuffix(".png") ? ProvenanceReader.read(png: Data(bytes)) : ProvenanceReader.read(jpeg: Data(bytes))
                _ = provenance.isAI
            }
        }
    }

    @Test func randomBytesNeverCrashTheCBORDecoder() {
        var generator = SeededGenerator(seed: 42)
        for length in 0..<2_000 {
            let bytes = (0..<(length % 200)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            _ = try? CBORValue.decode(bytes)
        }
        // A map that claims 2^32 pairs, an array nested past the limit: errors, not traps.
        #expect(throws: CBORValue.DecodingError.self) { try CBORValue.decode([0xBA, 0xFF, 0xFF, 0xFF, 0xFF]) }
        #expect(throws: CBORValue.DecodingError.self) { try CBORValue.decode([UInt8](repeating: 0x81, count: 500)) }
        #expect(throws: CBORValue.DecodingError.self) { try CBORValue.decode([0x7A, 0xFF, 0xFF, 0xFF, 0xFF, 0x61]) }
    }
}

/// A PNG chunk inserted before IEND, with its CRC.
enum PNGBuilder {
    static func inserting(chunk type: String, body: [UInt8], into png: [UInt8]) -> [UInt8] {
        let typeBytes = Array(type.utf8)
        var chunk = withUnsafeBytes(of: UInt32(body.count).bigEndian, Array.init) + typeBytes + body
        chunk += withUnsafeBytes(of: crc32(typeBytes + body).bigEndian, Array.init)
        let iend = png.count - 12
        return Array(png[..<iend]) + chunk + Array(png[iend...])
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }
}

