// Scaled dot-product attention in blocks: for each head and block of query rows, the scores
// against one block of keys at a time come from oneDNN's sgemm, a running (streaming) softmax
// rescales what came before, and a second sgemm adds the block's values. Memory stays one
// block of scores per task however long the sequence is.
//
// The softmax is the part no library does for us, and at SD 1.5's 4096 tokens it runs e^x over
// 134 M scores per attention. It is written with 16-float vectors and compiled for AVX-512,
// AVX2 and baseline x86-64 (target_clones picks one when the program loads): the Swift code it
// replaces ran 4 floats at a time, being compiled for baseline x86-64, and took half of the
// attention's time.
#include "cdnnl.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vector_math.h"

// One block of scores (rows × columns, already scaled) into the running softmax: each row's new
// maximum, its scores replaced by e^(score − maximum), the running sum and the accumulated
// values (rows × d) rescaled for the new maximum. Masked scores are −∞.
MULTIVERSIONED
static void softmax_block(float *scores, int64_t rows, int64_t columns, float *running_max, float *running_sum,
                          float *accumulator, int64_t d) {
    for (int64_t r = 0; r < rows; r++) {
        float *row = scores + r * columns;
        int64_t c = 0;
        v16f best = (v16f){} - INFINITY;
        for (; c + 16 <= columns; c += 16) best = __builtin_elementwise_max(best, LOAD16(row + c));
        float block_max = -INFINITY;
        for (int i = 0; i < 16; i++) block_max = fmaxf(block_max, best[i]);
        for (; c < columns; c++) block_max = fmaxf(block_max, row[c]);

        float new_max = fmaxf(running_max[r], block_max);
        if (new_max == -INFINITY) {  // every key so far masked
            memset(row, 0, (size_t)columns * sizeof(float));
            continue;
        }
        float correction = running_max[r] == -INFINITY ? 0 : expf(running_max[r] - new_max);
        v16f sums = {};
        for (c = 0; c + 16 <= columns; c += 16) {
            v16f e = EXP16(LOAD16(row + c) - new_max);
            STORE16(row + c, e);
            sums += e;
        }
        float sum = 0;
        for (int i = 0; i < 16; i++) sum += sums[i];
        for (; c < columns; c++) {
            row[c] = expf(row[c] - new_max);
            sum += row[c];
        }
        running_sum[r] = running_sum[r] * correction + sum;
        running_max[r] = new_max;
        if (correction != 1) {
            float *values = accumulator + r * d;
            for (int64_t j = 0; j < d; j++) values[j] *= correction;
        }
    }
}

typedef struct {
    const float *q, *k, *v;
    float *out;
    int64_t queries, keys, d, stride, block, query_blocks;
    float scale;
    int causal;
    int failed;
} attention_job;

// One head's block of query rows against every key (up to its own position when causal). Rows
// of q, k, v and out are `stride` floats apart, each head's d columns at head·d.
static int attend_block(const attention_job *job, int64_t head, int64_t block) {
    int64_t d = job->d, size = job->block, stride = job->stride, q0 = block * size;
    int64_t rows = job->queries - q0 < size ? job->queries - q0 : size;
    const float *q = job->q + q0 * stride + head * d;
    const float *k = job->k + head * d, *v = job->v + head * d;
    float *scores = malloc(sizeof(float) * (size_t)(rows * size + rows * d + 2 * rows));
    if (!scores) return -1;
    float *accumulator = scores + rows * size, *running_max = accumulator + rows * d, *running_sum = running_max + rows;
    memset(accumulator, 0, sizeof(float) * (size_t)(rows * d));
    for (int64_t r = 0; r < rows; r++) running_max[r] = -INFINITY, running_sum[r] = 0;

    int64_t last_key = job->causal && q0 + rows < job->keys ? q0 + rows : job->keys;
    for (int64_t k0 = 0; k0 < last_key; k0 += size) {
        int64_t columns = last_key - k0 < size ? last_key - k0 : size;
        sw_dnnl_sgemm('N', 'T', rows, columns, d, job->scale, q, stride, k + k0 * stride, stride, 0, scores, columns);
        if (job->causal) {
            for (int64_t r = 0; r < rows; r++)  // keys after the query's own position
                for (int64_t c = q0 + r - k0 + 1; c < columns; c++)
                    if (c >= 0) scores[r * columns + c] = -INFINITY;
        }
        softmax_block(scores, rows, columns, running_max, running_sum, accumulator, d);
        sw_dnnl_sgemm('N', 'N', rows, d, columns, 1, scores, columns, v + k0 * stride, stride, 1, accumulator, d);
    }
    float *out = job->out + q0 * stride + head * d;
    for (int64_t r = 0; r < rows; r++) {
        float inverse = running_sum[r] > 0 ? 1 / running_sum[r] : 0;
        for (int64_t j = 0; j < d; j++) out[r * stride + j] = accumulator[r * d + j] * inverse;
    }
    free(scores);
    return 0;
}

static void attend_range(int64_t start, int64_t end, void *context) {
    attention_job *job = context;
    for (int64_t task = start; task < end; task++)
        if (attend_block(job, task / job->query_blocks, task % job->query_blocks) != 0) job->failed = 1;
}

int sw_attention(const float *q, const float *k, const float *v, float *out, int64_t heads, int64_t queries, int64_t keys,
                 int64_t d, float scale, int causal, int64_t block) {
    if (heads <= 0 || queries <= 0 || keys <= 0 || d <= 0 || block < 0) return -1;
    if (block == 0) block = 256;
    attention_job job = {q, k, v, out, queries, keys, d, heads * d, block, (queries + block - 1) / block, scale, causal, 0};
    sw_parallel_ranges(heads * job.query_blocks, attend_range, &job);
    return job.failed ? -1 : 0;
}
