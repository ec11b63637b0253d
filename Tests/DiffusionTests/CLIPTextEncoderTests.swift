import Diffusion
import CPUBackend
import Foundation
import Neural
import TestSupport
import Testing

/// Hidden states compared with transformers' CLIPTextModel on tiny random-weight models
/// (Tools/reference/build_fixtures.py text_encoder).
@Suite struct CLIPTextEncoderTests {
    static func folder(_ name: String) -> String { TestSupport.repositoryRoot + "/Tests/Fixtures/clip/" + name }

    func maxDifference(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Float {
        zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
    }

    @Test(arguments: ["tiny-sd1", "tiny-sd2"], TestBackend.allCases)
    func hiddenStatesMatchTransformers(model: String, on backend: TestBackend) throws {
        let encoder = try CLIPTextEncoder(folder: Self.folder(model), backend: try backend.get())
        let expected = try SafeTensorsFile(path: Self.folder(model) + "/expected.safetensors")
        let ids = try expected.tensor("input_ids")
        let last = try expected.tensor("last_hidden_state"), pooled = try expected.tensor("pooler_output")
        let penultimate = try expected.tensor("penultimate_hidden_state")
        let (sequences, tokens, hidden) = (last.shape[0], last.shape[1], last.shape[2])
        for s in 0..<sequences {
            let input = ids.storage[(s * tokens)..<((s + 1) * tokens)].map { Int($0) }
            let output = try encoder.encode(input)
            let range = (s * tokens * hidden)..<((s + 1) * tokens * hidden)
            #expect(maxDifference(output.lastHiddenState.storage[...], last.storage[range]) <= 1e-4)
            #expect(maxDifference(output.penultimateHiddenState.storage[...], penultimate.storage[range]) <= 1e-4)
            #expect(maxDifference(output.pooled.storage[...], pooled.storage[(s * hidden)..<((s + 1) * hidden)]) <= 1e-4)
        }
    }

    @Test func acceptsTheTextModelPrefix() throws {
        // Hub SD folders store `text_model.`-prefixed keys; rewrite the fixture so and compare.
        let source = try SafeTensorsFile(path: Self.folder("tiny-sd1") + "/model.safetensors")
        let folder = try TestSupport.temporaryFolder("prefixed")
        let tensors = try source.names.map { (name: "text_model." + $0, tensor: try source.tensor($0)) }
        try SafeTensorsWriter.write(tensors, to: folder + "/model.safetensors", as: .f16)
        try FileManager.default.copyItem(atPath: Self.folder("tiny-sd1") + "/config.json", toPath: folder + "/config.json")
        let prefixed = try CLIPTextEncoder(folder: folder, backend: CPUBackend.shared)
        let plain = try CLIPTextEncoder(folder: Self.folder("tiny-sd1"), backend: CPUBackend.shared)
        let ids = [998, 5, 17, 999] + Array(repeating: 999, count: 73)
        // Stored as F16 here, so allow for its rounding of the weights.
        #expect(maxDifference(try prefixed.encode(ids).lastHiddenState.storage[...], try plain.encode(ids).lastHiddenState.storage[...]) < 2e-2)
    }

    @Test func missingOrMisshapenWeightsAreNamed() throws {
        let folder = try TestSupport.temporaryFolder("broken-encoder")
        try FileManager.default.copyItem(atPath: Self.folder("tiny-sd1") + "/config.json", toPath: folder + "/config.json")
        try SafeTensorsWriter.write([("embeddings.token_embedding.weight", HostTensor(zeros: [10, 32]))], to: folder + "/model.safetensors")
        #expect(throws: NeuralError.self) { try CLIPTextEncoder(folder: folder, backend: CPUBackend.shared) }
        do { _ = try CLIPTextEncoder(folder: folder, backend: CPUBackend.shared) } catch { #expect("\(error)".contains("token_embedding")) }
    }
}
