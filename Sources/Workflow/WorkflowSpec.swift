import Diffusion
import Foundation
import Neural
import Imaging
import Metadata

/// A parsed, validated workflow file. Paths are absolute (resolved against the file's folder).
public struct WorkflowSpec: Sendable {
    public struct ImportSource: Sendable {
        /// Glob patterns (`*`, `?`, `[…]`, and `**` for any depth of folders).
        public var patterns: [String]
        /// `ai_generated:` as written (nil when absent): a declaration, weighed against the files' evidence.
        public var aiGenerated: Bool?
        public var readSidecars: Bool
        public var readEmbeddedMetadata: Bool
        /// Where the `files` key is, for errors found while planning.
        var location: Location
    }

    /// `generate:` images with the built-in engine, one job per prompt (after expanding
    /// `{a|b}` groups and `__name__` wildcards) and seed.
    public struct GenerateSource: Sendable {
        /// A preset name from presets/models/ or a path (relative to the workflow file's folder).
        public var model: String
        public var modelsFolder: String?
        public var prompts: [String]
        public var negativePrompt: String
        public var seeds: [UInt64]
        /// nil: the model preset's recommendation, else the model's native size.
        public var width: Int?
        public var height: Int?
        public var steps: Int?
        public var sampler: String?
        public var guidance: Double?
        public var wildcardsFolder: String
        /// LoRAs every image of this section uses (besides its prompt's `<lora:…>` tags).
        public var loras: [LoRASetting] = []
        /// Where LoRAs are found by name; nil: $STOCKWERK_LORAS or `loras/` in the models folder.
        public var lorasFolder: String?
        /// Where textual-inversion embeddings are; nil: $STOCKWERK_EMBEDDINGS or `embeddings/` in the models folder.
        public var embeddingsFolder: String?
        /// A1111's Clip skip for SD 1.x models (nil: 1, the last layer).
        public var clipSkip: Int?
        /// Another VAE: a path (relative to the workflow file) or a name in the models folder's `vae/`.
        public var vae: String?
        var vaeLocation: Location?
        /// SDXL's refiner: the base runs the first `switchAt` of the steps, the refiner the rest.
        public var refiner: RefinerSetting?
        /// Most prompts one template may expand to; more is an error, never a silent cut.
        public var maxPrompts: Int
        var location: Location
        var modelLocation: Location
        var promptLocations: [Location]
    }

    /// `generate.refiner`: an SDXL refiner (preset name or path) and where the base hands over to it.
    public struct RefinerSetting: Sendable {
        public var model: String
        /// The fraction of the steps the base runs (A1111's "Refiner switch at").
        public var switchAt: Double
        var location: Location
        /// A1111's default and diffusers' documented example.
        public static let defaultSwitch = 0.8
    }

    /// One `generate.loras` entry: a LoRA by name (its file is NAME.safetensors in the LoRA folder) and its weight.
    public struct LoRASetting: Sendable, Equatable {
        public var name: String
        public var weight: Double
    }

    /// `describe:` ranked keywords (and a title and description where missing) for every image,
    /// from its prompt, metadata, file name and pixels (Keywording).
    public struct DescribeSettings: Sendable {
        /// Set in the workflow; otherwise the smallest `max_keywords` of the target agencies, or 49
        /// (Adobe Stock's limit) when none has one. The list is ranked, so a cut keeps the best.
        public var maxKeywords: Int?
        /// Words and phrases that never become keywords (`describe.exclude`), matched as whole words.
        public var exclude: [String] = []
        var location: Location
    }

    /// `refine:` the pass over generated images that adds detail at a larger size: the hires pass
    /// (enlarged ×factor in latent space or in pixels, then img2img with the same prompt and seed)
    /// or the SD x2 latent upscaler model. See docs/upscaling.md.
    public struct RefineSettings: Sendable {
        public enum Mode: String, Sendable, CaseIterable { case latent, pixel, x2Upscaler = "x2-upscaler" }
        public var mode: Mode = .latent
        /// The latent enlargement (torch interpolate mode); `pixel` mode ignores it.
        public var upscale: String = "bicubic-antialiased"
        public var factor: Double = 2
        /// Default by mode: a latent enlargement is blurry and needs more redrawing than a pixel one.
        public var strength: Double?
        /// Default: the generation's steps (x2-upscaler: 20, as its model card).
        public var steps: Int?
        /// Default: the generation's sampler.
        public var sampler: String?
        /// x2-upscaler: the upscaler's diffusers folder (a path, or a folder name in the models folder).
        public var model: String?
        /// x2-upscaler: classifier-free guidance (0, the model card's value, ignores the prompt).
        public var guidance: Double?
        /// VAE tiles, in latent pixels.
        public var tileSize = 64, tileOverlap = 16
        var location: Location
        var modelLocation: Location?

        public static let defaultLatentStrength = 0.55, defaultPixelStrength = 0.35
        public static let defaultUpscalerModel = "sd-x2-latent-upscaler", defaultUpscalerSteps = 20

        public var enlargement: String { mode == .latent ? upscale : mode.rawValue }
        public var effectiveStrength: Double {
            switch mode {
            case .latent: return strength ?? Self.defaultLatentStrength
            case .pixel: return strength ?? Self.defaultPixelStrength
            case .x2Upscaler: return 1  // it draws the large latents from noise, guided by the small ones
            }
        }
    }

    /// `upscale:` a learned super-resolution model (ESRGAN / Real-ESRGAN family) on every image,
    /// imported or generated, after refine and before finish (docs/upscaling.md).
    public struct UpscaleSettings: Sendable, Encodable {
        /// A .safetensors path (relative to the workflow file) or a name in the models folder's upscalers/.
        public var model: String
        /// Tiles in input pixels (memory stays bounded whatever the image's size).
        public var tileSize = UpscalerTiling.standard.size, tileOverlap = UpscalerTiling.standard.overlap
        /// `redraw:`: the tiled diffusion upscale of generated images after the learned model.
        public var redraw: RedrawSettings?
        var location: Location
        var modelLocation: Location

        private enum CodingKeys: String, CodingKey { case model, tileSize, tileOverlap, redraw }
    }

    /// `upscale.redraw:` (TiledDiffusionUpscale): each generated image, once enlarged, redrawn tile
    /// by tile with img2img at a low strength with its own model, prompt and seed.
    public struct RedrawSettings: Sendable, Encodable {
        public var strength = 0.3
        /// Steps of the full schedule (int(steps × strength) run per tile); nil: the generation's.
        public var steps: Int?
        /// Tile side in pixels; nil: the generated image's shorter side (the model's native size).
        public var tile: Int?
        public var overlap = 64
        /// The seam-fix pass's strength; nil: no seam fix.
        public var seamFix: Double?
        var location: Location

        private enum CodingKeys: String, CodingKey { case strength, steps, tile, overlap, seamFix }
    }

    /// `checks: {soft: reject}` or `checks: {soft: {adobe-stock: reject, shutterstock: warn}}`:
    /// what a soft enlargement (the detail figure below the agency's min_detail_vs_bicubic, 1.1
    /// where the preset has none) is for each agency.
    public struct CheckSettings: Sendable {
        public enum Gate: String, Sendable, CaseIterable { case reject, warn, off }
        /// For every agency not named in `softByAgency`; nil: as the preset says.
        public var soft: Gate?
        public var softByAgency: [String: Gate] = [:]

        public func soft(for agency: String) -> Gate? { softByAgency[agency] ?? soft }
    }

    public struct MetadataDefaults: Sendable {
        public var title: String?
        public var description: String?
        public var keywords: [String] = []
        public var creators: [String] = []
        public var copyright: String?
        public var credit: String?
        public var source: String?
        public var instructions: String?
        public var city: String?
        public var country: String?
        public var dataMining: DataMining?
        /// `auto`: trainedAlgorithmicMedia for AI images, nothing for others.
        public var digitalSourceType: DigitalSourceTypeChoice = .auto
        /// Agency id → category (a number for Adobe Stock, names for Shutterstock).
        public var categories: [String: String] = [:]
        public var editorial = false
        /// AI images keep the source photo's camera EXIF (Make, Model, lens, exposure, GPS, date) only when set.
        public var keepCameraEXIF = false
        /// X/Y resolution written into every output, in whole dots per inch.
        public var resolutionDPI = 300
    }

    public enum DigitalSourceTypeChoice: String, Sendable, CaseIterable {
        case auto, none
        case trainedAlgorithmicMedia, compositeWithTrainedAlgorithmicMedia, algorithmicMedia, digitalCapture, algorithmicallyEnhanced, digitalCreation
    }

    struct Location: Sendable { var line: Int; var column: Int }

    public var file: String
    public var name: String
    public var imports: [ImportSource]
    public var generate: GenerateSource?
    public var describe: DescribeSettings?
    public var refine: RefineSettings?
    public var upscale: UpscaleSettings?
    /// `checks:`: the workflow's own choices about the agencies' checks.
    public var checks = CheckSettings()
    /// `review: required`: packages wait until a person has approved or rejected every image (`stockwerk review`).
    public enum Review: String, Sendable { case off, required }
    public var review: Review = .off
    public var finish: FinishSettings
    public var metadata: MetadataDefaults
    public var agencies: [String]
    public var output: String
    /// The engine's precision for generated images (`engine: {precision: …}`; fp32 when absent).
    public var precision: Precision = .fp32
    /// How Float32 products keep 16-bit checkpoints' weights (`engine: {weights: …}`); never changes pixels.
    public var weights: WeightStorage = .auto
    /// Where the engine runs (`engine: {device: …}`): the CPU unless a GPU is asked for (docs/gpu.md).
    public var device: EngineDevice = .cpu
    var deviceLocation: Location?
    var finishLocation: Location
    var agencyLocations: [String: Location]
    var outputLocation = Location(line: 1, column: 1)
}
