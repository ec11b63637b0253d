#version 450
// One pass of a separable resampling along the width (axis 0) or the height (axis 1) of
// [planes, height, width] values: each output sample is a weighted sum of input samples listed in
// `taps` (for output index i: words[2i] = where its pairs start, words[2i + 1] = how many; each
// pair an input index and a weight's bits). The host computes the taps for torch's interpolation
// modes and the FIR resamplers, border rules included (Neural's ResampleTaps).
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer Input { float x[]; };
layout(std430, binding = 1) readonly buffer Taps { uint taps[]; };
layout(std430, binding = 2) writeonly buffer Output { float y[]; };
layout(push_constant) uniform Parameters { uint count, axis, in_height, in_width, out_height, out_width; } p;

void main() {
    uint e = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * 65535u * 256u;
    if (e >= p.count) return;
    uint column = e % p.out_width, row = (e / p.out_width) % p.out_height, plane = e / (p.out_width * p.out_height);
    uint base = plane * p.in_height * p.in_width;
    uint i = p.axis == 0u ? column : row;
    uint first = taps[2u * i], n = taps[2u * i + 1u];
    float sum = 0.0;
    for (uint j = 0u; j < n; j++) {
        uint index = taps[first + 2u * j];
        float weight = uintBitsToFloat(taps[first + 2u * j + 1u]);
        sum += weight * (p.axis == 0u ? x[base + row * p.in_width + index] : x[base + index * p.in_width + column]);
    }
    y[e] = sum;
}
