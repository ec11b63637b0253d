import Foundation
import Neural

/// Interleaved 8-bit RGB ⇄ the pipeline's [1, 3, H, W] tensors, with diffusers' exact arithmetic.
/// The bytes cross to and from the backend here, once per image.
public enum ImagePixels {
    /// For img2img: x / 255 then 2x − 1 (VaeImageProcessor.preprocess on a PIL image), float32.
    public static func tensor(fromRGB pixels: [UInt8], width: Int, height: Int, on backend: any Backend) -> Tensor {
        backend.tensor(planes(pixels, width: width, height: height) { 2 * (Float($0) / 255) - 1 })
    }

    /// Bytes as a result image, [1, 3, H, W] in [0, 1] (x / 255): a first pass read back from its file.
    public static func unitTensor(fromRGB pixels: [UInt8], width: Int, height: Int, on backend: any Backend) -> Tensor {
        backend.tensor(planes(pixels, width: width, height: height) { Float($0) / 255 })
    }

    /// Interleaved bytes as [1, 3, H, W] planes, each byte through `value`.
    private static func planes(_ pixels: [UInt8], width: Int, height: Int, _ value: (UInt8) -> Float) -> HostTensor {
        precondition(pixels.count == width * height * 3, "ImagePixels: \(pixels.count) bytes for \(width)x\(height)")
        let plane = width * height
        var out = [Float](repeating: 0, count: 3 * plane)
        for i in 0..<plane {
            for c in 0..<3 { out[c * plane + i] = value(pixels[i * 3 + c]) }
        }
        return HostTensor(shape: [1, 3, height, width], storage: out)
    }

    /// A decoded image in [0, 1] to bytes: round(x · 255), ties to even, as numpy_to_pil does.
    /// A NaN or infinity (a broken model file, an fp16 VAE that overflowed) is an error, not a trap.
    public static func rgb(from image: Tensor) throws -> [UInt8] {
        guard image.backend.allFinite(image) else {
            throw DiffusionError.notFinite("the VAE produced NaN or infinite pixels")
        }
        guard image.shape.count == 4, image.shape[0] == 1, image.shape[1] == 3 else {
            throw NeuralError.shapeMismatch("an RGB image is [1, 3, H, W], not \(image.shape)")
        }
        let values = try image.host().storage
        let (height, width) = (image.shape[2], image.shape[3])
        let plane = width * height
        var out = [UInt8](repeating: 0, count: 3 * plane)
        for i in 0..<plane {
            for c in 0..<3 {
                let value = (values[c * plane + i] * 255).rounded(.toNearestOrEven)
                out[i * 3 + c] = UInt8(min(max(value, 0), 255))
            }
        }
        return out
    }
}
