import CVips
import Foundation

/// How the finish stage brings an image to agency size. Defaults suit a 1K AI image → 6K JPEG.
public struct FinishSettings: Codable, Hashable, Sendable {
    public enum Target: Codable, Hashable, Sendable {
        case longEdge(Int)
        case megapixels(Double)
    }

    /// Kernels libvips uses when shrinking (it ignores them when enlarging).
    public enum ShrinkKernel: String, Codable, CaseIterable, Sendable {
        case nearest, linear, cubic, mitchell, lanczos2, lanczos3

        var vipsValue: Int32 {
            switch self {
            case .nearest: return Int32(VIPS_KERNEL_NEAREST.rawValue)
            case .linear: return Int32(VIPS_KERNEL_LINEAR.rawValue)
            case .cubic: return Int32(VIPS_KERNEL_CUBIC.rawValue)
            case .mitchell: return Int32(VIPS_KERNEL_MITCHELL.rawValue)
            case .lanczos2: return Int32(VIPS_KERNEL_LANCZOS2.rawValue)
            case .lanczos3: return Int32(VIPS_KERNEL_LANCZOS3.rawValue)
            }
        }
    }

    /// Interpolators libvips uses when enlarging.
    public enum Interpolator: String, Codable, CaseIterable, Sendable {
        case bicubic, nohalo, lbb, bilinear, nearest
    }

    public enum ChromaSubsampling: String, Codable, CaseIterable, Sendable {
        case off = "4:4:4", on = "4:2:0", auto

        var vipsValue: Int32 {
            switch self {
            case .auto: return 0
            case .on: return 1
            case .off: return 2
            }
        }
    }

    /// Unsharp masking on lightness (vips_sharpen): sigma of the blur, flat/jaggy threshold and slopes.
    public struct Sharpen: Codable, Hashable, Sendable {
        public var sigma: Double
        public var threshold: Double
        public var flatAmount: Double
        public var amount: Double

        public init(sigma: Double, threshold: Double = 2, flatAmount: Double = 0, amount: Double = 2) {
            self.sigma = sigma; self.threshold = threshold; self.flatAmount = flatAmount; self.amount = amount
        }

        /// A light touch that restores edge contrast lost to a bicubic enlargement without halos.
        public static let mild = Sharpen(sigma: 0.8, threshold: 2, flatAmount: 0, amount: 2)
        public static let strong = Sharpen(sigma: 1.2, threshold: 1.5, flatAmount: 0.5, amount: 3)
    }

    public var target: Target
    public var shrinkKernel: ShrinkKernel
    public var enlargeInterpolator: Interpolator
    /// Largest allowed ratio of output long edge to source long edge.
    public var maxEnlargement: Double
    public var sharpen: Sharpen?
    public var quality: Int
    public var chromaSubsampling: ChromaSubsampling
    public var progressive: Bool

    public init(target: Target = .longEdge(6144), shrinkKernel: ShrinkKernel = .lanczos3,
                enlargeInterpolator: Interpolator = .bicubic, maxEnlargement: Double = 8,
                sharpen: Sharpen? = .mild, quality: Int = 92,
                chromaSubsampling: ChromaSubsampling = .off, progressive: Bool = false) {
        self.target = target; self.shrinkKernel = shrinkKernel; self.enlargeInterpolator = enlargeInterpolator
        self.maxEnlargement = maxEnlargement; self.sharpen = sharpen; self.quality = quality
        self.chromaSubsampling = chromaSubsampling; self.progressive = progressive
    }

    /// The output size for a source of `width`×`height`, keeping the aspect ratio.
    public func outputSize(width: Int, height: Int) -> (width: Int, height: Int) {
        let scale: Double
        switch target {
        case .longEdge(let edge): scale = Double(edge) / Double(max(width, height))
        case .megapixels(let mp): scale = (mp * 1_000_000 / Double(width * height)).squareRoot()
        }
        if case .longEdge(let edge) = target {
            // The long edge is exact; the short one is rounded.
            if width >= height { return (edge, max(1, Int((Double(height) * scale).rounded()))) }
            return (max(1, Int((Double(width) * scale).rounded())), edge)
        }
        return (max(1, Int((Double(width) * scale).rounded())), max(1, Int((Double(height) * scale).rounded())))
    }
}
