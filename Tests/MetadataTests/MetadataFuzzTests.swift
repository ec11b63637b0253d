import Foundation
import Imaging
import Metadata
import TestSupport
import Testing

/// Hostile input: seeded mutations of a JPEG carrying EXIF, XMP, IPTC IIM and ICC go through the
/// reader and the writer. Each must either work or throw MetadataError; a crash fails the run.
@Suite struct MetadataFuzzTests {
    /// A small deterministic generator, so a failure names a reproducible case.

    static func seedFile() throws -> Data {
        let folder = try TestSupport.temporaryFolder("fuzz")
        let source = folder + "/seed.png"
        try TestImages.write(width: 48, height: 32, to: source, profile: .p3)
        let jpeg = folder + "/seed.jpg"
        try Finisher.finish(source: source, destination: jpeg, settings: FinishSettings(target: .longEdge(48)))
        var metadata = StockMetadata(title: "Fuzz seed 東京", description: "desc & <x>", keywords: ["a", "b"], creators: ["me"], copyright: "c")
        metadata.city = "Zürich"
        metadata.dateCreated = "2026-01-02T03:04:05Z"
        metadata.generation = GenerationParameters(prompt: "p", seed: 1, steps: 2, sampler: "euler", guidance: 7, width: 8, height: 8, model: "m", modelHash: "0")
        try MetadataWriter.write(metadata, source: jpeg, destination: jpeg)
        return try Data(contentsOf: URL(fileURLWithPath: jpeg))
    }

    @Test func seededMutationsGiveResultsOrErrorsNeverCrashes() throws {
        let seed = try Self.seedFile()
        let headerEnd = min(seed.count, (try JPEGFile(data: seed)).segments.reduce(2) { $0 + 4 + $1.payload.count })
        var random = SeededGenerator(seed: 20_261_126)
        var outcomes = [String: Int]()
        for round in 0..<800 {
            var bytes = [UInt8](seed)
            switch round % 4 {
            case 0:  // flip a few bytes inside the metadata segments
                for _ in 0..<(1 + Int(random.next() % 8)) { bytes[2 + Int(random.next() % UInt64(headerEnd - 2))] ^= UInt8(truncatingIfNeeded: random.next() | 1) }
            case 1:  // truncate anywhere in the header
                bytes = Array(bytes.prefix(2 + Int(random.next() % UInt64(headerEnd))))
            case 2:  // set a length-like 16-bit field to an extreme
                let at = 2 + Int(random.next() % UInt64(headerEnd - 4))
                let extreme: [UInt16] = [0, 1, 2, 0x7FFF, 0x8000, 0xFFFF]
                let value = extreme[Int(random.next() % UInt64(extreme.count))]
                bytes[at] = UInt8(value >> 8); bytes[at + 1] = UInt8(value & 0xFF)
            default:  // splice: repeat a random slice of the header
                let start = 2 + Int(random.next() % UInt64(headerEnd - 2)), length = Int(random.next() % 200)
                let end = min(headerEnd, start + length)
                bytes.insert(contentsOf: bytes[start..<end], at: start)
            }
            let data = Data(bytes)
            do {
                _ = try MetadataReader.read(jpegData: data)
                _ = try MetadataWriter.embed(StockMetadata(title: "after \(round)", keywords: ["k"]), into: data)
                outcomes["ok", default: 0] += 1
            } catch is MetadataError {
                outcomes["error", default: 0] += 1
            } catch {
                Issue.record("round \(round): \(type(of: error)) \(error) is not a MetadataError")
            }
        }
        // Both outcomes happen: the mutations reach the parsers instead of all failing one check.
        #expect((outcomes["ok"] ?? 0) > 50 && (outcomes["error"] ?? 0) > 50, "\(outcomes)")
    }

    @Test func malformedXMPAndIIMAreClearErrors() throws {
        #expect(throws: MetadataError.self) { try XMPPacket.parse(Data("<x:xmpmeta><rdf:RDF><unclosed".utf8)) }
        #expect(throws: MetadataError.self) { try XMPPacket.build(StockMetadata(title: "t"), merging: [Data("<a><b></a>".utf8)]) }
        let oversized = Data([0x1C, 0x02, 0x05, 0x80, 0x04, 0xFF, 0xFF, 0xFF, 0xFF])
        #expect(throws: MetadataError.self) { try IPTCIIM(parsing: oversized) }
    }
}
