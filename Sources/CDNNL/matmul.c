#include "internal.h"
#include <stdlib.h>
#include <string.h>

// Linear layers in bf16: weights [out, in] prepared once as bf16 in the layout oneDNN's matmul
// reads on this CPU; each call converts the input to bf16 and writes f32 (bias f32).

typedef struct {
    int64_t key[4];  // rows, in, out, bias
    dnnl_primitive_t primitive, reorder_src;
    dnnl_memory_desc_t src, src_bf16, weights, bias, dst, scratch;
    size_t scratch_size;
} matmul_entry;

#define MATMUL_CACHE_SIZE 64
// The library's scratchpad and the bf16 copy of the input, reused from call to call.
static grow_buffer matmul_scratch, input_bf16;

void sw_matmul_release_buffers(void) {
    sw_release(&matmul_scratch);
    sw_release(&input_bf16);
}
static matmul_entry matmuls[MATMUL_CACHE_SIZE];
static int matmul_count = 0, next_matmul_eviction = 0;

static void destroy_matmul(matmul_entry *entry) {
    if (entry->primitive) dnnl_primitive_destroy(entry->primitive);
    if (entry->reorder_src) dnnl_primitive_destroy(entry->reorder_src);
    memset(entry, 0, sizeof(*entry));
}

// The matmul primitive for rows × k · k × n in bf16, its weights desc left to oneDNN.
static dnnl_status_t matmul_pd(dnnl_primitive_desc_t *pd, int64_t rows, int64_t k, int64_t n, int has_bias) {
    dnnl_dims_t src_dims = {rows, k}, weight_dims = {k, n}, dst_dims = {rows, n}, bias_dims = {1, n};
    dnnl_memory_desc_t src, weights, bias, dst;
    dnnl_memory_desc_init_by_tag(&src, 2, src_dims, dnnl_bf16, dnnl_ab);
    dnnl_memory_desc_init_by_tag(&weights, 2, weight_dims, dnnl_bf16, dnnl_format_tag_any);
    dnnl_memory_desc_init_by_tag(&bias, 2, bias_dims, dnnl_f32, dnnl_ab);
    dnnl_memory_desc_init_by_tag(&dst, 2, dst_dims, dnnl_f32, dnnl_ab);
    dnnl_matmul_desc_t desc;
    dnnl_status_t s = dnnl_matmul_desc_init(&desc, &src, &weights, has_bias ? &bias : NULL, &dst);
    if (s != dnnl_success) return s;
    dnnl_primitive_attr_t attributes;
    dnnl_primitive_attr_create(&attributes);
    dnnl_primitive_attr_set_scratchpad_mode(attributes, dnnl_scratchpad_mode_user);
    s = dnnl_primitive_desc_create(pd, &desc, attributes, sw_engine, NULL);
    dnnl_primitive_attr_destroy(attributes);
    return s;
}

static matmul_entry *find_or_create_matmul(const int64_t key[4], int *status) {
    int found, reused;
    int slot = sw_cache_slot(matmuls, sizeof(matmul_entry), 4, matmul_count, MATMUL_CACHE_SIZE, &next_matmul_eviction, key, &found, &reused);
    matmul_entry *entry = &matmuls[slot];
    if (found) return entry;
    if (reused) destroy_matmul(entry);
    memcpy(entry->key, key, sizeof(int64_t) * 4);
    dnnl_primitive_desc_t pd;
    dnnl_status_t s = matmul_pd(&pd, key[0], key[1], key[2], (int)key[3]);
    if (s != dnnl_success) { *status = (int)s; destroy_matmul(entry); return NULL; }
    entry->src_bf16 = *dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    entry->weights = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    entry->dst = *dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    entry->scratch = *dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    entry->scratch_size = dnnl_memory_desc_get_size(&entry->scratch);
    dnnl_dims_t src_dims = {key[0], key[1]}, bias_dims = {1, key[2]};
    dnnl_memory_desc_init_by_tag(&entry->src, 2, src_dims, dnnl_f32, dnnl_ab);
    dnnl_memory_desc_init_by_tag(&entry->bias, 2, bias_dims, dnnl_f32, dnnl_ab);
    s = dnnl_primitive_create(&entry->primitive, pd);
    dnnl_primitive_desc_destroy(pd);
    if (s == dnnl_success) s = sw_make_reorder(&entry->reorder_src, &entry->src, &entry->src_bf16);
    if (s != dnnl_success) { *status = (int)s; destroy_matmul(entry); return NULL; }
    if (!reused) matmul_count++;
    return entry;
}

sw_weights *sw_dnnl_linear_weights_prepare_bf16(const float *weights, int64_t n, int64_t k) {
    pthread_mutex_lock(&sw_lock);
    sw_weights *prepared = NULL;
    dnnl_primitive_desc_t pd = NULL;
    if (sw_ensure_engine() != 0 || matmul_pd(&pd, 256, k, n, 0) != dnnl_success) { pd = NULL; goto done; }
    // Our [out, in] row-major floats are the k × n matrix in column-major order ("ba").
    dnnl_dims_t dims = {k, n};
    dnnl_memory_desc_t plain;
    dnnl_memory_desc_init_by_tag(&plain, 2, dims, dnnl_f32, dnnl_ba);
    prepared = sw_weights_for_primitive(pd, &plain, weights, n, k, 1, 1);
done:
    if (pd) dnnl_primitive_desc_destroy(pd);
    pthread_mutex_unlock(&sw_lock);
    return prepared;
}

int sw_dnnl_linear_bf16(const float *src, int64_t rows, const sw_weights *weights, const float *bias, float *dst) {
    pthread_mutex_lock(&sw_lock);
    int status = sw_ensure_engine();
    if (status != 0) { pthread_mutex_unlock(&sw_lock); return status; }
    int64_t key[4] = {rows, weights->in_channels, weights->out_channels, bias != NULL};
    matmul_entry *entry = find_or_create_matmul(key, &status);
    if (!entry) { pthread_mutex_unlock(&sw_lock); return status ? status : -1; }
    dnnl_primitive_t weights_reorder = NULL;
    dnnl_status_t s = dnnl_success;
    if (!dnnl_memory_desc_equal(&weights->desc, &entry->weights)) s = sw_make_reorder(&weights_reorder, &weights->desc, &entry->weights);
    size_t src_size = dnnl_memory_desc_get_size(&entry->src_bf16), weights_size = dnnl_memory_desc_get_size(&entry->weights);
    void *src_bf16 = s == dnnl_success ? sw_grow(&input_bf16, src_size) : NULL;
    void *converted_weights = weights_reorder ? aligned_alloc(64, (weights_size + 63) / 64 * 64) : NULL;
    void *scratch_buffer = entry->scratch_size ? sw_grow(&matmul_scratch, entry->scratch_size) : NULL;
    if (s == dnnl_success && (!src_bf16 || (weights_reorder && !converted_weights) || (entry->scratch_size && !scratch_buffer))) s = dnnl_out_of_memory;
    dnnl_memory_t m_src = NULL, m_src_bf16 = NULL, m_weights = NULL, m_converted = NULL, m_bias = NULL, m_dst = NULL, m_scratch = NULL;
    if (s == dnnl_success) {
        dnnl_memory_create(&m_src, &entry->src, sw_engine, (void *)src);
        dnnl_memory_create(&m_src_bf16, &entry->src_bf16, sw_engine, src_bf16);
        dnnl_memory_create(&m_weights, &weights->desc, sw_engine, weights->data);
        if (weights_reorder) dnnl_memory_create(&m_converted, &entry->weights, sw_engine, converted_weights);
        if (bias) dnnl_memory_create(&m_bias, &entry->bias, sw_engine, (void *)bias);
        dnnl_memory_create(&m_dst, &entry->dst, sw_engine, dst);
        if (scratch_buffer) dnnl_memory_create(&m_scratch, &entry->scratch, sw_engine, scratch_buffer);
        dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, m_src}, {DNNL_ARG_TO, m_src_bf16}};
        s = dnnl_primitive_execute(entry->reorder_src, sw_stream, 2, r);
        if (s == dnnl_success && weights_reorder) {
            dnnl_exec_arg_t w[2] = {{DNNL_ARG_FROM, m_weights}, {DNNL_ARG_TO, m_converted}};
            s = dnnl_primitive_execute(weights_reorder, sw_stream, 2, w);
        }
        dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, m_src_bf16}, {DNNL_ARG_WEIGHTS, m_converted ? m_converted : m_weights}, {DNNL_ARG_DST, m_dst}};
        int count = 3;
        if (m_scratch) args[count++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, m_scratch};
        if (m_bias) args[count++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, m_bias};
        if (s == dnnl_success) s = dnnl_primitive_execute(entry->primitive, sw_stream, count, args);
        if (s == dnnl_success) s = dnnl_stream_wait(sw_stream);
    }
    dnnl_memory_t memories[7] = {m_src, m_src_bf16, m_weights, m_converted, m_bias, m_dst, m_scratch};
    for (int i = 0; i < 7; i++) if (memories[i]) dnnl_memory_destroy(memories[i]);
    free(converted_weights);
    if (weights_reorder) dnnl_primitive_destroy(weights_reorder);
    pthread_mutex_unlock(&sw_lock);
    return s == dnnl_success ? 0 : (int)s;
}

