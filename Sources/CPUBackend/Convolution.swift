import Neural
import CDNNL
import Foundation

/// 2-D convolution through oneDNN (primitives created once per shape and cached).
enum Convolution {
    /// x: [batch, in, h, w]; weight: [out, in, kh, kw]; bias: [out]. Square stride; `padding` zeros
    /// before each spatial axis and `paddingEnd` (default: the same) after it, as the VAE encoder's
    /// downsampler pads only bottom and right.
    static func conv2d(_ x: HostTensor, weight: HostTensor, bias: HostTensor?, stride: Int = 1, padding: Int = 0, paddingEnd: Int? = nil) throws -> HostTensor {
        let paddingEnd = paddingEnd ?? padding
        guard x.shape.count == 4, weight.shape.count == 4, x.shape[1] == weight.shape[1], stride >= 1, padding >= 0, paddingEnd >= 0 else {
            throw NeuralError.shapeMismatch("conv2d: input \(x.shape), weight \(weight.shape)")
        }
        if let bias, bias.count != weight.shape[0] { throw NeuralError.shapeMismatch("conv2d: bias \(bias.shape) for \(weight.shape[0]) outputs") }
        let (batch, channels, height, width) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (outChannels, kh, kw) = (weight.shape[0], weight.shape[2], weight.shape[3])
        let outH = (height + padding + paddingEnd - kh) / stride + 1, outW = (width + padding + paddingEnd - kw) / stride + 1
        guard outH > 0, outW > 0 else { throw NeuralError.shapeMismatch("conv2d: kernel \(kh)x\(kw) larger than the padded input \(height)x\(width)") }
        var status: Int32 = 0
        let storage = [Float](unsafeUninitializedCapacity: batch * outChannels * outH * outW) { out, initialized in
            x.storage.withUnsafeBufferPointer { src in
                weight.storage.withUnsafeBufferPointer { w in
                    if let bias {
                        bias.storage.withUnsafeBufferPointer { b in
                            status = sw_dnnl_conv2d(src.baseAddress, Int64(batch), Int64(channels), Int64(height), Int64(width), w.baseAddress,
                                                    Int64(outChannels), Int64(kh), Int64(kw), b.baseAddress, Int64(stride), Int64(padding), Int64(paddingEnd),
                                                    out.baseAddress, Int64(outH), Int64(outW))
                        }
                    } else {
                        status = sw_dnnl_conv2d(src.baseAddress, Int64(batch), Int64(channels), Int64(height), Int64(width), w.baseAddress,
                                                Int64(outChannels), Int64(kh), Int64(kw), nil, Int64(stride), Int64(padding), Int64(paddingEnd),
                                                out.baseAddress, Int64(outH), Int64(outW))
                    }
                }
            }
            if status != 0 { out.initialize(repeating: 0) }
            initialized = out.count
        }
        guard status == 0 else { throw NeuralError.shapeMismatch("conv2d: oneDNN failed with status \(status) for input \(x.shape), weight \(weight.shape)") }
        return HostTensor(shape: [batch, outChannels, outH, outW], storage: storage)
    }
}

/// A convolution's weights, prepared once (Float32 or bf16) in the blocked layout oneDNN's
/// kernels read on this CPU, with its bias and geometry.
final class CPUConvolution: PreparedConvolution, @unchecked Sendable {
    let weights: OpaquePointer
    let bias: HostTensor?
    let inputs: Int, outputs: Int, kernel: (height: Int, width: Int)
    let stride: Int, padding: Int, paddingEnd: Int

    /// `keepingHalf` (Float32 only): kept in 16 bits when all values are exactly fp16 or bf16 (HalfWeights).
    init(weight: HostTensor, bias: HostTensor?, stride: Int, padding: Int, paddingEnd: Int, bf16: Bool = false, keepingHalf: Bool = false) throws {
        guard weight.shape.count == 4, weight.shape.allSatisfy({ $0 > 0 }), stride >= 1, padding >= 0, paddingEnd >= 0,
              bias.map({ $0.count == weight.shape[0] }) ?? true else {
            throw NeuralError.shapeMismatch("convolution weight \(weight.shape), bias \(bias?.shape ?? []), stride \(stride), padding \(padding)/\(paddingEnd)")
        }
        let (outputs, inputs, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
        guard let prepared = weight.storage.withUnsafeBufferPointer({ w in
            sw_dnnl_conv_weights_prepare(w.baseAddress, Int64(outputs), Int64(inputs), Int64(kh), Int64(kw), Int64(stride), Int64(padding), Int64(paddingEnd),
                                         bf16 ? 1 : 0)
        }) else {
            if bf16 { throw NeuralError.unsupportedPrecision("this CPU has no bf16 convolution in oneDNN \(CPUBackend.oneDNNVersion)") }
            throw NeuralError.shapeMismatch("oneDNN could not prepare convolution weights \(weight.shape)")
        }
        if keepingHalf && !bf16 && sw_weights_keep_half(prepared, Int32(SW_HALF_F16)) == 0 { _ = sw_weights_keep_half(prepared, Int32(SW_HALF_BF16)) }
        weights = prepared
        (self.outputs, self.inputs, kernel) = (outputs, inputs, (kh, kw))
        self.bias = bias
        self.stride = stride
        self.padding = padding
        self.paddingEnd = paddingEnd
    }

    deinit { sw_dnnl_weights_destroy(weights) }

    func apply(_ x: HostTensor, adding residual: HostTensor? = nil) throws -> HostTensor {
        guard x.shape.count == 4, x.shape[1] == inputs else {
            throw NeuralError.shapeMismatch("conv2d: input \(x.shape) for weights [\(outputs), \(inputs), \(kernel.height), \(kernel.width)]")
        }
        let (batch, height, width) = (x.shape[0], x.shape[2], x.shape[3])
        let outH = (height + padding + paddingEnd - kernel.height) / stride + 1, outW = (width + padding + paddingEnd - kernel.width) / stride + 1
        guard height + padding + paddingEnd >= kernel.height, width + padding + paddingEnd >= kernel.width, outH > 0, outW > 0 else {
            throw NeuralError.shapeMismatch("conv2d: kernel \(kernel.height)x\(kernel.width) larger than the padded input \(height)x\(width)")
        }
        if let residual, residual.shape != [batch, outputs, outH, outW] {
            throw NeuralError.shapeMismatch("conv2d: residual \(residual.shape) for an output [\(batch), \(outputs), \(outH), \(outW)]")
        }
        var status: Int32 = 0
        let storage = [Float](unsafeUninitializedCapacity: batch * outputs * outH * outW) { out, initialized in
            x.storage.withUnsafeBufferPointer { src in
                func run(_ b: UnsafePointer<Float>?, _ r: UnsafePointer<Float>?) {
                    status = sw_dnnl_conv2d_prepared(src.baseAddress, Int64(batch), Int64(inputs), Int64(height), Int64(width), weights, b,
                                                     Int64(stride), Int64(padding), Int64(paddingEnd), r, out.baseAddress, Int64(outH), Int64(outW))
                }
                func withResidual(_ b: UnsafePointer<Float>?) {
                    if let residual { residual.storage.withUnsafeBufferPointer { run(b, $0.baseAddress) } } else { run(b, nil) }
                }
                if let bias { bias.storage.withUnsafeBufferPointer { withResidual($0.baseAddress) } } else { withResidual(nil) }
            }
            if status != 0 { out.initialize(repeating: 0) }
            initialized = out.count
        }
        guard status == 0 else { throw NeuralError.shapeMismatch("conv2d: oneDNN failed with status \(status) for input \(x.shape)") }
        return HostTensor(shape: [batch, outputs, outH, outW], storage: storage)
    }
}
