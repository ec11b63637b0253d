import Foundation

/// e^x for 16 floats at once: range reduction x = n·ln2 + r (Cody–Waite, two-part ln2), a
/// degree-6 Taylor polynomial on |r| ≤ ln2/2, and 2^n put into the exponent bits. Only plain
/// vector arithmetic (rounding by adding 1.5·2²³), so it compiles to straight AVX code. Relative
/// error below 3e-7; inputs below −87 (masked scores) give about 1.6e-38 instead of 0, which no
/// softmax sum can notice. libm's scalar expf was a fifth of a UNet step in attention.
@inline(__always)
func exp16(_ input: SIMD16<Float>) -> SIMD16<Float> {
    // Mask selects, not pointwiseMin/Max: those are generic per-lane loops and 15× slower here.
    var x = input.replacing(with: -87, where: input .< -87)
    x.replace(with: 88, where: x .> 88)
    let magic = SIMD16<Float>(repeating: 12_582_912)  // 1.5·2²³: adding it rounds to an integer
    let shifted = x * 1.442_695_04 + magic
    let n = shifted - magic
    var r = x - n * 0.693_359_375
    r = r - n * -2.121_944_4e-4
    var p = SIMD16<Float>(repeating: 1.0 / 720)
    p = p * r + 1.0 / 120
    p = p * r + 1.0 / 24
    p = p * r + 1.0 / 6
    p = p * r + 0.5
    p = p * r + 1
    p = p * r + 1
    // The low mantissa bits of `shifted` hold n; move n + 127 into the exponent field.
    let integer = unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- unsafeBitCast(magic, to: SIMD16<Int32>.self)
    return p * unsafeBitCast((integer &+ 127) &<< 23, to: SIMD16<Float>.self)
}

enum Softmax {
    /// row[i] = e^(row[i] − shift); returns the sum. 16 at a time, the tail one by one.
    @inline(__always)
    static func exponentiate(_ row: UnsafeMutablePointer<Float>, count: Int, shift: Float) -> Float {
        var sums = SIMD16<Float>()
        var c = 0
        let raw = UnsafeMutableRawPointer(row)
        while c + 16 <= count {
            let values = exp16(raw.loadUnaligned(fromByteOffset: c * 4, as: SIMD16<Float>.self) - shift)
            raw.storeBytes(of: values, toByteOffset: c * 4, as: SIMD16<Float>.self)
            sums += values
            c += 16
        }
        var sum = sums.sum()
        while c < count {
            let e = expf(row[c] - shift)
            row[c] = e
            sum += e
            c += 1
        }
        return sum
    }

    /// The largest of `count` floats.
    @inline(__always)
    static func maximum(_ row: UnsafePointer<Float>, count: Int) -> Float {
        var best = SIMD16<Float>(repeating: -.infinity)
        var c = 0
        let raw = UnsafeRawPointer(row)
        while c + 16 <= count {
            let values = raw.loadUnaligned(fromByteOffset: c * 4, as: SIMD16<Float>.self)
            best.replace(with: values, where: values .> best)
            c += 16
        }
        var result = best.max()
        while c < count { result = Swift.max(result, row[c]); c += 1 }
        return result
    }
}

/// erf(x) for 16 floats at once (Abramowitz & Stegun 7.1.26: 1 − t·P(t)·e^(−x²), t = 1/(1 + p|x|),
/// absolute error below 1.5e-7, plus exp16's), odd in x. libm's scalar erff was a tenth of an x2
/// upscaler UNet step, whose GELUs run over every activation.
@inline(__always)
func erf16(_ x: SIMD16<Float>) -> SIMD16<Float> {
    let negative = x .< 0
    let a = x.replacing(with: -x, where: negative)
    let t = 1 / (1 + 0.327_591_1 * a)
    var p = SIMD16<Float>(repeating: 1.061_405_429)
    p = p * t - 1.453_152_027
    p = p * t + 1.421_413_741
    p = p * t - 0.284_496_736
    p = p * t + 0.254_829_592
    let y = 1 - p * t * exp16(-a * a)
    return y.replacing(with: -y, where: negative)
}
