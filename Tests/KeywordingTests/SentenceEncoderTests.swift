import Foundation
import CPUBackend
import Keywording
import Neural
import TestSupport
import Testing

/// all-MiniLM-L6-v2 against transformers' BertTokenizer and sentence-transformers
/// (build_fixtures.py minilm): 100 sentences, token ids equal, embeddings with cosine ≥ 0.9999.
/// The model is what Tools/install-deps.sh installs (the README's test command runs it first).
@Suite struct SentenceEncoderTests {
    static let modelFolder: String = {
        let environment = ProcessInfo.processInfo.environment
        let models = environment["STOCKWERK_MODELS"].flatMap { $0.isEmpty ? nil : $0 }
            ?? ((environment["XDG_DATA_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory() + "/.local/share") + "/stockwerk/models")
        return models + "/all-MiniLM-L6-v2"
    }()
    static let fixtures = TestSupport.repositoryRoot + "/Tests/Fixtures/minilm"

    static func sentences() throws -> [String] {
        let data = try #require(FileManager.default.contents(atPath: fixtures + "/sentences.json"))
        return try JSONDecoder().decode([String].self, from: data)
    }

    static let encoder: Result<SentenceEncoder, Error> = Result { try SentenceEncoder(folder: modelFolder, backend: CPUBackend.shared) }

    @Test func tokenIDsMatchTransformers() throws {
        let encoder = try Self.encoder.get()
        let expected = try SafeTensorsFile(path: Self.fixtures + "/expected.safetensors")
        for (index, sentence) in try Self.sentences().enumerated() {
            let reference = try expected.tensor("ids.\(index)").storage.map { Int($0) }
            #expect(encoder.tokenizer.encode(sentence, maxLength: encoder.maxTokens) == reference, "sentence \(index): \(sentence.prefix(60))")
        }
    }

    @Test func embeddingsMatchSentenceTransformers() throws {
        let encoder = try Self.encoder.get()
        let expected = try SafeTensorsFile(path: Self.fixtures + "/expected.safetensors").tensor("embeddings")
        let sentences = try Self.sentences()
        let embeddings = try encoder.encode(sentences)
        #expect(embeddings.count == 100 && expected.shape == [100, 384])
        var worst: Float = 1
        for (index, embedding) in embeddings.enumerated() {
            let reference = Array(expected.storage[(index * 384)..<((index + 1) * 384)])
            let cosine = zip(embedding, reference).reduce(0) { $0 + $1.0 * $1.1 }
                / (embedding.reduce(0) { $0 + $1 * $1 }.squareRoot() * reference.reduce(0) { $0 + $1 * $1 }.squareRoot())
            worst = min(worst, cosine)
            #expect(cosine >= 0.9999, "sentence \(index): cosine \(cosine)")
        }
        // One at a time gives the same as the packed batch.
        let single = try encoder.encode([sentences[3]])[0]
        #expect(zip(single, embeddings[3]).map { abs($0 - $1) }.max()! < 1e-5)
        print("worst cosine over 100 sentences: \(worst)")
    }

    @Test func missingModelSaysHowToGetIt() {
        do {
            _ = try SentenceEncoder(folder: "/nonexistent/all-MiniLM-L6-v2", backend: CPUBackend.shared)
            Issue.record("a missing model loaded")
        } catch let error as KeywordingError {
            #expect(error.hint.contains("Tools/install-deps.sh") && error.description.contains("config.json"))
        } catch { Issue.record("\(error)") }
    }
}
