import Diffusion
import Foundation
import TestSupport
import Testing

/// Ids compared with transformers' CLIPTokenizer (Tools/reference/build_fixtures.py tokenizer).
@Suite struct CLIPTokenizerTests {
    struct Fixture: Decodable {
        struct Case: Decodable { var prompt: String; var sd1: [Int]; var sd2: [Int] }
        var transformers: String
        var cases: [Case]
        var known_ids: [String: Int]
    }

    static let merges = TestSupport.repositoryRoot + "/presets/clip/bpe_simple_vocab_16e6.txt.gz"

    func fixture() throws -> Fixture {
        let data = try Data(contentsOf: URL(fileURLWithPath: TestSupport.repositoryRoot + "/Tests/Fixtures/clip/tokenizer_cases.json"))
        return try JSONDecoder().decode(Fixture.self, from: data)
    }

    @Test func idsEqualTransformersOnEveryPrompt() throws {
        let fixture = try fixture()
        #expect(fixture.cases.count >= 300)
        let sd1 = try CLIPTokenizer.fromCLIPMerges(gzipFile: Self.merges)
        let sd2 = try CLIPTokenizer.fromCLIPMerges(gzipFile: Self.merges, padToken: "!")
        var mismatches: [String] = []
        for item in fixture.cases {
            if sd1.encode(item.prompt) != item.sd1 { mismatches.append("SD1 \(item.prompt.debugDescription)") }
            if sd2.encode(item.prompt) != item.sd2 { mismatches.append("SD2 \(item.prompt.debugDescription)") }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) mismatches, first: \(mismatches.prefix(5))")
    }

    @Test func vocabularyMatchesTheKnownCLIPIds() throws {
        let tokenizer = try CLIPTokenizer.fromCLIPMerges(gzipFile: Self.merges)
        #expect(tokenizer.startToken == 49406 && tokenizer.endToken == 49407 && tokenizer.padToken == 49407)
        #expect(tokenizer.encode("a photo of a cat").prefix(7) == [49406, 320, 1125, 539, 320, 2368, 49407])
        let sd2 = try CLIPTokenizer.fromCLIPMerges(gzipFile: Self.merges, padToken: "!")
        #expect(sd2.padToken == 0 && sd2.encode("").suffix(75) == ArraySlice(repeating: 0, count: 75))
    }

    @Test func loadsADiffusersTokenizerFolder() throws {
        // Write the folder layout diffusers uses and read it back: same ids as the merges file.
        let reference = try CLIPTokenizer.fromCLIPMerges(gzipFile: Self.merges)
        let folder = try TestSupport.temporaryFolder("tokenizer")
        #expect(throws: DiffusionError.self) { try CLIPTokenizer.load(folder: folder) }
        let tokens = ["!", "a", "a</w>", "b</w>", "ab</w>", "<|startoftext|>", "<|endoftext|>"]
        let vocabulary = Dictionary(uniqueKeysWithValues: tokens.enumerated().map { ($1, $0) })
        try JSONSerialization.data(withJSONObject: vocabulary).write(to: URL(fileURLWithPath: folder + "/vocab.json"))
        try "#version: 0.2\na b</w>\n".write(toFile: folder + "/merges.txt", atomically: false, encoding: .utf8)
        try "{\"pad_token\": \"!\"}".write(toFile: folder + "/tokenizer_config.json", atomically: false, encoding: .utf8)
        let tiny = try CLIPTokenizer.load(folder: folder)
        #expect(tiny.padToken == 0)
        #expect(tiny.encode("ab a").prefix(4) == [5, 4, 2, 6])
        #expect(reference.encode("ab").count == 77)
    }
}
