#version 450
// C = A · Bᵀ (B given [N, K]) or A · B (B given [K, N]), + bias per column, + what C holds
// (accumulate), per batch entry (gl_WorkGroupID.z) with its own offsets. Compiled twice: as is for
// linear layers and attention's products, and with CONV for convolutions as an implicit GEMM:
// rows are output pixels, columns output channels, and A's values are read from the NCHW input
// where the kernel window puts them (zeros outside), so no im2col copy is ever made.
// With HALF_B, B (the weights) is read from fp16 values, widened exactly (HalfWeights on the CPU).
// Tiles of 64 × 64 outputs, 16 × 16 threads each making 4 × 4, K in steps of 16 through shared memory.
layout(local_size_x = 16, local_size_y = 16) in;
layout(std430, binding = 0) readonly buffer InputA { float a[]; };
#ifdef HALF_B
// B holds fp16 values two to a word (the weights of a 16-bit checkpoint, kept as they are).
layout(std430, binding = 1) readonly buffer InputB { uint b[]; };

// fp16 bits → float, exactly on every device: subnormals (m · 2⁻²⁴) through an integer conversion,
// so no device's flush-to-zero can change them.
float b_value(uint index) {
    uint h = (b[index >> 1] >> ((index & 1u) * 16u)) & 0xffffu;
    uint m = h & 0x7fffu, e = h & 0x7c00u, bits;
    if (e == 0u) bits = floatBitsToUint(float(m) * 5.9604644775390625e-8);
    else if (e == 0x7c00u) bits = (m << 13) | 0x7f800000u;
    else bits = (m << 13) + (112u << 23);
    return uintBitsToFloat(bits | ((h & 0x8000u) << 16));
}
#else
layout(std430, binding = 1) readonly buffer InputB { float b[]; };
float b_value(uint index) { return b[index]; }
#endif
layout(std430, binding = 2) readonly buffer Bias { float bias[]; };
layout(std430, binding = 3) buffer Output { float c[]; };

layout(push_constant) uniform Parameters {
    uint m, n, k;
    uint lda, ldb, ldc;
    uint a_offset, b_offset, c_offset;
    uint a_batch, b_batch, c_batch;
    uint flags;  // 1: add bias, 2: B is [K, N], 4: accumulate into C
#ifdef CONV
    uint channels, height, width, out_height, out_width, kernel_h, kernel_w, stride, pad_top, pad_left;
#endif
} p;

shared float tile_a[16][64];
shared float tile_b[16][64];

float load_a(uint row, uint col, uint batch) {
    if (row >= p.m || col >= p.k) return 0.0;
#ifdef CONV
    // row: output pixel (image, y, x); col: (input channel, ky, kx).
    uint pixels = p.out_height * p.out_width;
    uint image = row / pixels, pixel = row % pixels;
    uint y = pixel / p.out_width, x = pixel % p.out_width;
    uint window = p.kernel_h * p.kernel_w;
    uint channel = col / window, tap = col % window;
    int iy = int(y * p.stride + tap / p.kernel_w) - int(p.pad_top);
    int ix = int(x * p.stride + tap % p.kernel_w) - int(p.pad_left);
    if (iy < 0 || ix < 0 || iy >= int(p.height) || ix >= int(p.width)) return 0.0;
    return a[p.a_offset + ((image * p.channels + channel) * p.height + uint(iy)) * p.width + uint(ix)];
#else
    return a[p.a_offset + batch * p.a_batch + row * p.lda + col];
#endif
}

float load_b(uint column, uint kk, uint batch) {
    if (column >= p.n || kk >= p.k) return 0.0;
    uint base = p.b_offset + batch * p.b_batch;
    return (p.flags & 2u) != 0u ? b_value(base + kk * p.ldb + column) : b_value(base + column * p.ldb + kk);
}

uint c_index(uint row, uint column, uint batch) {
#ifdef CONV
    uint pixels = p.out_height * p.out_width;
    return p.c_offset + ((row / pixels) * p.n + column) * pixels + row % pixels;
#else
    return p.c_offset + batch * p.c_batch + row * p.ldc + column;
#endif
}

void main() {
    uint batch = gl_WorkGroupID.z;
    uint row0 = gl_WorkGroupID.y * 64u, col0 = gl_WorkGroupID.x * 64u;
    uint tx = gl_LocalInvocationID.x, ty = gl_LocalInvocationID.y;
    uint thread = ty * 16u + tx;
    float sums[4][4];
    for (int i = 0; i < 4; i++) for (int j = 0; j < 4; j++) sums[i][j] = 0.0;
    for (uint k0 = 0u; k0 < p.k; k0 += 16u) {
        // 256 threads load 16 × 64 values of each tile: 4 each.
        for (uint i = 0u; i < 4u; i++) {
            uint index = thread + i * 256u;
            uint kk = index / 64u, along = index % 64u;
            tile_a[kk][along] = load_a(row0 + along, k0 + kk, batch);
            tile_b[kk][along] = load_b(col0 + along, k0 + kk, batch);
        }
        barrier();
        for (uint kk = 0u; kk < 16u; kk++) {
            float av[4], bv[4];
            for (uint i = 0u; i < 4u; i++) av[i] = tile_a[kk][ty + i * 16u];
            for (uint j = 0u; j < 4u; j++) bv[j] = tile_b[kk][tx + j * 16u];
            for (uint i = 0u; i < 4u; i++) for (uint j = 0u; j < 4u; j++) sums[i][j] = fma(av[i], bv[j], sums[i][j]);
        }
        barrier();
    }
    for (uint i = 0u; i < 4u; i++) {
        uint row = row0 + ty + i * 16u;
        if (row >= p.m) continue;
        for (uint j = 0u; j < 4u; j++) {
            uint column = col0 + tx + j * 16u;
            if (column >= p.n) continue;
            float value = sums[i][j];
            if ((p.flags & 1u) != 0u) value += bias[column];
            uint index = c_index(row, column, batch);
            if ((p.flags & 4u) != 0u) value += c[index];
            c[index] = value;
        }
    }
}
