/// diffusers' Attention (to_q, to_k, to_v, to_out.0) on token rows [tokens, width]: self-attention
/// when called with one input, cross-attention to `context` [tokens', contextWidth] otherwise.
public struct Attention: Sendable {
    public let heads: Int
    let query: Linear, key: Linear, value: Linear, out: Linear

    public init(_ w: WeightLoader, _ prefix: String, width: Int, contextWidth: Int? = nil, heads: Int, projectionBias: Bool) throws {
        guard heads >= 1, width % heads == 0 else { throw NeuralError.shapeMismatch("\(prefix): width \(width) does not split into \(heads) heads") }
        let source = contextWidth ?? width
        self.heads = heads
        query = try Linear(w, prefix + ".to_q", inputs: width, outputs: width, bias: projectionBias)
        key = try Linear(w, prefix + ".to_k", inputs: source, outputs: width, bias: projectionBias)
        value = try Linear(w, prefix + ".to_v", inputs: source, outputs: width, bias: projectionBias)
        out = try Linear(w, prefix + ".to_out.0", inputs: width, outputs: width)
    }

    public func callAsFunction(_ x: Tensor, context: Tensor? = nil) throws -> Tensor {
        let source = context ?? x
        let attended = try x.backend.attention(query: try query(x), key: try key(source), value: try value(source), heads: heads, causal: false)
        return try out(attended)
    }
}
