// Thin wrappers over oneDNN's C API: one engine and stream per process, primitives created once
// per shape and cached. Our tensors are dense f32 NCHW data; convolution weights are prepared
// once in the blocked layout oneDNN prefers, and convolutions run in bands of output rows on
// blocked layouts, with Winograd kernels for large 3×3 ones (convolution.c says why).
#ifndef STOCKWERK_CDNNL_H
#define STOCKWERK_CDNNL_H
#include <stddef.h>
#include <stdint.h>

/// oneDNN's version as major·10000 + minor·100 + patch (2.6.3 → 20603).
int sw_dnnl_version(void);

/// Row-major C = alpha·op(A)·op(B) + beta·C (oneDNN's JIT sgemm). Returns 0 on success.
int sw_dnnl_sgemm(char transa, char transb, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                  const float *b, int64_t ldb, float beta, float *c, int64_t ldc);

/// 2-D convolution, forward inference. bias may be NULL. `padding` zeros go before each spatial
/// axis (top, left) and `padding_end` after it (bottom, right). Output size follows from both.
/// Returns 0 on success, otherwise a oneDNN status code.
int sw_dnnl_conv2d(const float *src, int64_t batch, int64_t in_channels, int64_t height, int64_t width,
                   const float *weights, int64_t out_channels, int64_t kernel_h, int64_t kernel_w,
                   const float *bias, int64_t stride, int64_t padding, int64_t padding_end, float *dst, int64_t out_h, int64_t out_w);

/// A convolution's or linear layer's weights prepared once in the layout oneDNN's kernels read on this CPU.
typedef struct sw_weights sw_weights;

/// Copies OIHW float weights into the preferred layout for this stride and padding, as bf16 when
/// `bf16` (the convolution then reads its input as bf16 too and writes f32). NULL on failure
/// (for bf16: also when this CPU has no bf16 convolution).
sw_weights *sw_dnnl_conv_weights_prepare(const float *weights, int64_t out_channels, int64_t in_channels, int64_t kernel_h, int64_t kernel_w,
                                              int64_t stride, int64_t padding, int64_t padding_end, int bf16);
void sw_dnnl_weights_destroy(sw_weights *weights);

/// sw_dnnl_conv2d with prepared weights (no weight reorder when the shape's primitive reads their
/// layout; on first use they move into the layout that use reads). `residual` (NULL for none), shaped as the output, is added to it in the same pass.
int sw_dnnl_conv2d_prepared(const float *src, int64_t batch, int64_t in_channels, int64_t height, int64_t width,
                            sw_weights *weights, const float *bias, int64_t stride, int64_t padding, int64_t padding_end,
                            const float *residual, float *dst, int64_t out_h, int64_t out_w);

/// The most bytes a convolution band's blocked input or output may take (default 4 MiB; 0
/// restores it). For tests, to make small images run in several bands.
void sw_dnnl_set_conv_band_bytes(int64_t bytes);

/// Weights [n, k] (nn.Linear's [out, in], row-major floats) as bf16. NULL on failure (also when
/// this CPU has no bf16 matmul).
sw_weights *sw_dnnl_linear_weights_prepare_bf16(const float *weights, int64_t n, int64_t k);
/// dst[rows × n] = src[rows × k] · Wᵀ + bias, the input rounded to bf16, accumulated and written in f32.
int sw_dnnl_linear_bf16(const float *src, int64_t rows, const sw_weights *weights, const float *bias, float *dst);

/// 16-bit weights (half_weights.c): a weight whose values are all exactly fp16 (or bf16) numbers
/// is kept as those 16 bits and widened to the same f32 values before each product.
enum { SW_HALF_F16 = 1, SW_HALF_BF16 = 2 };
/// `count` floats as 16-bit `kind` values into dst: 1 when every one is exact, 0 otherwise (dst
/// then holds an unspecified part). Runs on the OpenMP team.
int sw_half_narrow(const float *src, int64_t count, int kind, uint16_t *dst);
/// `count` 16-bit `kind` values as floats. Runs on the OpenMP team.
void sw_half_widen(const uint16_t *src, int64_t count, int kind, float *dst);
/// Prepared convolution weights kept as 16-bit `kind` values when all are exact: 1 when kept, 0
/// when unchanged (not exact, already 16-bit, bf16 compute, or out of memory).
int sw_weights_keep_half(sw_weights *weights, int kind);
/// 0 for f32 weights, else the SW_HALF_ kind they are kept in.
int sw_weights_half_kind(const sw_weights *weights);
/// dst[rows × n] = src[rows × k] · Wᵀ + bias (NULL for none) for 16-bit weights W [n, k], widened
/// into a reused buffer first. 0 on success.
int sw_half_linear(const float *src, int64_t rows, int64_t k, const uint16_t *weights, int kind, const float *bias, int64_t n, float *dst);
/// sw_linear_geglu with 16-bit weights [2·inner, k].
int sw_half_linear_geglu(const float *src, int64_t rows, int64_t k, const uint16_t *weights, int kind, const float *bias, int64_t inner, float *dst);

/// Scaled dot-product attention: out = softmax(scale · q·kᵀ)·v per head, with tokens as rows and
/// heads side by side in them: q [queries, heads·d], k and v [keys, heads·d], out like q; with
/// `causal`, query i sees keys 0…i only. Streams
/// blocks of `block` queries × `block` keys (0: 256), so memory stays one block per thread.
/// Runs on the OpenMP team. Returns 0 on success, -1 for bad sizes or when out of memory.
int sw_attention(const float *q, const float *k, const float *v, float *out, int64_t heads, int64_t queries, int64_t keys,
                 int64_t d, float scale, int causal, int64_t block);

/// GEGLU after a linear layer, fused: dst[rows × inner] = A · GELU(B), where [A | B] = src[rows × k]
/// · weightsᵀ + bias, weights [2·inner, k] (nn.Linear's [out, in]) and bias 2·inner values or NULL.
/// Runs on the OpenMP team. Returns 0 on success, -1 for bad sizes or when out of memory.
int sw_linear_geglu(const float *src, int64_t rows, int64_t k, const float *weights, const float *bias, int64_t inner, float *dst);
/// GEGLU alone: dst[rows × inner] = A · GELU(B) for src rows [A | B] of 2·inner values.
void sw_geglu(const float *src, int64_t rows, int64_t inner, float *dst);

/// Gives memory that is free but still held back to the system: the shim's reusable buffers
/// (they grow again on the next use) and glibc's free heap pages. Between the phases of a
/// pipeline (denoising → decoding), so that one phase's leftovers do not add to the next's peak.
void sw_release_memory(void);

/// Runs body(start, end, context) over disjoint ranges covering [0, count) on the OpenMP (libgomp)
/// thread team that oneDNN already uses, so element-wise work and GEMMs share one set of threads
/// instead of competing with it. A GEMM called inside body runs single-threaded (no nesting).
/// The calling thread's OpenMP team size for its later parallel regions (GEMMs and ranges alike).
int sw_thread_limit(void);
void sw_set_thread_limit(int threads);

void sw_parallel_ranges(int64_t count, void (*body)(int64_t start, int64_t end, void *context), void *context);
#endif
