#version 450
// Softmax of each row of `columns` scores after ·scale, in place; with flags 1 (causal) the row
// for query q (first_query + row % rows_per_head) sees columns 0…q only.
layout(local_size_x = 256) in;
layout(std430, binding = 0) buffer Scores { float s[]; };
layout(push_constant) uniform Parameters { uint columns, flags; float scale; uint rows_per_head, first_query; } p;

shared float partial[256];

float reduce(float value, bool take_max) {
    uint t = gl_LocalInvocationID.x;
    partial[t] = value;
    barrier();
    for (uint width = 128u; width > 0u; width >>= 1u) {
        if (t < width) partial[t] = take_max ? max(partial[t], partial[t + width]) : partial[t] + partial[t + width];
        barrier();
    }
    float total = partial[0];
    barrier();
    return total;
}

void main() {
    uint row = gl_WorkGroupID.x + gl_WorkGroupID.y * 65535u, t = gl_LocalInvocationID.x;
    uint base = row * p.columns;
    uint visible = (p.flags & 1u) != 0u ? min(p.columns, p.first_query + row % p.rows_per_head + 1u) : p.columns;
    float best = -3.402823e38;
    for (uint i = t; i < visible; i += 256u) best = max(best, s[base + i] * p.scale);
    best = reduce(best, true);
    float sum = 0.0;
    for (uint i = t; i < p.columns; i += 256u) {
        float e = i < visible ? exp(s[base + i] * p.scale - best) : 0.0;
        s[base + i] = e;
        sum += e;
    }
    float inverse = 1.0 / reduce(sum, false);
    for (uint i = t; i < p.columns; i += 256u) s[base + i] *= inverse;
}
