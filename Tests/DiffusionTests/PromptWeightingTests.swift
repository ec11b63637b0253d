import CPUBackend
import Diffusion
import Foundation
import Neural
import TestSupport
import Testing

/// Prompts as AUTOMATIC1111 reads them, against the reference implementation of its algorithm in
/// Tools/reference/build_prompt_fixtures.py (written from A1111's prompt_parser.py, sd_hijack_clip.py
/// and sd_emphasis.py): 57 prompts with weights, nesting, escapes, unmatched brackets, BREAK and
/// up to 10 chunks, on the tiny SD1, SD2 and SDXL models.
@Suite struct PromptWeightingTests {
    struct Cases: Decodable {
        var prompts: [String]
        var parsed: [[Entry]]
        /// Prompts naming the textual inversions in Tests/Fixtures/embeddings, per model.
        var embedding_prompts: [String: [String]]
        var clip_skip_prompts: [String]
        /// A1111's [text, weight] pairs.
        struct Entry: Decodable {
            var text: String, weight: Double
            init(from decoder: Decoder) throws {
                var c = try decoder.unkeyedContainer()
                text = try c.decode(String.self)
                weight = try c.decode(Double.self)
            }
        }
    }

    static let cases: Result<Cases, Error> = Result {
        try JSONDecoder().decode(Cases.self, from: Data(contentsOf: URL(fileURLWithPath: PipelineTests.folder("a1111-prompts.json"))))
    }

    @Test func parsesAsA1111() throws {
        let cases = try Self.cases.get()
        #expect(cases.prompts.count >= 50)
        for (prompt, expected) in zip(cases.prompts, cases.parsed) {
            let reference: [PromptAttention.Piece] = expected.map { $0.text == "BREAK" && $0.weight == -1 ? .chunkBreak : .text($0.text, weight: $0.weight) }
            #expect(PromptAttention.parse(prompt) == reference, "\(prompt.debugDescription)")
        }
    }

    @Test(arguments: ["sd1", "sd2", "sdxl"], TestBackend.allCases)
    func conditioningMatchesTheReference(model name: String, on backend: TestBackend) throws {
        let cases = try Self.cases.get()
        let model = try PipelineTests.model("tiny-" + name, on: backend)
        let expected = try SafeTensorsFile(path: PipelineTests.folder("a1111-prompts.safetensors"))
        var chunkCounts = Set<Int>()
        for (index, prompt) in cases.prompts.enumerated() {
            let ours = try model.text.encode(prompt)
            let reference = try expected.tensor("\(name).\(index).context"), context = try ours.context.host()
            chunkCounts.insert(reference.shape[0] / 77)
            guard context.shape == [1] + reference.shape else {
                Issue.record("\(name) \(prompt.debugDescription): \(context.shape) vs \(reference.shape)")
                continue
            }
            // Relative to the largest state: the emphasis rescales by a ratio of two means that are
            // near zero after a layer norm (0.003 against states up to 3.5), so torch's float32
            // means carry about 1e-4 of the largest value in the reference itself.
            let worst = zip(context.storage, reference.storage).map { abs($0 - $1) }.max() ?? .infinity
            let scale = max(1, reference.storage.map(abs).max() ?? 1)
            #expect(worst <= 1e-4 * scale, "\(name) \(prompt.debugDescription): differs by up to \(worst) (largest value \(scale))")
            if name == "sdxl" {
                let pooled = try #require(ours.pooled).host(), theirs = try expected.tensor("\(name).\(index).pooled")
                #expect((zip(pooled.storage, theirs.storage).map { abs($0 - $1) }.max() ?? .infinity) <= 1e-4, "pooled \(prompt.debugDescription)")
            }
        }
        #expect(chunkCounts.isSuperset(of: [1, 2, 3]) && chunkCounts.max()! >= 6, "\(chunkCounts)")
    }

    /// Textual inversions as A1111 puts them in (its EmbeddingDatabase and embedding hijack):
    /// matched by their name's tokens, vectors in place of placeholder tokens, weighted, moved to
    /// the next chunk when they do not fit; SD 1.x `emb_params` files and SDXL `clip_l`/`clip_g` files.
    @Test(arguments: ["sd1", "sdxl"], TestBackend.allCases)
    func embeddingsMatchTheReference(model name: String, on backend: TestBackend) throws {
        let cases = try Self.cases.get()
        let folder = TestSupport.repositoryRoot + "/Tests/Fixtures/embeddings/"
        let files = ["tiny-style", "bad-hands", "xl-style"].map { folder + $0 + ".safetensors" }
        let model = try StableDiffusionModel(path: PipelineTests.folder("tiny-" + name), options: .init(embeddings: files), backend: try backend.get())
        let expected = try SafeTensorsFile(path: PipelineTests.folder("a1111-prompts.safetensors"))
        let prompts = try #require(cases.embedding_prompts[name])
        for (index, prompt) in prompts.enumerated() {
            let ours = try model.text.encode(prompt), reference = try expected.tensor("embeddings.\(name).\(index).context")
            let context = try ours.context.host()
            guard context.shape == [1] + reference.shape else { Issue.record("\(prompt): \(context.shape) vs \(reference.shape)"); continue }
            let worst = zip(context.storage, reference.storage).map { abs($0 - $1) }.max() ?? .infinity
            #expect(worst <= 1e-4 * max(1, reference.storage.map(abs).max() ?? 1), "\(name) \(prompt.prefix(60)): differs by up to \(worst)")
            // Without the embedding the prompt reads differently (the test can fail).
            if index == 0 {
                let plain = try PipelineTests.model("tiny-" + name, on: backend).text.encode(prompt).context.host()
                #expect(zip(plain.storage, reference.storage).map { abs($0 - $1) }.max()! > 1e-2)
            }
        }
    }

    /// A1111's Clip skip 2 on SD 1.x: the next-to-last layer's states through the final norm; SD 2.x
    /// and SDXL towers ignore it, as A1111's do.
    @Test(arguments: TestBackend.allCases)
    func clipSkipMatchesTheReference(on backend: TestBackend) throws {
        let cases = try Self.cases.get()
        let model = try PipelineTests.model("tiny-sd1", on: backend), expected = try SafeTensorsFile(path: PipelineTests.folder("a1111-prompts.safetensors"))
        for (index, prompt) in cases.clip_skip_prompts.enumerated() {
            let ours = try model.text.encode(prompt, clipSkip: 2).context.host(), reference = try expected.tensor("clip-skip.sd1.\(index).context")
            #expect(ours.shape == [1] + reference.shape)
            let worst = zip(ours.storage, reference.storage).map { abs($0 - $1) }.max() ?? .infinity
            #expect(worst <= 1e-4 * max(1, reference.storage.map(abs).max() ?? 1), "\(prompt.prefix(40)): \(worst)")
            #expect(try model.text.encode(prompt).context.host().storage != ours.storage)
        }
        let sd2 = try PipelineTests.model("tiny-sd2", on: backend)
        #expect(!sd2.text.appliesClipSkip && model.text.appliesClipSkip)
        #expect(try sd2.text.encode("a fox", clipSkip: 2).context.host().storage == sd2.text.encode("a fox").context.host().storage)
        #expect(throws: DiffusionError.self) { try model.text.encode("a fox", clipSkip: 3) }  // the tiny tower has 2 layers
    }

    /// Prompts are input from outside: random mixes of brackets, weights, escapes, BREAK, tags and
    /// other scripts never trap, and every chunk is 77 tokens with 77 weights.
    @Test func anyTextParsesIntoWholeChunks() throws {
        let model = try PipelineTests.model("tiny-sd1")
        let tokenizer = try #require(model.text.towers.first?.tokenizer)
        let parts = ["(", ")", "[", "]", "\\", ":", ":1.2)", ": -0.5 )", ":1.2.3)", "BREAK", " BREAK ", "<lora:x:0.5>", "<", ">", "a", "fox", ",",
                     " ", "\n", "é", "🦊", "狐", "0", ".", "+", "BREAKFAST", "tiny-style"]
        var random = SeededGenerator(seed: 99)
        let embeddings = [EmbeddingTokens(ids: tokenizer.tokenIDs("tiny-style"), vectors: 3)]
        for _ in 0..<2000 {
            let text = (0..<Int(random.next() % 40)).map { _ in parts[Int(random.next() % UInt64(parts.count))] }.joined()
            let stripped = ExtraNetworks.parse(text).text
            let chunks = PromptChunks.make(PromptAttention.parse(stripped), tokenizer: tokenizer, embeddings: embeddings)
            let whole = chunks.allSatisfy { (chunk: PromptChunk) -> Bool in
                chunk.ids.count == 77 && chunk.weights.count == 77 && chunk.weights.allSatisfy { $0.isFinite }
                    && chunk.embeddings.allSatisfy { $0.offset + 3 <= PromptChunks.length }
            }
            #expect(!chunks.isEmpty && whole, "\(text.debugDescription)")
        }
    }

    /// A long prompt against a short negative one: two contexts of different lengths in one guided batch.
    @Test func longPromptsGenerate() throws {
        let model = try PipelineTests.model("tiny-sd1")
        let long = Array(repeating: "a (red:1.2) fox in snow, golden light, bokeh", count: 12).joined(separator: ", ")
        let request = GenerationRequest(prompt: long, negativePrompt: "blurry", seed: 1, steps: 2, guidance: 7.5, sampler: .ddim, width: 16, height: 16)
        let result = try Pipeline(model: model).generate(request)
        #expect(result.image.shape == [1, 3, 16, 16] && model.backend.allFinite(result.image))
        #expect(try model.text.encode(long).context.shape[1] > 77)
    }
}
