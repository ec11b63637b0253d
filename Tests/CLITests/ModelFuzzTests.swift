import Foundation
import Neural
import TestSupport
import Testing

/// Model files from the internet are input from outside: a damaged or hostile config or tensor
/// header must end in an error naming the file (exit 2), never a trap (issue 17, item 6). Every
/// case runs `stockwerk generate` in its own process, so a trap fails the case instead of the suite.
@Suite struct ModelFuzzTests {
    let binary = TestSupport.stockwerkBinary
    static let tinyModel = TestSupport.repositoryRoot + "/Tests/Fixtures/pipelines/tiny-sd1"
    static let tinySingleFile = TestSupport.repositoryRoot + "/Tests/Fixtures/pipelines/tiny-sd1.safetensors"

    func copyOfModel() throws -> String {
        let folder = try TestSupport.temporaryFolder("fuzz-model") + "/model"
        try FileManager.default.copyItem(atPath: Self.tinyModel, toPath: folder)
        return folder
    }

    /// Runs a tiny generation; the exit status must be 0 or 2 (only 2 with `refused`), and 2 must say what and how.
    func expectNoTrap(_ arguments: [String], _ label: String, refused: Bool = false) throws {
        let output = try TestSupport.temporaryFolder("fuzz-out") + "/o.png"
        let result = try TestSupport.run(binary, ["generate", "--prompt", "a cat", "--steps", "2", "--size", "16x16", "--output", output, "--quiet"] + arguments)
        #expect(result.status == 2 || (!refused && result.status == 0), "\(label): exit \(result.status)\n\(result.stderr.suffix(800))")
        if result.status == 2 { #expect(result.stderr.contains("error:") && result.stderr.contains("hint:"), "\(label): \(result.stderr)") }
    }

    @Test func mutatedConfigsGiveErrorsNotTraps() throws {
        let files = ["unet/config.json", "vae/config.json", "text_encoder/config.json", "scheduler/scheduler_config.json"]
        let values: [Any] = [0, 1, -1, 5, 3, 1_000_000_000, 2.5, "x", [Int](), NSNull()]
        var generator = SeededGenerator(seed: 17)
        var cases: [(String, String, Any, refused: Bool)] = []
        // The values the issue saw trap (each must be refused), then seeded random ones over every key.
        let known: [(String, String, Any)] = [("scheduler/scheduler_config.json", "num_train_timesteps", 0), ("scheduler/scheduler_config.json", "num_train_timesteps", 1),
                  ("unet/config.json", "attention_head_dim", 0), ("unet/config.json", "attention_head_dim", 5),
                  ("unet/config.json", "norm_num_groups", 0), ("vae/config.json", "norm_num_groups", 0), ("vae/config.json", "norm_num_groups", 5),
                  ("scheduler/scheduler_config.json", "beta_end", 1.5), ("scheduler/scheduler_config.json", "beta_start", 0.5),
                  ("text_encoder/config.json", "num_attention_heads", 0), ("text_encoder/config.json", "num_attention_heads", 5),
                  ("unet/config.json", "block_out_channels", [32]), ("vae/config.json", "block_out_channels", [Int]())]
        cases += known.map { ($0.0, $0.1, $0.2, refused: true) }
        for _ in 0..<40 {
            let file = files.randomElement(using: &generator)!
            let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Self.tinyModel + "/" + file))) as! [String: Any]
            let key = object.keys.sorted().randomElement(using: &generator)!
            cases.append((file, key, values.randomElement(using: &generator)!, refused: false))
        }
        let model = try copyOfModel()
        for (file, key, value, refused) in cases {
            let path = model + "/" + file
            let original = try Data(contentsOf: URL(fileURLWithPath: path))
            var object = try JSONSerialization.jsonObject(with: original) as! [String: Any]
            object[key] = value
            try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
            try expectNoTrap(["--model", model], "\(file) \(key) = \(value)", refused: refused)
            try original.write(to: URL(fileURLWithPath: path))
        }
    }

    @Test func tensorsOfTheWrongRankGiveErrorsNotTraps() throws {
        // A single file: the configs are inferred from its tensors' shapes.
        let file = try TensorFile(contentsOf: Self.tinySingleFile)
        var generator = SeededGenerator(seed: 23)
        let inferredFrom = ["first_stage_model.post_quant_conv.weight", "model.diffusion_model.out.2.weight", "model.diffusion_model.input_blocks.0.0.weight",
                            "first_stage_model.encoder.conv_in.weight", "cond_stage_model.transformer.text_model.embeddings.token_embedding.weight"]
        for key in inferredFrom { #expect(file.names.contains(key), "the fixture has \(key)") }
        let keys = inferredFrom + (0..<24).map { _ in file.names.randomElement(using: &generator)! }
        let folder = try TestSupport.temporaryFolder("fuzz-single")
        for (index, key) in keys.enumerated() {
            for rank in [0, 1] {
                let path = folder + "/m\(index)-\(rank).safetensors"
                try file.reshaping(key, toRank: rank).write(to: URL(fileURLWithPath: path))
                try expectNoTrap(["--model", path, "--config", Self.tinyModel], "\(key) as \(rank)-d")
            }
        }
        // A diffusers folder: the same for its component files.
        let model = try copyOfModel()
        for component in ["unet/diffusion_pytorch_model.safetensors", "vae/diffusion_pytorch_model.safetensors", "text_encoder/model.safetensors"] {
            let path = model + "/" + component
            let original = try TensorFile(contentsOf: path)
            let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            for key in (0..<6).map({ _ in original.names.randomElement(using: &generator)! }) {
                try original.reshaping(key, toRank: 0).write(to: URL(fileURLWithPath: path))
                try expectNoTrap(["--model", model], "\(component) \(key) as 0-d")
            }
            try bytes.write(to: URL(fileURLWithPath: path))
        }
    }

    @Test func aVAEThatMakesNaNIsAnErrorWithAHint() throws {
        let model = try copyOfModel()
        let path = model + "/vae/diffusion_pytorch_model.safetensors"
        try TensorFile(contentsOf: path).filling("decoder.conv_out.bias", with: .nan).write(to: URL(fileURLWithPath: path))
        let result = try TestSupport.run(binary, ["generate", "--model", model, "--prompt", "a cat", "--steps", "2", "--size", "16x16",
                                                  "--output", model + "/o.png", "--quiet"])
        #expect(result.status == 2 && result.stderr.contains("NaN") && result.stderr.contains("fp16-fix VAE"), "\(result.stderr)")
    }

    /// A generated job's identity covers every component: a new VAE makes new images, not cached ones.
    @Test func swappingTheVAEMakesNewImages() throws {
        let root = try TestSupport.temporaryFolder("fuzz-identity")
        let model = root + "/model"
        try FileManager.default.copyItem(atPath: Self.tinyModel, toPath: model)
        try Data("generate:\n  model: model\n  prompts: [a red bicycle]\n  size: 32x32\n  steps: 2\nfinish: {long_edge: 128}\noutput: out\n".utf8)
            .write(to: URL(fileURLWithPath: root + "/w.yaml"))
        let environment = ["XDG_CACHE_HOME": root + "/cache"]
        let first = try TestSupport.run(binary, ["run", root + "/w.yaml"], environment: environment)
        #expect(first.status != 2 && first.stderr.contains("generate done"), "\(first.stderr)")
        let image = try Data(contentsOf: URL(fileURLWithPath: root + "/out/images/a-red-bicycle-s0.jpg"))
        let same = try TestSupport.run(binary, ["run", root + "/w.yaml"], environment: environment)
        #expect(same.stderr.contains("generate skipped"), "\(same.stderr)")
        let vae = model + "/vae/diffusion_pytorch_model.safetensors"
        try TensorFile(contentsOf: vae).filling("decoder.conv_out.bias", with: 0.25).write(to: URL(fileURLWithPath: vae))
        let swapped = try TestSupport.run(binary, ["run", root + "/w.yaml"], environment: environment)
        #expect(swapped.stderr.contains("generate done"), "\(swapped.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: root + "/out/images/a-red-bicycle-s0.jpg")) != image)
    }
}

/// A safetensors file's tensors, rewritten with one tensor changed, through Neural's own reader and writer.
struct TensorFile {
    var tensors: [(name: String, tensor: HostTensor)]
    var metadata: [String: String]

    init(contentsOf path: String) throws {
        let file = try SafeTensorsFile(path: path)
        metadata = file.metadata
        tensors = try file.entries.keys.sorted().map { ($0, try file.tensor($0)) }
    }

    var names: [String] { tensors.map(\.name) }

    func changing(_ key: String, _ change: (HostTensor) -> HostTensor) throws -> Data {
        try SafeTensorsWriter.serialize(tensors.map { $0.name == key ? ($0.name, change($0.tensor)) : $0 }, metadata: metadata)
    }

    /// The file with `key` made 0-d (its first element) or 1-d (all elements in a row).
    func reshaping(_ key: String, toRank rank: Int) throws -> Data {
        try changing(key) { rank == 0 ? HostTensor(shape: [], storage: [$0.storage[0]]) : HostTensor(shape: [$0.count], storage: $0.storage) }
    }

    /// The file with every element of `key` set to `value`.
    func filling(_ key: String, with value: Float) throws -> Data {
        try changing(key) { HostTensor(shape: $0.shape, storage: [Float](repeating: value, count: $0.count)) }
    }
}
