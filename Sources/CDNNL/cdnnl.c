#include "cdnnl.h"
#include <oneapi/dnnl/dnnl.h>
#include <pthread.h>
#include <string.h>

#include <stdlib.h>

// Guards the primitive cache and the shared scratch buffer below; each convolution already uses
// every core, so serialising them costs nothing.
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static dnnl_engine_t engine = NULL;
static dnnl_stream_t stream = NULL;

static int ensure_engine(void) {
    if (engine) return 0;
    if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success) return -1;
    if (dnnl_stream_create(&stream, engine, dnnl_stream_default_flags) != dnnl_success) return -1;
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

// A created primitive for one convolution shape. Up to BLOCKED_MAX_BYTES per activation the
// convolution runs on the layouts oneDNN prefers (blocked channels, e.g. nChw8c / OIhw8i8o), as
// PyTorch lets it: its direct JIT kernels beat the im2col + GEMM path it takes on plain NCHW
// (x2 upscaler UNet step 12 % faster). Our tensors stay NCHW, so the input and the output are
// reordered around it (`reorder_*` is NULL where the layouts already agree); weights come
// prepared in the blocked layout (sw_dnnl_conv_weights_prepare), once per model load. Larger activations stay NCHW: their copies
// would add gigabytes for little gain (1024² VAE decode: 5 % faster, 1.6 GB more at its peak).
typedef struct {
    int64_t key[12];  // shape, stride, padding, bias, padding end, weights in bf16
    dnnl_primitive_t primitive;
    dnnl_memory_desc_t src, bias, dst, scratch;
    size_t scratch_size;
    dnnl_memory_desc_t conv_src, conv_weights, conv_dst;
    dnnl_primitive_t reorder_src, reorder_dst;
} conv_entry;

#define BLOCKED_MAX_BYTES ((int64_t)32 << 20)

// STOCKWERK_CONV_LAYOUT=plain keeps every convolution on NCHW, =blocked none (for comparison).
static int use_blocked_layouts(int64_t src_bytes, int64_t dst_bytes) {
    static int mode = -1;  // 0 plain, 1 by size, 2 blocked
    if (mode < 0) {
        const char *value = getenv("STOCKWERK_CONV_LAYOUT");
        mode = value && strcmp(value, "plain") == 0 ? 0 : value && strcmp(value, "blocked") == 0 ? 2 : 1;
    }
    return mode == 2 || (mode == 1 && src_bytes <= BLOCKED_MAX_BYTES && dst_bytes <= BLOCKED_MAX_BYTES);
}

static dnnl_status_t make_reorder(dnnl_primitive_t *out, const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to) {
    *out = NULL;
    if (dnnl_memory_desc_equal(from, to)) return dnnl_success;
    dnnl_primitive_desc_t pd;
    dnnl_status_t s = dnnl_reorder_primitive_desc_create(&pd, from, engine, to, engine, NULL);
    if (s != dnnl_success) return s;
    s = dnnl_primitive_create(out, pd);
    dnnl_primitive_desc_destroy(pd);
    return s;
}

// Convolutions get their scratch memory from us (user scratchpad mode). oneDNN's own "library"
// scratchpad in Debian's build is one buffer per *creating* thread, so a primitive created on one
// thread and run on another writes past a buffer sized for someone else (heap corruption seen
// when tests run models on several threads). One growing buffer, used under `lock`, is enough.
static void *scratch = NULL;
static size_t scratch_capacity = 0;

static void *scratch_of_size(size_t size) {
    if (size <= scratch_capacity) return scratch;
    free(scratch);
    scratch = aligned_alloc(64, (size + 63) / 64 * 64);
    scratch_capacity = scratch ? size : 0;
    return scratch;
}

#define CACHE_SIZE 128
static conv_entry cache[CACHE_SIZE];
static int cache_count = 0, next_eviction = 0;

static void destroy_entry(conv_entry *entry) {
    dnnl_primitive_t primitives[3] = {entry->primitive, entry->reorder_src, entry->reorder_dst};
    for (int i = 0; i < 3; i++) if (primitives[i]) dnnl_primitive_destroy(primitives[i]);
    memset(entry, 0, sizeof(*entry));
}

// The slot for `key` in a primitive cache whose entries start with their key (`length` int64s,
// entries `stride` bytes apart): its index when cached (*found = 1), else the slot to fill — the
// next free one, or, when all `capacity` are taken, the oldest (*evict = 1; a long run can meet
// any number of shapes). The caller counts a new entry in only once it is made.
static int cache_slot(const void *entries, size_t stride, int length, int count, int capacity, int *next_eviction,
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

static conv_entry *find_or_create(const int64_t key[12], int has_bias, int *status) {
    int found, reused;
    int slot = cache_slot(cache, sizeof(conv_entry), 12, cache_count, CACHE_SIZE, &next_eviction, key, &found, &reused);
    conv_entry *entry = &cache[slot];
    if (found) return entry;
    if (reused) destroy_entry(entry);
    memcpy(entry->key, key, sizeof(int64_t) * 12);
    int64_t batch = key[0], ic = key[1], h = key[2], w = key[3], oc = key[4], kh = key[5], kw = key[6];
    int64_t stride = key[7], pad = key[8], pad_end = key[10];
    dnnl_data_type_t compute = key[11] ? dnnl_bf16 : dnnl_f32;  // inputs and weights; the output stays f32
    int64_t oh = (h + pad + pad_end - kh) / stride + 1, ow = (w + pad + pad_end - kw) / stride + 1;
    dnnl_dims_t src_dims = {batch, ic, h, w}, weight_dims = {oc, ic, kh, kw}, bias_dims = {oc}, dst_dims = {batch, oc, oh, ow};
    dnnl_dims_t strides = {stride, stride}, padding = {pad, pad}, padding_end = {pad_end, pad_end};
    dnnl_memory_desc_init_by_tag(&entry->src, 4, src_dims, dnnl_f32, dnnl_nchw);
    dnnl_memory_desc_init_by_tag(&entry->bias, 1, bias_dims, dnnl_f32, dnnl_x);
    dnnl_memory_desc_init_by_tag(&entry->dst, 4, dst_dims, dnnl_f32, dnnl_nchw);
    dnnl_memory_desc_t any_src, any_weights, any_dst;
    int blocked = use_blocked_layouts(batch * ic * h * w * 4, batch * oc * oh * ow * 4);
    dnnl_memory_desc_init_by_tag(&any_src, 4, src_dims, compute, blocked ? dnnl_format_tag_any : dnnl_nchw);
    dnnl_memory_desc_init_by_tag(&any_weights, 4, weight_dims, compute, blocked ? dnnl_format_tag_any : dnnl_oihw);
    dnnl_memory_desc_init_by_tag(&any_dst, 4, dst_dims, dnnl_f32, blocked ? dnnl_format_tag_any : dnnl_nchw);
    dnnl_convolution_desc_t desc;
    dnnl_status_t s = dnnl_convolution_forward_desc_init(&desc, dnnl_forward_inference, dnnl_convolution_direct,
        &any_src, &any_weights, has_bias ? &entry->bias : NULL, &any_dst, strides, padding, padding_end);
    if (s != dnnl_success) { *status = (int)s; destroy_entry(entry); return NULL; }
    dnnl_primitive_attr_t attributes;
    dnnl_primitive_attr_create(&attributes);
    dnnl_primitive_attr_set_scratchpad_mode(attributes, dnnl_scratchpad_mode_user);
    dnnl_primitive_desc_t pd;
    s = dnnl_primitive_desc_create(&pd, &desc, attributes, engine, NULL);
    dnnl_primitive_attr_destroy(attributes);
    if (s != dnnl_success) { *status = (int)s; destroy_entry(entry); return NULL; }
    entry->scratch = *dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    entry->scratch_size = dnnl_memory_desc_get_size(&entry->scratch);
    entry->conv_src = *dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    entry->conv_weights = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    entry->conv_dst = *dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    s = dnnl_primitive_create(&entry->primitive, pd);
    dnnl_primitive_desc_destroy(pd);
    if (s == dnnl_success) s = make_reorder(&entry->reorder_src, &entry->src, &entry->conv_src);
    if (s == dnnl_success) s = make_reorder(&entry->reorder_dst, &entry->conv_dst, &entry->dst);
    if (s != dnnl_success) { *status = (int)s; destroy_entry(entry); return NULL; }
    if (!reused) cache_count++;
    return entry;
}

// Runs one convolution whose weights are `weights` laid out as `weights_desc` (plain OIHW, or the
// blocked layout they were prepared in). Called under `lock`.
static int run_conv(const float *src, int64_t batch, int64_t in_channels, int64_t height, int64_t width,
                    const dnnl_memory_desc_t *weights_desc, const void *weights, int64_t out_channels, int64_t kernel_h, int64_t kernel_w,
                    const float *bias, int64_t stride, int64_t padding, int64_t padding_end, float *dst, int64_t out_h, int64_t out_w) {
    int status = 0;
    int64_t key[12] = {batch, in_channels, height, width, out_channels, kernel_h, kernel_w, stride, padding, bias != NULL, padding_end,
                       weights_desc->data_type == dnnl_bf16};
    conv_entry *entry = find_or_create(key, bias != NULL, &status);
    if (!entry) return status ? status : -1;
    if ((height + padding + padding_end - kernel_h) / stride + 1 != out_h || (width + padding + padding_end - kernel_w) / stride + 1 != out_w) return -3;
    void *scratch_buffer = entry->scratch_size ? scratch_of_size(entry->scratch_size) : NULL;
    if (entry->scratch_size && !scratch_buffer) return -4;
    // Weights already in the layout this primitive reads need no copy; others are reordered for
    // this call (prepared weights meeting an unusual shape, or plain weights).
    dnnl_primitive_t weights_reorder = NULL;
    if (!dnnl_memory_desc_equal(weights_desc, &entry->conv_weights)) {
        dnnl_status_t made = make_reorder(&weights_reorder, weights_desc, &entry->conv_weights);
        if (made != dnnl_success) return (int)made;
    }
    // Blocked copies of the input, weights and output where the convolution wants them.
    void *conv_buffers[3] = {NULL, NULL, NULL};
    const dnnl_memory_desc_t *conv_mds[3] = {&entry->conv_src, &entry->conv_weights, &entry->conv_dst};
    dnnl_primitive_t reorders[3] = {entry->reorder_src, weights_reorder, entry->reorder_dst};
    for (int i = 0; i < 3; i++) {
        if (!reorders[i]) continue;
        size_t size = dnnl_memory_desc_get_size(conv_mds[i]);
        conv_buffers[i] = aligned_alloc(64, (size + 63) / 64 * 64);
        if (!conv_buffers[i]) {
            for (int j = 0; j < i; j++) free(conv_buffers[j]);
            if (weights_reorder) dnnl_primitive_destroy(weights_reorder);
            return -4;
        }
    }
    dnnl_memory_t m_src, m_weights, m_bias = NULL, m_dst, m_scratch = NULL, m_conv[3] = {NULL, NULL, NULL};
    dnnl_memory_create(&m_src, &entry->src, engine, (void *)src);
    dnnl_memory_create(&m_weights, weights_desc, engine, (void *)weights);
    if (bias) dnnl_memory_create(&m_bias, &entry->bias, engine, (void *)bias);
    dnnl_memory_create(&m_dst, &entry->dst, engine, dst);
    if (scratch_buffer) dnnl_memory_create(&m_scratch, &entry->scratch, engine, scratch_buffer);
    for (int i = 0; i < 3; i++) if (reorders[i]) dnnl_memory_create(&m_conv[i], conv_mds[i], engine, conv_buffers[i]);
    dnnl_status_t s = dnnl_success;
    if (reorders[0]) {
        dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, m_src}, {DNNL_ARG_TO, m_conv[0]}};
        s = dnnl_primitive_execute(reorders[0], stream, 2, r);
    }
    if (s == dnnl_success && reorders[1]) {
        dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, m_weights}, {DNNL_ARG_TO, m_conv[1]}};
        s = dnnl_primitive_execute(reorders[1], stream, 2, r);
    }
    dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, m_conv[0] ? m_conv[0] : m_src}, {DNNL_ARG_WEIGHTS, m_conv[1] ? m_conv[1] : m_weights},
                               {DNNL_ARG_DST, m_conv[2] ? m_conv[2] : m_dst}};
    int count = 3;
    if (m_scratch) args[count++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, m_scratch};
    if (m_bias) args[count++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, m_bias};
    if (s == dnnl_success) s = dnnl_primitive_execute(entry->primitive, stream, count, args);
    if (s == dnnl_success && reorders[2]) {
        dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, m_conv[2]}, {DNNL_ARG_TO, m_dst}};
        s = dnnl_primitive_execute(reorders[2], stream, 2, r);
    }
    if (s == dnnl_success) s = dnnl_stream_wait(stream);
    dnnl_memory_destroy(m_src);
    dnnl_memory_destroy(m_weights);
    if (m_bias) dnnl_memory_destroy(m_bias);
    dnnl_memory_destroy(m_dst);
    if (m_scratch) dnnl_memory_destroy(m_scratch);
    for (int i = 0; i < 3; i++) {
        if (m_conv[i]) dnnl_memory_destroy(m_conv[i]);
        free(conv_buffers[i]);
    }
    if (weights_reorder) dnnl_primitive_destroy(weights_reorder);
    return s == dnnl_success ? 0 : (int)s;
}

int sw_dnnl_conv2d(const float *src, int64_t batch, int64_t in_channels, int64_t height, int64_t width,
                   const float *weights, int64_t out_channels, int64_t kernel_h, int64_t kernel_w,
                   const float *bias, int64_t stride, int64_t padding, int64_t padding_end, float *dst, int64_t out_h, int64_t out_w) {
    pthread_mutex_lock(&lock);
    int status = ensure_engine();
    if (status == 0) {
        dnnl_dims_t dims = {out_channels, in_channels, kernel_h, kernel_w};
        dnnl_memory_desc_t plain;
        dnnl_memory_desc_init_by_tag(&plain, 4, dims, dnnl_f32, dnnl_oihw);
        status = run_conv(src, batch, in_channels, height, width, &plain, weights, out_channels, kernel_h, kernel_w,
                          bias, stride, padding, padding_end, dst, out_h, out_w);
    }
    pthread_mutex_unlock(&lock);
    return status;
}

// A new 64-byte-aligned buffer holding `from` (laid out as `from_desc`) in the layout and type of
// `to_desc`; NULL on failure. Called under `lock`.
static void *reordered_copy(const dnnl_memory_desc_t *from_desc, const void *from, const dnnl_memory_desc_t *to_desc) {
    size_t size = dnnl_memory_desc_get_size(to_desc);
    void *data = aligned_alloc(64, (size + 63) / 64 * 64);
    if (!data) return NULL;
    dnnl_primitive_t reorder = NULL;
    dnnl_status_t s = make_reorder(&reorder, from_desc, to_desc);
    if (s == dnnl_success && !reorder) { memcpy(data, from, size); return data; }
    if (s == dnnl_success) {
        dnnl_memory_t source, target;
        dnnl_memory_create(&source, from_desc, engine, (void *)from);
        dnnl_memory_create(&target, to_desc, engine, data);
        dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, source}, {DNNL_ARG_TO, target}};
        s = dnnl_primitive_execute(reorder, stream, 2, r);
        if (s == dnnl_success) s = dnnl_stream_wait(stream);
        dnnl_memory_destroy(source);
        dnnl_memory_destroy(target);
        dnnl_primitive_destroy(reorder);
    }
    if (s != dnnl_success) { free(data); return NULL; }
    return data;
}

// Weights in the layout oneDNN's convolution prefers on this CPU, found once from a nominal
// 32×32 input (the blocked layout depends on the channels and the ISA, not the image size).
// Linear layers' prepared weights are the same struct (out = n, in = k, a 1×1 "kernel").
struct sw_weights {
    dnnl_memory_desc_t desc;
    void *data;
    int64_t out_channels, in_channels, kernel_h, kernel_w;
};

sw_weights *sw_dnnl_conv_weights_prepare(const float *weights, int64_t out_channels, int64_t in_channels, int64_t kernel_h, int64_t kernel_w,
                                              int64_t stride, int64_t padding, int64_t padding_end, int bf16) {
    pthread_mutex_lock(&lock);
    sw_weights *prepared = NULL;
    dnnl_primitive_desc_t pd = NULL;
    if (ensure_engine() != 0) goto done;
    int64_t side = 32 > kernel_h && 32 > kernel_w ? 32 : (kernel_h > kernel_w ? kernel_h : kernel_w) * 2;
    int64_t out_side_h = (side + padding + padding_end - kernel_h) / stride + 1, out_side_w = (side + padding + padding_end - kernel_w) / stride + 1;
    dnnl_dims_t src_dims = {1, in_channels, side, side}, weight_dims = {out_channels, in_channels, kernel_h, kernel_w};
    dnnl_dims_t dst_dims = {1, out_channels, out_side_h, out_side_w};
    dnnl_dims_t strides = {stride, stride}, pads = {padding, padding}, pads_end = {padding_end, padding_end};
    dnnl_memory_desc_t plain, any_src, any_weights, any_dst;
    dnnl_memory_desc_init_by_tag(&plain, 4, weight_dims, dnnl_f32, dnnl_oihw);
    int blocked = use_blocked_layouts(0, 0);
    dnnl_data_type_t compute = bf16 ? dnnl_bf16 : dnnl_f32;
    dnnl_memory_desc_init_by_tag(&any_src, 4, src_dims, compute, blocked ? dnnl_format_tag_any : dnnl_nchw);
    dnnl_memory_desc_init_by_tag(&any_weights, 4, weight_dims, compute, blocked ? dnnl_format_tag_any : dnnl_oihw);
    dnnl_memory_desc_init_by_tag(&any_dst, 4, dst_dims, dnnl_f32, blocked ? dnnl_format_tag_any : dnnl_nchw);
    dnnl_convolution_desc_t desc;
    if (dnnl_convolution_forward_desc_init(&desc, dnnl_forward_inference, dnnl_convolution_direct, &any_src, &any_weights, NULL, &any_dst,
                                           strides, pads, pads_end) != dnnl_success) goto done;
    if (dnnl_primitive_desc_create(&pd, &desc, NULL, engine, NULL) != dnnl_success) { pd = NULL; goto done; }
    prepared = calloc(1, sizeof(*prepared));
    if (!prepared) goto done;
    prepared->desc = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    prepared->out_channels = out_channels;
    prepared->in_channels = in_channels;
    prepared->kernel_h = kernel_h;
    prepared->kernel_w = kernel_w;
    prepared->data = reordered_copy(&plain, weights, &prepared->desc);
    if (!prepared->data) { free(prepared); prepared = NULL; }
done:
    if (pd) dnnl_primitive_desc_destroy(pd);
    pthread_mutex_unlock(&lock);
    return prepared;
}

void sw_dnnl_weights_destroy(sw_weights *weights) {
    if (!weights) return;
    free(weights->data);
    free(weights);
}

int sw_dnnl_conv2d_prepared(const float *src, int64_t batch, int64_t in_channels, int64_t height, int64_t width,
                            const sw_weights *weights, const float *bias, int64_t stride, int64_t padding, int64_t padding_end,
                            float *dst, int64_t out_h, int64_t out_w) {
    if (in_channels != weights->in_channels) return -2;
    pthread_mutex_lock(&lock);
    int status = ensure_engine();
    if (status == 0)
        status = run_conv(src, batch, in_channels, height, width, &weights->desc, weights->data, weights->out_channels, weights->kernel_h,
                          weights->kernel_w, bias, stride, padding, padding_end, dst, out_h, out_w);
    pthread_mutex_unlock(&lock);
    return status;
}



// Linear layers in bf16: weights [out, in] prepared once as bf16 in the layout oneDNN's matmul
// reads on this CPU; each call converts the input to bf16 and writes f32 (bias f32).

typedef struct {
    int64_t key[4];  // rows, in, out, bias
    dnnl_primitive_t primitive, reorder_src;
    dnnl_memory_desc_t src, src_bf16, weights, bias, dst, scratch;
    size_t scratch_size;
} matmul_entry;

#define MATMUL_CACHE_SIZE 64
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
    s = dnnl_primitive_desc_create(pd, &desc, attributes, engine, NULL);
    dnnl_primitive_attr_destroy(attributes);
    return s;
}

static matmul_entry *find_or_create_matmul(const int64_t key[4], int *status) {
    int found, reused;
    int slot = cache_slot(matmuls, sizeof(matmul_entry), 4, matmul_count, MATMUL_CACHE_SIZE, &next_matmul_eviction, key, &found, &reused);
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
    if (s == dnnl_success) s = make_reorder(&entry->reorder_src, &entry->src, &entry->src_bf16);
    if (s != dnnl_success) { *status = (int)s; destroy_matmul(entry); return NULL; }
    if (!reused) matmul_count++;
    return entry;
}

sw_weights *sw_dnnl_linear_weights_prepare_bf16(const float *weights, int64_t n, int64_t k) {
    pthread_mutex_lock(&lock);
    sw_weights *prepared = NULL;
    dnnl_primitive_desc_t pd = NULL;
    if (ensure_engine() != 0 || matmul_pd(&pd, 256, k, n, 0) != dnnl_success) { pd = NULL; goto done; }
    prepared = calloc(1, sizeof(*prepared));
    if (!prepared) goto done;
    prepared->desc = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    prepared->out_channels = n;
    prepared->in_channels = k;
    prepared->kernel_h = prepared->kernel_w = 1;
    // Our [out, in] row-major floats are the k × n matrix in column-major order ("ba").
    dnnl_dims_t dims = {k, n};
    dnnl_memory_desc_t plain;
    dnnl_memory_desc_init_by_tag(&plain, 2, dims, dnnl_f32, dnnl_ba);
    prepared->data = reordered_copy(&plain, weights, &prepared->desc);
    if (!prepared->data) { free(prepared); prepared = NULL; }
done:
    if (pd) dnnl_primitive_desc_destroy(pd);
    pthread_mutex_unlock(&lock);
    return prepared;
}

int sw_dnnl_linear_bf16(const float *src, int64_t rows, const sw_weights *weights, const float *bias, float *dst) {
    pthread_mutex_lock(&lock);
    int status = ensure_engine();
    if (status != 0) { pthread_mutex_unlock(&lock); return status; }
    int64_t key[4] = {rows, weights->in_channels, weights->out_channels, bias != NULL};
    matmul_entry *entry = find_or_create_matmul(key, &status);
    if (!entry) { pthread_mutex_unlock(&lock); return status ? status : -1; }
    dnnl_primitive_t weights_reorder = NULL;
    dnnl_status_t s = dnnl_success;
    if (!dnnl_memory_desc_equal(&weights->desc, &entry->weights)) s = make_reorder(&weights_reorder, &weights->desc, &entry->weights);
    size_t src_size = dnnl_memory_desc_get_size(&entry->src_bf16), weights_size = dnnl_memory_desc_get_size(&entry->weights);
    void *src_bf16 = s == dnnl_success ? aligned_alloc(64, (src_size + 63) / 64 * 64) : NULL;
    void *converted_weights = weights_reorder ? aligned_alloc(64, (weights_size + 63) / 64 * 64) : NULL;
    void *scratch_buffer = entry->scratch_size ? scratch_of_size(entry->scratch_size) : NULL;
    if (s == dnnl_success && (!src_bf16 || (weights_reorder && !converted_weights) || (entry->scratch_size && !scratch_buffer))) s = dnnl_out_of_memory;
    dnnl_memory_t m_src = NULL, m_src_bf16 = NULL, m_weights = NULL, m_converted = NULL, m_bias = NULL, m_dst = NULL, m_scratch = NULL;
    if (s == dnnl_success) {
        dnnl_memory_create(&m_src, &entry->src, engine, (void *)src);
        dnnl_memory_create(&m_src_bf16, &entry->src_bf16, engine, src_bf16);
        dnnl_memory_create(&m_weights, &weights->desc, engine, weights->data);
        if (weights_reorder) dnnl_memory_create(&m_converted, &entry->weights, engine, converted_weights);
        if (bias) dnnl_memory_create(&m_bias, &entry->bias, engine, (void *)bias);
        dnnl_memory_create(&m_dst, &entry->dst, engine, dst);
        if (scratch_buffer) dnnl_memory_create(&m_scratch, &entry->scratch, engine, scratch_buffer);
        dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, m_src}, {DNNL_ARG_TO, m_src_bf16}};
        s = dnnl_primitive_execute(entry->reorder_src, stream, 2, r);
        if (s == dnnl_success && weights_reorder) {
            dnnl_exec_arg_t w[2] = {{DNNL_ARG_FROM, m_weights}, {DNNL_ARG_TO, m_converted}};
            s = dnnl_primitive_execute(weights_reorder, stream, 2, w);
        }
        dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, m_src_bf16}, {DNNL_ARG_WEIGHTS, m_converted ? m_converted : m_weights}, {DNNL_ARG_DST, m_dst}};
        int count = 3;
        if (m_scratch) args[count++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, m_scratch};
        if (m_bias) args[count++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, m_bias};
        if (s == dnnl_success) s = dnnl_primitive_execute(entry->primitive, stream, count, args);
        if (s == dnnl_success) s = dnnl_stream_wait(stream);
    }
    dnnl_memory_t memories[7] = {m_src, m_src_bf16, m_weights, m_converted, m_bias, m_dst, m_scratch};
    for (int i = 0; i < 7; i++) if (memories[i]) dnnl_memory_destroy(memories[i]);
    free(src_bf16);
    free(converted_weights);
    if (weights_reorder) dnnl_primitive_destroy(weights_reorder);
    pthread_mutex_unlock(&lock);
    return s == dnnl_success ? 0 : (int)s;
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
