// 16-float vector math for the shim's own kernels (attention's softmax, GEGLU), written with
// clang's vector extensions and compiled in several versions by MULTIVERSIONED: AVX-512, AVX2
// and baseline x86-64, one picked when the program loads. The engine's Swift code is built for
// baseline x86-64 (4 floats at a time); these loops run 16 at a time where the CPU can.
//
// Macros, not functions: a 64-byte vector may not cross a call in the versions built without
// AVX-512 (it would change the calling convention), so everything is expanded in place.
#ifndef STOCKWERK_CDNNL_VECTOR_MATH_H
#define STOCKWERK_CDNNL_VECTOR_MATH_H
#include <stdint.h>
#include <string.h>

typedef float v16f __attribute__((vector_size(64), aligned(4)));
typedef int32_t v16i __attribute__((vector_size(64), aligned(4)));

#if defined(__x86_64__) && defined(__linux__)
#define MULTIVERSIONED __attribute__((target_clones("avx512f", "arch=haswell", "default")))
#else
#define MULTIVERSIONED
#endif

#define SPLAT16(value) ((v16f){} + (value))
#define LOAD16(p) ({ v16f v_; memcpy(&v_, (p), sizeof v_); v_; })
#define STORE16(p, v) do { v16f s_ = (v); memcpy((p), &s_, sizeof s_); } while (0)

// e^x: x = n·ln2 + r (Cody–Waite, two-part ln2), a degree-6 Taylor polynomial on |r| ≤ ln2/2,
// and 2^n put into the exponent bits. Relative error below 3e-7; inputs below −87 (masked
// scores) give about 1.6e-38 instead of 0, which no softmax sum can notice.
#define EXP16(input)                                                                                          \
    ({                                                                                                        \
        v16f x_ = __builtin_elementwise_min(__builtin_elementwise_max((input), SPLAT16(-87.0f)), SPLAT16(88.0f)); \
        const v16f magic_ = SPLAT16(12582912.0f); /* 1.5·2²³: adding it rounds to an integer */              \
        v16f shifted_ = x_ * 1.44269504f + magic_;                                                            \
        v16f n_ = shifted_ - magic_;                                                                          \
        v16f r_ = x_ - n_ * 0.693359375f;                                                                     \
        r_ = r_ - n_ * -2.1219444e-4f;                                                                        \
        v16f p_ = SPLAT16(1.0f / 720);                                                                        \
        p_ = p_ * r_ + 1.0f / 120;                                                                            \
        p_ = p_ * r_ + 1.0f / 24;                                                                             \
        p_ = p_ * r_ + 1.0f / 6;                                                                              \
        p_ = p_ * r_ + 0.5f;                                                                                  \
        p_ = p_ * r_ + 1;                                                                                     \
        p_ = p_ * r_ + 1;                                                                                     \
        v16i n_bits_ = (v16i)shifted_ - (v16i)magic_; /* n sits in the low mantissa bits */                  \
        p_ * (v16f)((n_bits_ + 127) << 23);                                                                   \
    })

// erf(x): Abramowitz & Stegun 7.1.26, 1 − t·P(t)·e^(−x²) with t = 1/(1 + p|x|), odd in x; absolute
// error below 1.5e-7 plus EXP16's.
#define ERF16(input)                                                                  \
    ({                                                                                \
        v16f e_in_ = (input);                                                         \
        v16f a_ = __builtin_elementwise_abs(e_in_);                                   \
        v16f t_ = 1 / (1 + 0.3275911f * a_);                                          \
        v16f q_ = SPLAT16(1.061405429f);                                              \
        q_ = q_ * t_ - 1.453152027f;                                                  \
        q_ = q_ * t_ + 1.421413741f;                                                  \
        q_ = q_ * t_ - 0.284496736f;                                                  \
        q_ = q_ * t_ + 0.254829592f;                                                  \
        v16f y_ = 1 - q_ * t_ * EXP16(-a_ * a_);                                      \
        __builtin_elementwise_copysign(y_, e_in_);                                    \
    })
#endif
