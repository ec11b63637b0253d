#version 450
// A strided copy over a 4-D index space [d0, d1, d2, d3]: out[o0 + Σ iₖ·osₖ] = in[i0 + Σ iₖ·isₖ]
// (slices, concatenation, padding, transposes, per-channel broadcasts), or with flags 1 a fill
// with `value` (the zeros around a pad).
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer Input { float src[]; };
layout(std430, binding = 1) writeonly buffer Output { float dst[]; };
layout(push_constant) uniform Parameters {
    uint count, flags;
    float value;
    uint d1, d2, d3;
    uint in_offset, is0, is1, is2, is3;
    uint out_offset, os0, os1, os2, os3;
} p;

void main() {
    uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * 65535u * 256u;
    if (i >= p.count) return;
    uint i3 = i % p.d3, rest = i / p.d3;
    uint i2 = rest % p.d2; rest /= p.d2;
    uint i1 = rest % p.d1;
    uint i0 = rest / p.d1;
    uint target = p.out_offset + i0 * p.os0 + i1 * p.os1 + i2 * p.os2 + i3 * p.os3;
    dst[target] = (p.flags & 1u) != 0u ? p.value : src[p.in_offset + i0 * p.is0 + i1 * p.is1 + i2 * p.is2 + i3 * p.is3];
}
