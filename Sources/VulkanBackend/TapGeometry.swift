import Neural

/// What a resampling pass's taps depend on, and so what they are cached by: a resize's sizes and
/// mode, or the FIR resampler's input size and direction.
enum TapGeometry: Hashable, Sendable {
    case interpolation(input: Int, output: Int, ResizeMode)
    case fir(input: Int, FIRDirection)

    var taps: ResampleTaps {
        switch self {
        case let .interpolation(input, output, mode): return .interpolation(input: input, output: output, mode: mode)
        case let .fir(input, direction): return .fir(input: input, direction)
        }
    }
}
