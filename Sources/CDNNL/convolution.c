// Convolutions through oneDNN, in bands of output rows on the layouts its kernels prefer.
//
// Our tensors are dense f32 NCHW. oneDNN's fast kernels read blocked channels (nChw16c) and its
// plain-NCHW path is 2–2.4× slower on the VAE decoder's big activations, but a blocked copy of a
// 128 MB activation costs 128 MB more at the decoder's peak. So a convolution runs in bands of
// output rows: each band's input rows (with the rows its kernel overlaps) are reordered into a
// small blocked buffer, convolved with the band's own top and bottom padding, and reordered into
// the output. A band's input or output holds up to BAND_BYTES (4 MiB: the UNet's activations at
// 512² are one to three bands, the VAE decoder's 512² ones 32).
//
// 3×3 stride-1 f32 convolutions over at least WINOGRAD_MIN_PIXELS output pixels use oneDNN's
// Winograd kernels (F(4,3) / F(2,3), 2–3× faster here, relative error ~2e-6). Their weights
// live in a transformed layout 1.8–4× the size of the plain ones and oneDNN's transform is slow
// (0.1 s for 512×512×3×3), so it is done per call into a reused buffer, only where the image is
// large enough for the saving to pay for it; weights stay prepared in the direct kernels' layout.
#include "internal.h"
#include <stdlib.h>
#include <string.h>

#define BAND_BYTES_DEFAULT ((int64_t)4 << 20)
#define WINOGRAD_MIN_PIXELS ((int64_t)128 * 128)
#define KEY_LENGTH 17
#define CACHE_SIZE 256

static int64_t band_bytes = BAND_BYTES_DEFAULT;

void sw_dnnl_set_conv_band_bytes(int64_t bytes) {
    pthread_mutex_lock(&sw_lock);
    band_bytes = bytes > 0 ? bytes : BAND_BYTES_DEFAULT;
    pthread_mutex_unlock(&sw_lock);
}

// STOCKWERK_WINOGRAD=0 keeps every convolution on the direct kernels (for comparison).
static int winograd_allowed(void) {
    static int allowed = -1;
    if (allowed < 0) {
        const char *value = getenv("STOCKWERK_WINOGRAD");
        allowed = !(value && strcmp(value, "0") == 0);
    }
    return allowed;
}

enum { K_BATCH, K_IN, K_HEIGHT, K_WIDTH, K_OUT, K_KH, K_KW, K_STRIDE, K_PAD, K_PAD_END, K_BIAS, K_BF16, K_WINOGRAD,
       K_BAND_ROWS, K_PAD_TOP, K_PAD_BOTTOM, K_RESIDUAL };

// One band's primitive: `band_rows` input rows (starting anywhere in an input `height` rows
// tall, hence the strides of the views) with its own top and bottom padding. With a residual,
// the primitive adds what its output buffer holds (oneDNN's sum post-op): the residual's band,
// reordered in first.
typedef struct {
    int64_t key[KEY_LENGTH];
    int64_t out_rows;
    dnnl_primitive_t primitive, reorder_src, reorder_dst, reorder_residual;  // reorders NULL where the layouts agree
    dnnl_memory_desc_t src_view, dst_view, bias, conv_src, conv_weights, conv_dst, scratch;
    size_t scratch_size;
} band_entry;

static band_entry cache[CACHE_SIZE];
static int cache_count = 0, next_eviction = 0;

// Reused from call to call (under sw_lock): a band's blocked input and output, the weights
// converted for the call's primitives, and oneDNN's scratchpad. Convolutions get their scratch
// memory from us (user scratchpad mode): Debian's build keeps its own scratchpad per *creating*
// thread, and a primitive created on one thread and run on another wrote past it (heap
// corruption seen when tests ran models on several threads).
static grow_buffer band_src, band_dst, call_weights, plain_weights, scratchpad, wide_weights;

void sw_conv_release_buffers(void) {
    grow_buffer *buffers[6] = {&band_src, &band_dst, &call_weights, &plain_weights, &scratchpad, &wide_weights};
    for (int i = 0; i < 6; i++) sw_release(buffers[i]);
}

// Prepared weights' f32 values in their layout: their own data, or for 16-bit weights the data
// widened into wide_weights (valid until the next call). NULL when out of memory.
static const void *prepared_values(const sw_weights *prepared) {
    if (!prepared->half) return prepared->data;
    int64_t count = (int64_t)(dnnl_memory_desc_get_size(&prepared->desc) / sizeof(float));
    float *wide = sw_grow(&wide_weights, (size_t)count * sizeof(float));
    if (wide) sw_half_widen(prepared->data, count, prepared->half, wide);
    return wide;
}

static void destroy_entry(band_entry *entry) {
    dnnl_primitive_t primitives[4] = {entry->primitive, entry->reorder_src, entry->reorder_dst, entry->reorder_residual};
    for (int i = 0; i < 4; i++) if (primitives[i]) dnnl_primitive_destroy(primitives[i]);
    memset(entry, 0, sizeof(*entry));
}

static int64_t out_size(int64_t in, int64_t before, int64_t after, int64_t kernel, int64_t stride) {
    return (in + before + after - kernel) / stride + 1;
}

static dnnl_status_t band_primitive(band_entry *entry, int winograd) {
    const int64_t *k = entry->key;
    int64_t out_w = out_size(k[K_WIDTH], k[K_PAD], k[K_PAD_END], k[K_KW], k[K_STRIDE]);
    dnnl_dims_t src_dims = {k[K_BATCH], k[K_IN], k[K_BAND_ROWS], k[K_WIDTH]}, weight_dims = {k[K_OUT], k[K_IN], k[K_KH], k[K_KW]};
    dnnl_dims_t dst_dims = {k[K_BATCH], k[K_OUT], entry->out_rows, out_w}, bias_dims = {k[K_OUT]};
    dnnl_dims_t strides = {k[K_STRIDE], k[K_STRIDE]}, padding = {k[K_PAD_TOP], k[K_PAD]}, padding_end = {k[K_PAD_BOTTOM], k[K_PAD_END]};
    dnnl_data_type_t compute = k[K_BF16] ? dnnl_bf16 : dnnl_f32;  // inputs and weights; the output stays f32
    dnnl_memory_desc_t any_src, any_weights, any_dst;
    dnnl_memory_desc_init_by_tag(&entry->bias, 1, bias_dims, dnnl_f32, dnnl_x);
    dnnl_memory_desc_init_by_tag(&any_src, 4, src_dims, compute, dnnl_format_tag_any);
    dnnl_memory_desc_init_by_tag(&any_weights, 4, weight_dims, compute, dnnl_format_tag_any);
    dnnl_memory_desc_init_by_tag(&any_dst, 4, dst_dims, dnnl_f32, dnnl_format_tag_any);
    dnnl_convolution_desc_t desc;
    dnnl_status_t s = dnnl_convolution_forward_desc_init(&desc, dnnl_forward_inference, winograd ? dnnl_convolution_winograd : dnnl_convolution_direct,
        &any_src, &any_weights, k[K_BIAS] ? &entry->bias : NULL, &any_dst, strides, padding, padding_end);
    if (s != dnnl_success) return s;
    dnnl_primitive_attr_t attributes;
    dnnl_primitive_attr_create(&attributes);
    dnnl_primitive_attr_set_scratchpad_mode(attributes, dnnl_scratchpad_mode_user);
    dnnl_post_ops_t post_ops = NULL;
    if (k[K_RESIDUAL]) {
        dnnl_post_ops_create(&post_ops);
        dnnl_post_ops_append_sum(post_ops, 1.0f);
        dnnl_primitive_attr_set_post_ops(attributes, post_ops);
    }
    dnnl_primitive_desc_t pd;
    s = dnnl_primitive_desc_create(&pd, &desc, attributes, sw_engine, NULL);
    dnnl_primitive_attr_destroy(attributes);
    if (post_ops) dnnl_post_ops_destroy(post_ops);
    if (s != dnnl_success) return s;
    entry->scratch = *dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    entry->scratch_size = dnnl_memory_desc_get_size(&entry->scratch);
    entry->conv_src = *dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    entry->conv_weights = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    entry->conv_dst = *dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    s = dnnl_primitive_create(&entry->primitive, pd);
    dnnl_primitive_desc_destroy(pd);
    return s;
}

static band_entry *find_or_create(const int64_t key[KEY_LENGTH], int *status) {
    int found, reused;
    int slot = sw_cache_slot(cache, sizeof(band_entry), KEY_LENGTH, cache_count, CACHE_SIZE, &next_eviction, key, &found, &reused);
    band_entry *entry = &cache[slot];
    if (found) return entry;
    if (reused) destroy_entry(entry);
    memcpy(entry->key, key, sizeof(int64_t) * KEY_LENGTH);
    int64_t batch = key[K_BATCH], in = key[K_IN], height = key[K_HEIGHT], width = key[K_WIDTH], out = key[K_OUT];
    int64_t out_h = out_size(height, key[K_PAD], key[K_PAD_END], key[K_KH], key[K_STRIDE]);
    int64_t out_w = out_size(width, key[K_PAD], key[K_PAD_END], key[K_KW], key[K_STRIDE]);
    entry->out_rows = out_size(key[K_BAND_ROWS], key[K_PAD_TOP], key[K_PAD_BOTTOM], key[K_KH], key[K_STRIDE]);
    // The band's rows inside the whole NCHW input and output.
    dnnl_dims_t src_dims = {batch, in, key[K_BAND_ROWS], width}, src_strides = {in * height * width, height * width, width, 1};
    dnnl_dims_t dst_dims = {batch, out, entry->out_rows, out_w}, dst_strides = {out * out_h * out_w, out_h * out_w, out_w, 1};
    dnnl_memory_desc_init_by_strides(&entry->src_view, 4, src_dims, dnnl_f32, src_strides);
    dnnl_memory_desc_init_by_strides(&entry->dst_view, 4, dst_dims, dnnl_f32, dst_strides);
    dnnl_status_t s = band_primitive(entry, (int)key[K_WINOGRAD]);
    if (s != dnnl_success && key[K_WINOGRAD]) {
        // No Winograd kernel for this shape on this CPU: the direct one, under the same key.
        if (entry->primitive) dnnl_primitive_destroy(entry->primitive);
        entry->primitive = NULL;
        s = band_primitive(entry, 0);
    }
    if (s == dnnl_success) s = sw_make_reorder(&entry->reorder_src, &entry->src_view, &entry->conv_src);
    if (s == dnnl_success) s = sw_make_reorder(&entry->reorder_dst, &entry->conv_dst, &entry->dst_view);
    if (s == dnnl_success && key[K_RESIDUAL]) s = sw_make_reorder(&entry->reorder_residual, &entry->dst_view, &entry->conv_dst);
    if (s != dnnl_success) { *status = (int)s; destroy_entry(entry); return NULL; }
    if (!reused) cache_count++;
    return entry;
}

// Output rows per band: as many as fit BAND_BYTES for the band's input and output, in whole
// Winograd tiles (4 rows) where that kernel is used.
static int64_t rows_per_band(int64_t batch, int64_t in, int64_t width, int64_t out, int64_t out_w, int64_t stride, int winograd) {
    int64_t per_row = batch * (in * width * stride > out * out_w ? in * width * stride : out * out_w) * (int64_t)sizeof(float);
    int64_t rows = band_bytes / (per_row > 0 ? per_row : 1);
    if (winograd && rows >= 8) rows -= rows % 4;
    return rows > 0 ? rows : 1;
}

// `weights` (laid out as `from`) converted into `to` at `target`, through plain OIHW unless one
// side is plain: oneDNN converts between two blocked layouts with a slow reference loop (70 ms
// for 1280×1280 weights, against 2–3 ms for its JIT reorders to and from plain), and into the
// Winograd layout only from plain.
static dnnl_status_t convert_weights(const band_entry *entry, const dnnl_memory_desc_t *from, const void *weights, const dnnl_memory_desc_t *to, void *target) {
    dnnl_dims_t dims = {entry->key[K_OUT], entry->key[K_IN], entry->key[K_KH], entry->key[K_KW]};
    dnnl_memory_desc_t plain;
    dnnl_memory_desc_init_by_tag(&plain, 4, dims, from->data_type, dnnl_oihw);
    if (dnnl_memory_desc_equal(from, &plain) || dnnl_memory_desc_equal(to, &plain)) return sw_reorder_into(from, weights, to, target);
    void *staging = sw_grow(&plain_weights, dnnl_memory_desc_get_size(&plain));
    if (!staging) return dnnl_out_of_memory;
    dnnl_status_t s = sw_reorder_into(from, weights, &plain, staging);
    return s == dnnl_success ? sw_reorder_into(&plain, staging, to, target) : s;
}

// Prepared weights take the layout of their first use: they were prepared for a nominal 32×32
// input, and another size can pick a kernel that reads another blocking (the UNet's 8×8 layers
// do), which would otherwise mean a conversion on every call. Not into a Winograd layout (up to
// 4× the memory) and only once, so weights used at several sizes settle on the first.
static void adopt_layout(sw_weights *prepared, const band_entry *entry) {
    if (prepared->settled) return;
    prepared->settled = 1;
    if (entry->conv_weights.format_kind != dnnl_blocked || dnnl_memory_desc_equal(&prepared->desc, &entry->conv_weights)) return;
    size_t size = dnnl_memory_desc_get_size(&entry->conv_weights);
    const void *values = prepared_values(prepared);
    void *data = values ? aligned_alloc(64, (size + 63) / 64 * 64) : NULL;
    if (!data) return;
    if (convert_weights(entry, &prepared->desc, values, &entry->conv_weights, data) != dnnl_success) { free(data); return; }
    if (prepared->half) {
        // The same values in another order (and zero padding): exact in 16 bits as before.
        int64_t count = (int64_t)(size / sizeof(float));
        uint16_t *half = aligned_alloc(64, ((size_t)count * 2 + 63) / 64 * 64);
        if (!half || !sw_half_narrow(data, count, prepared->half, half)) { free(half); free(data); return; }
        free(data);
        data = half;
    }
    free(prepared->data);
    prepared->data = data;
    prepared->desc = entry->conv_weights;
}

// The call's weights in the layout `entry` reads: the given ones when they agree, else converted
// into call_weights (once per distinct layout in a call; *converted_desc remembers which).
static const void *weights_for(const band_entry *entry, const dnnl_memory_desc_t *weights_desc, const void *weights,
                               dnnl_memory_desc_t *converted_desc, int *has_converted, dnnl_status_t *status) {
    if (dnnl_memory_desc_equal(weights_desc, &entry->conv_weights)) return weights;
    if (*has_converted && dnnl_memory_desc_equal(converted_desc, &entry->conv_weights)) return call_weights.data;
    void *target = sw_grow(&call_weights, dnnl_memory_desc_get_size(&entry->conv_weights));
    if (!target) { *status = dnnl_out_of_memory; return NULL; }
    *status = convert_weights(entry, weights_desc, weights, &entry->conv_weights, target);
    if (*status != dnnl_success) return NULL;
    *converted_desc = entry->conv_weights;
    *has_converted = 1;
    return target;
}

// The residual's band copied into the output's, where the primitive writes the output as it is
// (same layout: no reorder to do it).
static void copy_band(const band_entry *entry, const float *residual, float *dst) {
    const int64_t *k = entry->key;
    int64_t planes = k[K_BATCH] * k[K_OUT], plane_stride = entry->dst_view.format_desc.blocking.strides[1];
    int64_t count = entry->out_rows * entry->dst_view.dims[3];
    for (int64_t plane = 0; plane < planes; plane++) memcpy(dst + plane * plane_stride, residual + plane * plane_stride, count * sizeof(float));
}

// One band: reorder its input rows in (and the residual's into the output), convolve, reorder
// its output rows out.
static dnnl_status_t run_band(const band_entry *entry, const float *src, const void *weights, const float *bias, const float *residual, float *dst) {
    void *scratch = entry->scratch_size ? sw_grow(&scratchpad, entry->scratch_size) : NULL;
    void *blocked_src = entry->reorder_src ? sw_grow(&band_src, dnnl_memory_desc_get_size(&entry->conv_src)) : NULL;
    void *blocked_dst = entry->reorder_dst ? sw_grow(&band_dst, dnnl_memory_desc_get_size(&entry->conv_dst)) : NULL;
    if ((entry->scratch_size && !scratch) || (entry->reorder_src && !blocked_src) || (entry->reorder_dst && !blocked_dst)) return dnnl_out_of_memory;
    dnnl_memory_t m_src, m_dst, m_weights, m_bias = NULL, m_scratch = NULL, m_blocked_src = NULL, m_blocked_dst = NULL, m_residual = NULL;
    dnnl_memory_create(&m_src, &entry->src_view, sw_engine, (void *)src);
    dnnl_memory_create(&m_dst, &entry->dst_view, sw_engine, dst);
    dnnl_memory_create(&m_weights, &entry->conv_weights, sw_engine, (void *)weights);
    if (bias) dnnl_memory_create(&m_bias, &entry->bias, sw_engine, (void *)bias);
    if (scratch) dnnl_memory_create(&m_scratch, &entry->scratch, sw_engine, scratch);
    if (blocked_src) dnnl_memory_create(&m_blocked_src, &entry->conv_src, sw_engine, blocked_src);
    if (blocked_dst) dnnl_memory_create(&m_blocked_dst, &entry->conv_dst, sw_engine, blocked_dst);
    dnnl_status_t s = dnnl_success;
    if (residual && entry->reorder_residual) {
        dnnl_memory_create(&m_residual, &entry->dst_view, sw_engine, (void *)residual);
        dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, m_residual}, {DNNL_ARG_TO, m_blocked_dst}};
        s = dnnl_primitive_execute(entry->reorder_residual, sw_stream, 2, r);
    } else if (residual) {
        copy_band(entry, residual, dst);
    }
    if (entry->reorder_src) {
        dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, m_src}, {DNNL_ARG_TO, m_blocked_src}};
        s = dnnl_primitive_execute(entry->reorder_src, sw_stream, 2, r);
    }
    dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, m_blocked_src ? m_blocked_src : m_src}, {DNNL_ARG_WEIGHTS, m_weights},
                               {DNNL_ARG_DST, m_blocked_dst ? m_blocked_dst : m_dst}};
    int count = 3;
    if (m_scratch) args[count++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, m_scratch};
    if (m_bias) args[count++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, m_bias};
    if (s == dnnl_success) s = dnnl_primitive_execute(entry->primitive, sw_stream, count, args);
    if (s == dnnl_success && entry->reorder_dst) {
        dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, m_blocked_dst}, {DNNL_ARG_TO, m_dst}};
        s = dnnl_primitive_execute(entry->reorder_dst, sw_stream, 2, r);
    }
    if (s == dnnl_success) s = dnnl_stream_wait(sw_stream);
    dnnl_memory_t memories[8] = {m_src, m_dst, m_weights, m_bias, m_scratch, m_blocked_src, m_blocked_dst, m_residual};
    for (int i = 0; i < 8; i++) if (memories[i]) dnnl_memory_destroy(memories[i]);
    return s;
}

// Runs one convolution whose weights are `weights` laid out as `weights_desc` (plain OIHW, or the
// layout they were prepared in), band by band. Called under sw_lock.
static int run_conv(const float *src, int64_t batch, int64_t in_channels, int64_t height, int64_t width, sw_weights *prepared,
                    const dnnl_memory_desc_t *weights_desc, const void *weights, int64_t out_channels, int64_t kernel_h, int64_t kernel_w,
                    const float *bias, int64_t stride, int64_t padding, int64_t padding_end, const float *residual, float *dst,
                    int64_t out_h, int64_t out_w) {
    if (out_size(height, padding, padding_end, kernel_h, stride) != out_h || out_size(width, padding, padding_end, kernel_w, stride) != out_w) return -3;
    int bf16 = weights_desc->data_type == dnnl_bf16;
    int winograd = winograd_allowed() && !bf16 && kernel_h == 3 && kernel_w == 3 && stride == 1 && batch * out_h * out_w >= WINOGRAD_MIN_PIXELS;
    int64_t rows = rows_per_band(batch, in_channels, width, out_channels, out_w, stride, winograd);
    dnnl_memory_desc_t converted_desc;
    int has_converted = 0, widened = 0;
    for (int64_t first_out = 0; first_out < out_h; first_out += rows) {
        int64_t last_out = first_out + rows < out_h ? first_out + rows : out_h;
        // Input rows the band's outputs read, clamped to the image; what lies outside is padding.
        int64_t wanted_first = first_out * stride - padding, wanted_end = (last_out - 1) * stride - padding + kernel_h;
        int64_t first_in = wanted_first > 0 ? wanted_first : 0, end_in = wanted_end < height ? wanted_end : height;
        int64_t key[KEY_LENGTH] = {batch, in_channels, height, width, out_channels, kernel_h, kernel_w, stride, padding, padding_end,
                                   bias != NULL, bf16, winograd, end_in - first_in, first_in - wanted_first, wanted_end - end_in,
                                   residual != NULL};
        int status = 0;
        band_entry *entry = find_or_create(key, &status);
        if (!entry) return status ? status : -1;
        if (entry->out_rows != last_out - first_out) return -3;
        if (prepared) {
            // 16-bit weights are widened once per call (after adopt_layout, which happens at the
            // first band of the first call only).
            adopt_layout(prepared, entry);
            weights_desc = &prepared->desc;
            if (!prepared->half) {
                weights = prepared->data;
            } else if (!widened) {
                weights = prepared_values(prepared);
                if (!weights) return dnnl_out_of_memory;
                widened = 1;
            }
        }
        dnnl_status_t s = dnnl_success;
        const void *band_weights = weights_for(entry, weights_desc, weights, &converted_desc, &has_converted, &s);
        if (!band_weights) return s != dnnl_success ? (int)s : -4;
        s = run_band(entry, src + first_in * width, band_weights, bias, residual ? residual + first_out * out_w : NULL, dst + first_out * out_w);
        if (s != dnnl_success) return (int)s;
    }
    return 0;
}

int sw_dnnl_conv2d(const float *src, int64_t batch, int64_t in_channels, int64_t height, int64_t width,
                   const float *weights, int64_t out_channels, int64_t kernel_h, int64_t kernel_w,
                   const float *bias, int64_t stride, int64_t padding, int64_t padding_end, float *dst, int64_t out_h, int64_t out_w) {
    pthread_mutex_lock(&sw_lock);
    int status = sw_ensure_engine();
    if (status == 0) {
        dnnl_dims_t dims = {out_channels, in_channels, kernel_h, kernel_w};
        dnnl_memory_desc_t plain;
        dnnl_memory_desc_init_by_tag(&plain, 4, dims, dnnl_f32, dnnl_oihw);
        status = run_conv(src, batch, in_channels, height, width, NULL, &plain, weights, out_channels, kernel_h, kernel_w,
                          bias, stride, padding, padding_end, NULL, dst, out_h, out_w);
    }
    pthread_mutex_unlock(&sw_lock);
    return status;
}

// Weights in the layout oneDNN's direct convolution prefers on this CPU, found once from a nominal
// 32×32 input (the blocked layout depends on the channels and the ISA, not the image size).
sw_weights *sw_dnnl_conv_weights_prepare(const float *weights, int64_t out_channels, int64_t in_channels, int64_t kernel_h, int64_t kernel_w,
                                         int64_t stride, int64_t padding, int64_t padding_end, int bf16) {
    pthread_mutex_lock(&sw_lock);
    sw_weights *prepared = NULL;
    dnnl_primitive_desc_t pd = NULL;
    if (sw_ensure_engine() != 0) goto done;
    int64_t side = 32 > kernel_h && 32 > kernel_w ? 32 : (kernel_h > kernel_w ? kernel_h : kernel_w) * 2;
    dnnl_dims_t src_dims = {1, in_channels, side, side}, weight_dims = {out_channels, in_channels, kernel_h, kernel_w};
    dnnl_dims_t dst_dims = {1, out_channels, out_size(side, padding, padding_end, kernel_h, stride), out_size(side, padding, padding_end, kernel_w, stride)};
    dnnl_dims_t strides = {stride, stride}, pads = {padding, padding}, pads_end = {padding_end, padding_end};
    dnnl_memory_desc_t plain, any_src, any_weights, any_dst;
    dnnl_memory_desc_init_by_tag(&plain, 4, weight_dims, dnnl_f32, dnnl_oihw);
    dnnl_data_type_t compute = bf16 ? dnnl_bf16 : dnnl_f32;
    dnnl_memory_desc_init_by_tag(&any_src, 4, src_dims, compute, dnnl_format_tag_any);
    dnnl_memory_desc_init_by_tag(&any_weights, 4, weight_dims, compute, dnnl_format_tag_any);
    dnnl_memory_desc_init_by_tag(&any_dst, 4, dst_dims, dnnl_f32, dnnl_format_tag_any);
    dnnl_convolution_desc_t desc;
    if (dnnl_convolution_forward_desc_init(&desc, dnnl_forward_inference, dnnl_convolution_direct, &any_src, &any_weights, NULL, &any_dst,
                                           strides, pads, pads_end) != dnnl_success) goto done;
    if (dnnl_primitive_desc_create(&pd, &desc, NULL, sw_engine, NULL) != dnnl_success) { pd = NULL; goto done; }
    prepared = sw_weights_for_primitive(pd, &plain, weights, out_channels, in_channels, kernel_h, kernel_w);
done:
    if (pd) dnnl_primitive_desc_destroy(pd);
    pthread_mutex_unlock(&sw_lock);
    return prepared;
}

int sw_dnnl_conv2d_prepared(const float *src, int64_t batch, int64_t in_channels, int64_t height, int64_t width,
                            sw_weights *weights, const float *bias, int64_t stride, int64_t padding, int64_t padding_end,
                            const float *residual, float *dst, int64_t out_h, int64_t out_w) {
    if (in_channels != weights->in_channels) return -2;
    pthread_mutex_lock(&sw_lock);
    int status = sw_ensure_engine();
    if (status == 0)
        status = run_conv(src, batch, in_channels, height, width, weights, &weights->desc, weights->data, weights->out_channels, weights->kernel_h,
                          weights->kernel_w, bias, stride, padding, padding_end, residual, dst, out_h, out_w);
    pthread_mutex_unlock(&sw_lock);
    return status;
}
