import Foundation
import Neural
import TestSupport
import Testing

@Suite struct SafeTensorsTests {
    static let referenceFile = TestSupport.repositoryRoot + "/Tests/Fixtures/neural/reference_writer.safetensors"

    @Test func readsWhatTheReferenceLibraryWrote() throws {
        let file = try SafeTensorsFile(path: Self.referenceFile)
        #expect(file.metadata["purpose"] == "reader fixture")
        let f32 = try file.tensor("f32")
        #expect(f32.shape == [2, 3, 4])
        #expect(f32.storage.first == -3.5 && f32.storage.last == 3.5)
        let f16 = try file.tensor("f16"), bf16 = try file.tensor("bf16")
        for (exact, half) in zip(f32.storage, f16.storage) { #expect(abs(exact - half) <= abs(exact) * 1e-3) }
        for (exact, brain) in zip(f32.storage, bf16.storage) { #expect(abs(exact - brain) <= abs(exact) * 8e-3) }
        #expect(try file.tensor("scalar") == HostTensor(shape: [], storage: [1.25]))
        #expect(try file.tensor("empty").shape == [0, 3])
        let halves = try file.tensor("halves").storage
        #expect(halves[0] == 65504)
        #expect(abs(halves[1] - 6.1e-5) < 1e-7)
        #expect(halves[2] == Float(sign: .plus, exponent: -24, significand: 1))  // smallest subnormal
        #expect(halves[3] == 0 && halves[3].sign == .minus)
        #expect(halves[4] == .infinity)
    }

    @Test func writerRoundTripsAndTheReferenceLayoutHolds() throws {
        let folder = try TestSupport.temporaryFolder("safetensors")
        let path = folder + "/out.safetensors"
        let tensor = HostTensor(shape: [2, 2], storage: [1, -2.5, 3.25, 0.1])
        try SafeTensorsWriter.write([("latents", tensor), ("b", HostTensor(shape: [1], storage: [7]))], to: path, metadata: ["k": "v"])
        let file = try SafeTensorsFile(path: path)
        #expect(try file.tensor("latents") == tensor)
        #expect(file.metadata == ["k": "v"])
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let headerLength = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        #expect((8 + headerLength) % 8 == 0)

        let half = folder + "/half.safetensors"
        try SafeTensorsWriter.write([("x", HostTensor(shape: [3], storage: [0.5, -1024, 1e-6]))], to: half, as: .f16)
        let read = try SafeTensorsFile(path: half).tensor("x").storage
        #expect(read[0] == 0.5 && read[1] == -1024 && abs(read[2] - 1e-6) < 6e-8)
    }

    /// Builds a file from a header text and a data section.
    func file(header: String, data: Data = Data(count: 16), lengthOverride: UInt64? = nil) throws -> String {
        let folder = try TestSupport.temporaryFolder("hostile")
        var bytes = Data()
        let json = Data(header.utf8)
        withUnsafeBytes(of: (lengthOverride ?? UInt64(json.count)).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(json)
        bytes.append(data)
        let path = folder + "/x.safetensors"
        try bytes.write(to: URL(fileURLWithPath: path))
        return path
    }

    func expectInvalid(_ path: String, mentioning words: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try SafeTensorsFile(path: path)
            Issue.record("accepted a malformed file", sourceLocation: sourceLocation)
        } catch let error as NeuralError {
            #expect(error.description.contains(words), "\(error)", sourceLocation: sourceLocation)
            #expect(error.description.contains(path), sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func hostileHeadersAreRejectedWithTheTensorNamed() throws {
        expectInvalid(try file(header: "{}", lengthOverride: 1 << 40), mentioning: "more than the 100 MB limit")
        expectInvalid(try file(header: "{}", data: Data(), lengthOverride: 500), mentioning: "claims 500 bytes")
        expectInvalid(try file(header: "[1, 2]"), mentioning: "not a JSON object")
        expectInvalid(try file(header: "{\"a\": {\"dtype\": \"F32\", \"shape\": [2, 2], \"data_offsets\": [0, 12]}}"),
                      mentioning: "tensor \"a\": shape [2, 2] of F32 needs 16 bytes")
        expectInvalid(try file(header: "{\"a\": {\"dtype\": \"Q4\", \"shape\": [1], \"data_offsets\": [0, 1]}}"), mentioning: "unknown dtype")
        expectInvalid(try file(header: "{\"a\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 4]}}"), mentioning: "non-negative integer")
        expectInvalid(try file(header: "{\"a\": {\"dtype\": \"F32\", \"shape\": [8], \"data_offsets\": [0, 32]}}"), mentioning: "past the end of the data")
        expectInvalid(try file(header: "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [8, 0]}}"), mentioning: "reversed")
        expectInvalid(try file(header: "{\"a\": {\"dtype\": \"F32\", \"shape\": [4294967295, 4294967295, 4294967295], \"data_offsets\": [0, 4]}}"),
                      mentioning: "tensor \"a\"")
        expectInvalid(try file(header: """
            {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}
            """), mentioning: "overlap")
        expectInvalid(try file(header: "{\"__metadata__\": {\"k\": 3}}"), mentioning: "__metadata__")
    }

    @Test func truncatedAndCorruptedFilesNeverCrash() throws {
        let original = try Data(contentsOf: URL(fileURLWithPath: Self.referenceFile))
        let folder = try TestSupport.temporaryFolder("corrupt")
        let path = folder + "/c.safetensors"
        var rejected = 0
        // Every truncation.
        for length in 0..<original.count {
            try original.prefix(length).write(to: URL(fileURLWithPath: path))
            do {
                let file = try SafeTensorsFile(path: path)
                for name in file.names { _ = try? file.tensor(name) }
            } catch { rejected += 1 }
        }
        #expect(rejected == original.count)  // no prefix is a valid file: the last tensor's bytes are missing
        // Seeded random byte corruption: whatever happens, it is a thrown error or valid data.
        var state: UInt64 = 0x5EED
        func next() -> UInt64 { state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407; return state >> 33 }
        for _ in 0..<400 {
            var bytes = original
            for _ in 0..<(1 + Int(next() % 4)) { bytes[Int(next() % UInt64(bytes.count))] = UInt8(next() & 0xFF) }
            try bytes.write(to: URL(fileURLWithPath: path))
            if let file = try? SafeTensorsFile(path: path) {
                for name in file.names { _ = try? file.tensor(name) }
            }
        }
    }
}
