#version 450
// out[i] = f(x[i]) for the element-wise functions: 0 SiLU, 1 GELU (exact, erf), 2 quick GELU,
// 3 e^x, 4 clamp to [a, b], 5 a·x + b. x and out may be the same buffer.
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer Input { float x[]; };
layout(std430, binding = 1) writeonly buffer Output { float y[]; };
layout(push_constant) uniform Parameters { uint count, op; float a, b; } p;

// erf by Abramowitz & Stegun 7.1.26 refined is not exact enough for GELU; this is the
// single-precision rational approximation used by common math libraries (max error ~1e-7).
float erf_approx(float v) {
    float t = 1.0 / (1.0 + 0.5 * abs(v));
    float y = t * exp(-v * v - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
              t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
    return v >= 0.0 ? 1.0 - y : y - 1.0;
}

void main() {
    uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * 65535u * 256u;
    if (i >= p.count) return;
    float v = x[i];
    float r;
    if (p.op == 0u) r = v / (1.0 + exp(-v));
    else if (p.op == 1u) r = 0.5 * v * (1.0 + erf_approx(v * 0.70710678118));
    else if (p.op == 2u) r = v / (1.0 + exp(-1.702 * v));
    else if (p.op == 3u) r = exp(v);
    else if (p.op == 4u) r = clamp(v, p.a, p.b);
    else r = fma(p.a, v, p.b);
    y[i] = r;
}
