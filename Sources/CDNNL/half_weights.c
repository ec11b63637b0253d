// Weights kept in 16 bits. Most checkpoints people download are fp16 (SDXL's always) or bf16, and
// widening them to f32 at load doubles the memory they take: SDXL's UNet is 5.1 GB as fp16 and
// 10.3 GB as f32. A weight whose every value is exactly an fp16 (or bf16) number loses nothing by
// being kept as those 16 bits; it is widened back to the same f32 values in a reused buffer just
// before each product, so the results are the f32 ones bit for bit. Widening is a pass over
// memory (a shift for bf16, a few integer ops for fp16), small next to the product it feeds.
#include "internal.h"
#include <stdlib.h>
#include <string.h>
#include "vector_math.h"

typedef uint32_t v16u __attribute__((vector_size(64), aligned(4)));
typedef uint16_t v16h __attribute__((vector_size(32), aligned(2)));

// fp16 bits → f32, exactly: normal numbers have their exponent re-biased (+112) and their
// mantissa moved up 13 bits; subnormals (m · 2^-24) are converted from the integer m, so no
// f32 subnormal arithmetic is involved (a flush-to-zero mode could not change them);
// infinities and NaNs keep an all-ones exponent.
#define HALF_TO_FLOAT16(h)                                                                      \
    ({                                                                                          \
        v16u h_ = (h), m_ = h_ & 0x7fffu, e_ = h_ & 0x7c00u;                                    \
        v16u normal_ = (m_ << 13) + (112u << 23);                                               \
        v16u subnormal_ = (v16u)(__builtin_convertvector(m_, v16f) * 0x1p-24f);                 \
        v16u is_sub_ = (v16u)(e_ == 0), is_special_ = (v16u)(e_ == 0x7c00u);                    \
        v16u out_ = (normal_ & ~is_sub_ & ~is_special_) | (subnormal_ & is_sub_)                \
                    | (((m_ << 13) | 0x7f800000u) & is_special_);                               \
        (v16f)(out_ | ((h_ & 0x8000u) << 16));                                                  \
    })

static float half_to_float(uint16_t h) {
    uint32_t m = h & 0x7fffu, e = h & 0x7c00u, bits;
    if (e == 0) {
        float value = (float)m * 0x1p-24f;
        memcpy(&bits, &value, 4);
    } else if (e == 0x7c00u) {
        bits = m << 13 | 0x7f800000u;
    } else {
        bits = (m << 13) + (112u << 23);
    }
    bits |= (uint32_t)(h & 0x8000u) << 16;
    float out;
    memcpy(&out, &bits, 4);
    return out;
}

MULTIVERSIONED
static void widen_range(const uint16_t *src, int64_t count, int kind, float *dst) {
    int64_t i = 0;
    for (; i + 16 <= count; i += 16) {
        v16h lane;
        memcpy(&lane, src + i, sizeof lane);
        v16u bits = __builtin_convertvector(lane, v16u);
        v16f out = kind == SW_HALF_BF16 ? (v16f)(bits << 16) : HALF_TO_FLOAT16(bits);
        STORE16(dst + i, out);
    }
    for (; i < count; i++) {
        if (kind == SW_HALF_BF16) {
            uint32_t bits = (uint32_t)src[i] << 16;
            memcpy(dst + i, &bits, 4);
        } else {
            dst[i] = half_to_float(src[i]);
        }
    }
}

// f32 → fp16 bits when exact (a normal or subnormal fp16 number, ±0, ±inf), else -1.
static int32_t float_to_half_exact(float value) {
    uint32_t bits;
    memcpy(&bits, &value, 4);
    uint32_t sign = (bits >> 16) & 0x8000u, magnitude = bits & 0x7fffffffu;
    if (magnitude == 0) return (int32_t)sign;
    if (magnitude == 0x7f800000u) return (int32_t)(sign | 0x7c00u);
    int32_t exponent = (int32_t)(magnitude >> 23) - 127;
    uint32_t mantissa = magnitude & 0x7fffffu;
    if (exponent > 15) return -1;  // too large (or NaN)
    if (exponent >= -14) {          // fp16 normal: 10 mantissa bits
        if (mantissa & 0x1fffu) return -1;
        return (int32_t)(sign | (uint32_t)(exponent + 15) << 10 | mantissa >> 13);
    }
    if (exponent < -24) return -1;  // below fp16's smallest subnormal (f32 subnormals included)
    // fp16 subnormal: value = m · 2^-24 with m < 1024.
    uint32_t full = mantissa | 0x800000u;
    int shift = 13 + (-14 - exponent);
    if (full & ((1u << shift) - 1)) return -1;
    return (int32_t)(sign | full >> shift);
}

typedef struct {
    const float *src;
    uint16_t *dst;
    int kind;
    int64_t chunk, count;
    int *exact;  // one flag per task
} narrow_job;

static void narrow_range(int64_t start, int64_t end, void *context) {
    narrow_job *job = context;
    for (int64_t task = start; task < end; task++) {
        int64_t first = task * job->chunk, last = first + job->chunk < job->count ? first + job->chunk : job->count;
        for (int64_t i = first; i < last; i++) {
            uint32_t bits;
            memcpy(&bits, job->src + i, 4);
            if (job->kind == SW_HALF_BF16) {
                if (bits & 0xffffu) { job->exact[task] = 0; break; }
                job->dst[i] = (uint16_t)(bits >> 16);
            } else {
                int32_t half = float_to_half_exact(job->src[i]);
                if (half < 0) { job->exact[task] = 0; break; }
                job->dst[i] = (uint16_t)half;
            }
        }
    }
}

int sw_half_narrow(const float *src, int64_t count, int kind, uint16_t *dst) {
    if (count <= 0) return 1;
    const int64_t chunk = (int64_t)1 << 18;
    int64_t tasks = (count + chunk - 1) / chunk;
    int *exact = malloc(sizeof(int) * (size_t)tasks);
    if (!exact) return 0;
    for (int64_t t = 0; t < tasks; t++) exact[t] = 1;
    narrow_job job = {src, dst, kind, chunk, count, exact};
    sw_parallel_ranges(tasks, narrow_range, &job);
    int all = 1;
    for (int64_t t = 0; t < tasks; t++) all &= exact[t];
    free(exact);
    return all;
}

typedef struct {
    const uint16_t *src;
    float *dst;
    int kind;
} widen_job;

static void widen_task(int64_t start, int64_t end, void *context) {
    widen_job *job = context;
    widen_range(job->src + start, end - start, job->kind, job->dst + start);
}

void sw_half_widen(const uint16_t *src, int64_t count, int kind, float *dst) {
    if (count <= 0) return;
    widen_job job = {src, dst, kind};
    sw_parallel_ranges(count, widen_task, &job);
}

// Linear layers with 16-bit weights: widened into one buffer shared by all layers (under its own
// lock: the products below take no other lock), then the f32 product as for f32 weights.
static pthread_mutex_t widen_lock = PTHREAD_MUTEX_INITIALIZER;
static grow_buffer widened;

void sw_half_release_buffers(void) {
    pthread_mutex_lock(&widen_lock);
    sw_release(&widened);
    pthread_mutex_unlock(&widen_lock);
}

int sw_half_linear(const float *src, int64_t rows, int64_t k, const uint16_t *weights, int kind, const float *bias, int64_t n, float *dst) {
    if (rows <= 0 || k <= 0 || n <= 0) return -1;
    pthread_mutex_lock(&widen_lock);
    float *wide = sw_grow(&widened, sizeof(float) * (size_t)(n * k));
    int status = -1;
    if (wide) {
        sw_half_widen(weights, n * k, kind, wide);
        if (bias)
            for (int64_t r = 0; r < rows; r++) memcpy(dst + r * n, bias, sizeof(float) * (size_t)n);
        status = sw_dnnl_sgemm('N', 'T', rows, n, k, 1, src, k, wide, k, bias ? 1 : 0, dst, n);
    }
    pthread_mutex_unlock(&widen_lock);
    return status;
}

int sw_half_linear_geglu(const float *src, int64_t rows, int64_t k, const uint16_t *weights, int kind, const float *bias, int64_t inner, float *dst) {
    if (rows <= 0 || k <= 0 || inner <= 0) return -1;
    pthread_mutex_lock(&widen_lock);
    float *wide = sw_grow(&widened, sizeof(float) * (size_t)(2 * inner * k));
    int status = -1;
    if (wide) {
        sw_half_widen(weights, 2 * inner * k, kind, wide);
        status = sw_linear_geglu(src, rows, k, wide, bias, inner, dst);
    }
    pthread_mutex_unlock(&widen_lock);
    return status;
}

int sw_weights_keep_half(sw_weights *weights, int kind) {
    if (weights->half || weights->desc.data_type != dnnl_f32) return 0;
    int64_t count = (int64_t)(dnnl_memory_desc_get_size(&weights->desc) / sizeof(float));
    uint16_t *half = aligned_alloc(64, ((size_t)count * 2 + 63) / 64 * 64);
    if (!half) return 0;
    if (!sw_half_narrow(weights->data, count, kind, half)) { free(half); return 0; }
    free(weights->data);
    weights->data = half;
    weights->half = kind;
    return 1;
}

int sw_weights_half_kind(const sw_weights *weights) { return weights->half; }
