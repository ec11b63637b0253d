import Diffusion
import CPUBackend
import Foundation
import Neural
import TestSupport
import Testing

/// The tiled diffusion upscale against the same algorithm written with numpy around diffusers'
/// img2img (build_fixtures.py tiled-upscale) on the tiny SD1 pipeline: a 48×40 image in 16-px tiles
/// overlapping by 4 (the last column flush with the edge), Euler a at strength 0.5, then the band
/// seam fix at 0.3.
@Suite struct TiledDiffusionUpscaleTests {
    static let fixture = PipelineTests.folder("tiled-upscale-sd1.safetensors")
    static let upscale = TiledDiffusionUpscale(tile: 16, overlap: 4, strength: 0.5, steps: 10, seamFixStrength: 0.3)

    static func request(_ expected: SafeTensorsFile) throws -> GenerationRequest {
        GenerationRequest(prompt: try #require(expected.metadata["prompt"]), negativePrompt: try #require(expected.metadata["negative_prompt"]),
                          seed: 700, steps: 10, guidance: 7.5, sampler: .eulerAncestral, width: 48, height: 40)
    }

    static func differences(_ a: Tensor, _ b: Tensor) throws -> (mean: Float, max: Float) {
        let d = zip(try a.host().storage, try b.host().storage).map { abs($0 - $1) }
        return (d.reduce(0, +) / Float(d.count), d.max() ?? .infinity)
    }

    @Test func matchesTheReferenceOfTheSameAlgorithm() throws {
        let expected = try SafeTensorsFile(path: Self.fixture)
        let pipeline = Pipeline(model: try PipelineTests.model("tiny-sd1"))
        let image = try expected.tensor("image").onCPU
        var plain = Self.upscale
        plain.seamFixStrength = nil
        var calls = 0
        let first = try plain.run(image, base: try Self.request(expected), pipeline: pipeline) { done, total in calls = done; #expect(total == 12) }
        #expect(calls == 12 && first.shape == [1, 3, 40, 48])
        let (mean, worst) = try Self.differences(first, try expected.tensor("first").onCPU)
        #expect(mean <= 1e-4 && worst <= 1e-3, "first pass: mean \(mean), max \(worst)")
        let fixed = try Self.upscale.run(image, base: try Self.request(expected), pipeline: pipeline)
        let (fixedMean, fixedWorst) = try Self.differences(fixed, try expected.tensor("seam_fixed").onCPU)
        #expect(fixedMean <= 1e-4 && fixedWorst <= 1e-3, "seam fixed: mean \(fixedMean), max \(fixedWorst)")
        // The seam fix changed the image near the seams only.
        #expect(try Self.differences(fixed, first).mean > 1e-3)
        #expect(Self.upscale.tileCount(width: 48, height: 40, multiple: 2) == 12 + 9 + 8)
    }

    /// |Mean step| between column x-1 and x (signed steps averaged over all channels and rows, so
    /// texture cancels and a change of tone across a line stands out), for every x.
    static func columnSteps(_ t: HostTensor) -> [Float] {
        let (c, h, w) = (t.shape[1], t.shape[2], t.shape[3])
        return (1..<w).map { x in
            var sum: Float = 0
            for ch in 0..<c { for y in 0..<h { sum += t.storage[(ch * h + y) * w + x] - t.storage[(ch * h + y) * w + x - 1] } }
            return abs(sum / Float(c * h))
        }
    }

    /// The largest mean step across a tile border (x = where a tile starts or ends) and the limit
    /// the other columns' steps set: their mean + 3 standard deviations.
    static func seamExcess(_ t: HostTensor, borders: [Int]) -> (worst: Float, limit: Float) {
        let steps = columnSteps(t)
        let interior = steps.enumerated().filter { !borders.contains($0.offset + 1) }.map(\.element)
        let mean = interior.reduce(0, +) / Float(interior.count)
        let deviation = (interior.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(interior.count)).squareRoot()
        return (borders.map { steps[$0 - 1] }.max()!, mean + 3 * deviation)
    }

    static func transposed(_ t: HostTensor) -> HostTensor {
        let (c, h, w) = (t.shape[1], t.shape[2], t.shape[3])
        var out = [Float](repeating: 0, count: t.count)
        for ch in 0..<c { for y in 0..<h { for x in 0..<w { out[(ch * w + x) * h + y] = t.storage[(ch * h + y) * w + x] } } }
        return HostTensor(shape: [1, c, w, h], storage: out)
    }

    /// Where tiles start and end, in pixels: columns 12, 16, 24, 28, 32, 40; rows 12, 16, 24, 28.
    static let columnBorders = [12, 16, 24, 28, 32, 40], rowBorders = [12, 16, 24, 28]

    /// No seam shows by measurement, across columns or rows. The yardstick can fail: when the tiles
    /// drift in tone (+0.2 on every other one, as real tiles drift in colour), pasting them one over
    /// the other shows every seam, and the blended, seam-fixed result still shows none.
    /// Measured: border steps 0.036 (columns) and 0.047 (rows) against limits 0.135 and 0.115;
    /// pasted drifting tiles 0.154 against 0.137; blended drifting tiles 0.050 and 0.037.
    @Test func seamsDoNotShow() throws {
        let expected = try SafeTensorsFile(path: Self.fixture)
        let pipeline = Pipeline(model: try PipelineTests.model("tiny-sd1"))
        let image = try expected.tensor("image").onCPU
        var tiles: [Int: HostTensor] = [:]
        let store = TiledDiffusionUpscale.TileStore(load: { _ in nil }, save: { name, tile in
            if name.hasPrefix("tile-"), let index = Int(name.dropFirst(5)) { tiles[index] = tile }
        })
        let result = try Self.upscale.run(image, base: try Self.request(expected), pipeline: pipeline, store: store).host()
        let columns = Self.seamExcess(result, borders: Self.columnBorders), rows = Self.seamExcess(Self.transposed(result), borders: Self.rowBorders)
        #expect(columns.worst <= columns.limit && rows.worst <= rows.limit, "columns \(columns), rows \(rows)")

        // First-pass tiles in grid order: rows at 0, 12, 24 px, columns at 0, 12, 24, 32 px.
        #expect(tiles.count == 12)
        let drifted = Dictionary(uniqueKeysWithValues: tiles.map { index, tile in
            (index, HostTensor(shape: tile.shape, storage: tile.storage.map { $0 + ((index / 4 + index % 4) % 2 == 0 ? 0 : 0.2) }))
        })
        var hard = [Float](repeating: 0, count: result.count)
        for (index, tile) in drifted.sorted(by: { $0.0 < $1.0 }) {
            let (top, left) = ([0, 12, 24][index / 4], [0, 12, 24, 32][index % 4])
            for ch in 0..<3 { for y in 0..<16 { for x in 0..<16 { hard[(ch * 40 + top + y) * 48 + left + x] = tile.storage[(ch * 16 + y) * 16 + x] } } }
        }
        let pasted = Self.seamExcess(HostTensor(shape: [1, 3, 40, 48], storage: hard), borders: Self.columnBorders)
        #expect(pasted.worst > pasted.limit, "pasted tiles: \(pasted)")
        let driftStore = TiledDiffusionUpscale.TileStore(load: { name in
            name.hasPrefix("tile-") ? drifted[Int(name.dropFirst(5))!] : nil
        }, save: { _, _ in })
        let blended = try Self.upscale.run(image, base: try Self.request(expected), pipeline: pipeline, store: driftStore).host()
        let driftColumns = Self.seamExcess(blended, borders: Self.columnBorders)
        let driftRows = Self.seamExcess(Self.transposed(blended), borders: Self.rowBorders)
        #expect(driftColumns.worst <= driftColumns.limit && driftRows.worst <= driftRows.limit, "drifting tiles: columns \(driftColumns), rows \(driftRows)")
    }

    /// A run that stopped part way resumes from the tiles it kept: only the missing ones are drawn,
    /// and the result is the same as an uninterrupted run's.
    @Test func keptTilesAreNotRedrawn() throws {
        let expected = try SafeTensorsFile(path: Self.fixture)
        let pipeline = Pipeline(model: try PipelineTests.model("tiny-sd1"))
        let image = try expected.tensor("image").onCPU
        var kept: [String: HostTensor] = [:]
        let whole = try Self.upscale.run(image, base: try Self.request(expected), pipeline: pipeline,
                                         store: .init(load: { kept[$0] }, save: { kept[$0] = $1 }))
        #expect(kept.count == 29)
        // As if killed after the first pass and two seam bands' tiles.
        for name in kept.keys where name.hasPrefix("rows-") || name.hasPrefix("columns-2") { kept[name] = nil }
        var drawn: [String] = []
        let resumed = try Self.upscale.run(image, base: try Self.request(expected), pipeline: pipeline,
                                           store: .init(load: { kept[$0] }, save: { drawn.append($0); kept[$0] = $1 }))
        #expect(drawn.count == 8 + 3 && drawn.allSatisfy { $0.hasPrefix("rows-") || $0.hasPrefix("columns-2") }, "\(drawn)")
        #expect(try resumed.host().storage == whole.host().storage)
    }

    @Test func settingsAreChecked() {
        #expect(throws: DiffusionError.self) { try TiledDiffusionUpscale(tile: 500).validate(multiple: 8) }
        #expect(throws: DiffusionError.self) { try TiledDiffusionUpscale(tile: 512, overlap: 300).validate(multiple: 8) }
        #expect(throws: DiffusionError.self) { try TiledDiffusionUpscale(strength: 0.01, steps: 20).validate(multiple: 8) }
        #expect(throws: Never.self) { try TiledDiffusionUpscale().validate(multiple: 8) }
    }
}
