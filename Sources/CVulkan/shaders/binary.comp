#version 450
// out[i] = α·x[i] + β·y[j] + γ (op 0) or (α·x[i])·(β·y[j]) + γ (op 1), where out and x are dense
// [d0, d1, d2, d3] and y is read through its own strides (0 along the axes it is broadcast over).
// out may be x (accumulating a weighted sum term by term).
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer InputX { float x[]; };
layout(std430, binding = 1) readonly buffer InputY { float y[]; };
layout(std430, binding = 2) buffer Output { float o[]; };
layout(push_constant) uniform Parameters {
    uint count, op;
    float alpha, beta, gamma;
    uint d1, d2, d3;        // out's sizes after the first axis
    uint s0, s1, s2, s3;    // y's strides
} p;

void main() {
    uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * 65535u * 256u;
    if (i >= p.count) return;
    uint i3 = i % p.d3, rest = i / p.d3;
    uint i2 = rest % p.d2; rest /= p.d2;
    uint i1 = rest % p.d1;
    uint i0 = rest / p.d1;
    float yv = y[i0 * p.s0 + i1 * p.s1 + i2 * p.s2 + i3 * p.s3];
    float xv = x[i];
    o[i] = p.op == 0u ? p.alpha * xv + p.beta * yv + p.gamma : (p.alpha * xv) * (p.beta * yv) + p.gamma;
}
