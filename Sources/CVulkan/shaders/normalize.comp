#version 450
// Group norm (one work group per image and group: `count` values from `first`, `channels_per`
// channels of `spatial` values each) or layer norm (one per row of `count` values; channel = index),
// with torch's population variance, then ·scale[c] + shift[c], then SiLU when flags has 1.
// Mean first, then the variance around it (two passes: no cancellation for large means).
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer Input { float x[]; };
layout(std430, binding = 1) readonly buffer Scale { float scale[]; };
layout(std430, binding = 2) readonly buffer Shift { float shift[]; };
layout(std430, binding = 3) writeonly buffer Output { float y[]; };
layout(push_constant) uniform Parameters {
    uint count, flags;
    float epsilon;
    uint groups;        // group norm: groups per image (0: layer norm)
    uint spatial;       // group norm: values per channel
} p;

shared float partial[256];

float reduce_sum(float value) {
    uint t = gl_LocalInvocationID.x;
    partial[t] = value;
    barrier();
    for (uint width = 128u; width > 0u; width >>= 1u) {
        if (t < width) partial[t] += partial[t + width];
        barrier();
    }
    float total = partial[0];
    barrier();
    return total;
}

void main() {
    uint unit = gl_WorkGroupID.x + gl_WorkGroupID.y * 65535u;
    uint first = unit * p.count, t = gl_LocalInvocationID.x;
    float sum = 0.0;
    for (uint i = t; i < p.count; i += 256u) sum += x[first + i];
    float mean = reduce_sum(sum) / float(p.count);
    float squares = 0.0;
    for (uint i = t; i < p.count; i += 256u) { float d = x[first + i] - mean; squares += d * d; }
    float inverse = inversesqrt(reduce_sum(squares) / float(p.count) + p.epsilon);
    uint channels_per_group = p.groups > 0u ? p.count / p.spatial : 0u;
    for (uint i = t; i < p.count; i += 256u) {
        uint channel = p.groups > 0u ? (unit % p.groups) * channels_per_group + i / p.spatial : i;
        float v = (x[first + i] - mean) * inverse * scale[channel] + shift[channel];
        if ((p.flags & 1u) != 0u) v = v / (1.0 + exp(-v));
        y[first + i] = v;
    }
}
