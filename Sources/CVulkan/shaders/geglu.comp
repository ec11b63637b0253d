#version 450
// GEGLU: out[r, j] = x[r, j] · GELU(x[r, inner + j]) for x [rows, 2·inner] (diffusers' order).
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer Input { float x[]; };
layout(std430, binding = 1) writeonly buffer Output { float y[]; };
layout(push_constant) uniform Parameters { uint count, inner; } p;

float erf_approx(float v) {
    float t = 1.0 / (1.0 + 0.5 * abs(v));
    float r = t * exp(-v * v - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
              t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
    return v >= 0.0 ? 1.0 - r : r - 1.0;
}

void main() {
    uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * 65535u * 256u;
    if (i >= p.count) return;
    uint row = i / p.inner, j = i % p.inner;
    float value = x[row * 2u * p.inner + j], gate = x[row * 2u * p.inner + p.inner + j];
    y[i] = value * (0.5 * gate * (1.0 + erf_approx(gate * 0.70710678118)));
}
