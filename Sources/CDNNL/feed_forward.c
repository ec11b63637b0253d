// The transformer feed-forward's first half: x·Wᵀ + b, then GEGLU (the first half of the columns
// times GELU of the second half, diffusers' order). At SD 1.5's 4096 tokens the product before
// GEGLU is 4096 × 2560 floats (42 MB), fresh pages every call, written once and read once. Here
// it never exists whole: each task multiplies a block of rows by a block of value columns and the
// matching gate columns into its own scratch (oneDNN's sgemm, one thread per task), then gates
// them straight into the output.
#include "cdnnl.h"
#include <math.h>
#include <stdlib.h>
#include "vector_math.h"

enum { ROWS = 256, COLUMNS = 256 };

// out[r, j] = (value[r, j] + bias_value[j]) · GELU(gate[r, j] + bias_gate[j]) for `count`
// columns; value and gate rows are `in_stride` apart, out rows `out_stride` apart.
MULTIVERSIONED
static void gate_rows(const float *value, const float *gate, int64_t in_stride, const float *bias_value, const float *bias_gate,
                      int64_t rows, int64_t count, float *out, int64_t out_stride) {
    for (int64_t r = 0; r < rows; r++) {
        const float *v = value + r * in_stride, *g = gate + r * in_stride;
        float *o = out + r * out_stride;
        int64_t j = 0;
        for (; j + 16 <= count; j += 16) {
            v16f x = LOAD16(v + j), y = LOAD16(g + j);
            if (bias_value) x += LOAD16(bias_value + j), y += LOAD16(bias_gate + j);
            STORE16(o + j, x * (0.5f * y * (1 + ERF16(y * 0.70710677f))));
        }
        for (; j < count; j++) {
            float x = v[j] + (bias_value ? bias_value[j] : 0), y = g[j] + (bias_gate ? bias_gate[j] : 0);
            o[j] = x * (0.5f * y * (1 + erff(y * 0.70710677f)));
        }
    }
}

typedef struct {
    const float *src, *weights, *bias;
    int64_t rows, k, inner, column_blocks;
    float *dst;
    int failed;
} linear_geglu_job;

static void linear_geglu_range(int64_t start, int64_t end, void *context) {
    linear_geglu_job *job = context;
    float *scratch = malloc(sizeof(float) * 2 * ROWS * COLUMNS);
    if (!scratch) { job->failed = 1; return; }
    for (int64_t task = start; task < end; task++) {
        int64_t r0 = task / job->column_blocks * ROWS, c0 = task % job->column_blocks * COLUMNS;
        int64_t rows = job->rows - r0 < ROWS ? job->rows - r0 : ROWS;
        int64_t columns = job->inner - c0 < COLUMNS ? job->inner - c0 : COLUMNS;
        const float *x = job->src + r0 * job->k;
        // Value columns c0… and gate columns inner + c0… side by side in the scratch.
        if (sw_dnnl_sgemm('N', 'T', rows, columns, job->k, 1, x, job->k, job->weights + c0 * job->k, job->k, 0, scratch, 2 * columns) != 0 ||
            sw_dnnl_sgemm('N', 'T', rows, columns, job->k, 1, x, job->k, job->weights + (job->inner + c0) * job->k, job->k, 0,
                          scratch + columns, 2 * columns) != 0) {
            job->failed = 1;
            break;
        }
        gate_rows(scratch, scratch + columns, 2 * columns, job->bias ? job->bias + c0 : NULL, job->bias ? job->bias + job->inner + c0 : NULL,
                  rows, columns, job->dst + r0 * job->inner + c0, job->inner);
    }
    free(scratch);
}

int sw_linear_geglu(const float *src, int64_t rows, int64_t k, const float *weights, const float *bias, int64_t inner, float *dst) {
    if (rows <= 0 || k <= 0 || inner <= 0) return -1;
    linear_geglu_job job = {src, weights, bias, rows, k, inner, (inner + COLUMNS - 1) / COLUMNS, dst, 0};
    sw_parallel_ranges((rows + ROWS - 1) / ROWS * job.column_blocks, linear_geglu_range, &job);
    return job.failed ? -1 : 0;
}

typedef struct {
    const float *src;
    int64_t inner;
    float *dst;
} geglu_job;

static void geglu_range(int64_t start, int64_t end, void *context) {
    geglu_job *job = context;
    const float *x = job->src + start * 2 * job->inner;
    gate_rows(x, x + job->inner, 2 * job->inner, NULL, NULL, end - start, job->inner, job->dst + start * job->inner, job->inner);
}

void sw_geglu(const float *src, int64_t rows, int64_t inner, float *dst) {
    geglu_job job = {src, inner, dst};
    sw_parallel_ranges(rows, geglu_range, &job);
}
