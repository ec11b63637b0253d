import Foundation
import Neural

/// Interleaved 8-bit RGB ⇄ the pipeline's [1, 3, H, W] tensors, with diffusers' exact arithmetic.
public enum ImagePixels {
    /// For img2img: x / 255 then 2x − 1 (VaeImageProcessor.preprocess on a PIL image), float32.
    public static func tensor(fromRGB pixels: [UInt8], width: Int, height: Int) -> Tensor {
        precondition(pixels.count == width * height * 3, "ImagePixels: \(pixels.count) bytes for \(width)x\(height)")
        let plane = width * height
        var out = [Float](repeating: 0, count: 3 * plane)
        for i in 0..<plane {
            for c in 0..<3 { out[c * plane + i] = 2 * (Float(pixels[i * 3 + c]) / 255) - 1 }
        }
        return Tensor(shape: [1, 3, height, width], storage: out)
    }

    /// Bytes as a result image, [1, 3, H, W] in [0, 1] (x / 255): a first pass read back from its file.
    public static func unitTensor(fromRGB pixels: [UInt8], width: Int, height: Int) -> Tensor {
        precondition(pixels.count == width * height * 3, "ImagePixels: \(pixels.count) bytes for \(width)x\(height)")
        let plane = width * height
        var out = [Float](repeating: 0, count: 3 * plane)
        for i in 0..<plane {
            for c in 0..<3 { out[c * plane + i] = Float(pixels[i * 3 + c]) / 255 }
        }
        return Tensor(shape: [1, 3, height, width], storage: out)
    }

    /// A decoded image in [0, 1] to bytes: round(x · 255), ties to even, as numpy_to_pil does.
    /// A NaN or infinity (a broken model file, an fp16 VAE that overflowed) is an error, not a trap.
    public static func rgb(from image: Tensor) throws -> [UInt8] {
        guard image.storage.allSatisfy(\.isFinite) else {
            throw DiffusionError.notFinite("the VAE produced NaN or infinite pixels")
        }
        let (height, width) = (image.shape[2], image.shape[3])
        let plane = width * height
        var out = [UInt8](repeating: 0, count: 3 * plane)
        for i in 0..<plane {
            for c in 0..<3 {
                let value = (image.storage[c * plane + i] * 255).rounded(.toNearestOrEven)
                out[i * 3 + c] = UInt8(min(max(value, 0), 255))
            }
        }
        return out
    }
}
