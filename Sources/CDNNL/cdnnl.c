// The shim's shared parts: the engine, the lock, buffers, the cache slot search and reorders;
// also the sgemm wrapper and the OpenMP thread helpers. Convolutions are in convolution.c,
// bf16 linear layers in matmul.c.
#include "internal.h"
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

pthread_mutex_t sw_lock = PTHREAD_MUTEX_INITIALIZER;
dnnl_engine_t sw_engine = NULL;
dnnl_stream_t sw_stream = NULL;

int sw_ensure_engine(void) {
    if (sw_engine) return 0;
    if (dnnl_engine_create(&sw_engine, dnnl_cpu, 0) != dnnl_success) return -1;
    if (dnnl_stream_create(&sw_stream, sw_engine, dnnl_stream_default_flags) != dnnl_success) return -1;
    return 0;
}

int sw_dnnl_version(void) {
    const dnnl_version_t *version = dnnl_version();
    return version->major * 10000 + version->minor * 100 + version->patch;
}

int sw_dnnl_sgemm(char transa, char transb, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                  const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
    return dnnl_sgemm(transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) == dnnl_success ? 0 : -1;
}

void *sw_grow(grow_buffer *buffer, size_t size) {
    if (size <= buffer->capacity) return buffer->data;
    free(buffer->data);
    buffer->data = aligned_alloc(64, (size + 63) / 64 * 64);
    buffer->capacity = buffer->data ? size : 0;
    return buffer->data;
}

void sw_release(grow_buffer *buffer) {
    free(buffer->data);
    buffer->data = NULL;
    buffer->capacity = 0;
}

void sw_release_memory(void) {
    pthread_mutex_lock(&sw_lock);
    sw_conv_release_buffers();
    sw_matmul_release_buffers();
    pthread_mutex_unlock(&sw_lock);
    sw_half_release_buffers();
#ifdef __GLIBC__
    malloc_trim(0);  // glibc keeps freed heap pages for reuse; give them back
#endif
}

int sw_cache_slot(const void *entries, size_t stride, int length, int count, int capacity, int *next_eviction,
                  const int64_t *key, int *found, int *evict) {
    *found = *evict = 0;
    for (int i = 0; i < count; i++)
        if (memcmp((const char *)entries + i * stride, key, sizeof(int64_t) * length) == 0) { *found = 1; return i; }
    if (count < capacity) return count;
    int slot = *next_eviction;
    *next_eviction = (*next_eviction + 1) % capacity;
    *evict = 1;
    return slot;
}

dnnl_status_t sw_make_reorder(dnnl_primitive_t *out, const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to) {
    *out = NULL;
    if (dnnl_memory_desc_equal(from, to)) return dnnl_success;
    dnnl_primitive_desc_t pd;
    dnnl_status_t s = dnnl_reorder_primitive_desc_create(&pd, from, sw_engine, to, sw_engine, NULL);
    if (s != dnnl_success) return s;
    s = dnnl_primitive_create(out, pd);
    dnnl_primitive_desc_destroy(pd);
    return s;
}

dnnl_status_t sw_reorder_into(const dnnl_memory_desc_t *from_desc, const void *from, const dnnl_memory_desc_t *to_desc, void *to) {
    dnnl_primitive_t reorder = NULL;
    dnnl_status_t s = sw_make_reorder(&reorder, from_desc, to_desc);
    if (s != dnnl_success) return s;
    if (!reorder) { memcpy(to, from, dnnl_memory_desc_get_size(to_desc)); return dnnl_success; }
    dnnl_memory_t source, target;
    dnnl_memory_create(&source, from_desc, sw_engine, (void *)from);
    dnnl_memory_create(&target, to_desc, sw_engine, to);
    dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, source}, {DNNL_ARG_TO, target}};
    s = dnnl_primitive_execute(reorder, sw_stream, 2, r);
    if (s == dnnl_success) s = dnnl_stream_wait(sw_stream);
    dnnl_memory_destroy(source);
    dnnl_memory_destroy(target);
    dnnl_primitive_destroy(reorder);
    return s;
}

void *sw_reordered_copy(const dnnl_memory_desc_t *from_desc, const void *from, const dnnl_memory_desc_t *to_desc) {
    size_t size = dnnl_memory_desc_get_size(to_desc);
    void *data = aligned_alloc(64, (size + 63) / 64 * 64);
    if (!data) return NULL;
    if (sw_reorder_into(from_desc, from, to_desc, data) != dnnl_success) { free(data); return NULL; }
    return data;
}

sw_weights *sw_weights_for_primitive(dnnl_primitive_desc_t pd, const dnnl_memory_desc_t *plain, const void *weights,
                                     int64_t out_channels, int64_t in_channels, int64_t kernel_h, int64_t kernel_w) {
    sw_weights *prepared = calloc(1, sizeof(*prepared));
    if (!prepared) return NULL;
    prepared->desc = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    prepared->out_channels = out_channels;
    prepared->in_channels = in_channels;
    prepared->kernel_h = kernel_h;
    prepared->kernel_w = kernel_w;
    prepared->data = sw_reordered_copy(plain, weights, &prepared->desc);
    if (!prepared->data) { free(prepared); return NULL; }
    return prepared;
}

void sw_dnnl_weights_destroy(sw_weights *weights) {
    if (!weights) return;
    free(weights->data);
    free(weights);
}

// libgomp's entry points (the ABI GCC emits for `#pragma omp parallel`); oneDNN links libgomp.
extern void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags);
extern int omp_get_thread_num(void);
extern int omp_get_num_threads(void);

typedef struct {
    void (*body)(int64_t, int64_t, void *);
    void *context;
    int64_t count;
} range_job;

static void run_range(void *data) {
    range_job *job = data;
    int64_t threads = omp_get_num_threads(), thread = omp_get_thread_num();
    int64_t size = (job->count + threads - 1) / threads;
    int64_t start = thread * size, end = start + size < job->count ? start + size : job->count;
    if (start < end) job->body(start, end, job->context);
}

void sw_parallel_ranges(int64_t count, void (*body)(int64_t, int64_t, void *), void *context) {
    range_job job = {body, context, count};
    GOMP_parallel(run_range, &job, 0, 0);
}

extern void omp_set_num_threads(int);
extern int omp_get_max_threads(void);

int sw_thread_limit(void) { return omp_get_max_threads(); }
void sw_set_thread_limit(int threads) { omp_set_num_threads(threads); }
