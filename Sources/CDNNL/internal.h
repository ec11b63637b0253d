// What the shim's files share: one oneDNN engine and stream per process, the lock that guards
// them and every cache, grow-only buffers, the primitive-cache slot search and reorder helpers.
#ifndef STOCKWERK_CDNNL_INTERNAL_H
#define STOCKWERK_CDNNL_INTERNAL_H
#include "cdnnl.h"
#include <oneapi/dnnl/dnnl.h>
#include <pthread.h>

// Guards the engine, the primitive caches and the shared buffers. Each primitive already uses
// every core, so serialising them costs nothing.
extern pthread_mutex_t sw_lock;
extern dnnl_engine_t sw_engine;
extern dnnl_stream_t sw_stream;

/// Creates the engine and stream on first use. Called under sw_lock; 0 on success.
int sw_ensure_engine(void);

/// Memory that is reused from call to call and only ever grows, so the big per-call buffers are
/// not fresh pages (which the kernel would zero) every time. Used under sw_lock.
typedef struct {
    void *data;
    size_t capacity;
} grow_buffer;

/// `buffer`'s memory with room for `size` bytes, 64-byte aligned; NULL when out of memory.
void *sw_grow(grow_buffer *buffer, size_t size);
/// Frees `buffer`'s memory (the next sw_grow allocates afresh).
void sw_release(grow_buffer *buffer);
/// Each file's shared buffers released (see sw_release_memory). Called under sw_lock.
void sw_conv_release_buffers(void);
void sw_matmul_release_buffers(void);
void sw_half_release_buffers(void);

/// The slot for `key` in a primitive cache whose entries start with their key (`length` int64s,
/// entries `stride` bytes apart): its index when cached (*found = 1), else the slot to fill: the
/// next free one, or, when all `capacity` are taken, the oldest (*evict = 1; a long run can meet
/// any number of shapes). The caller counts a new entry in only once it is made.
int sw_cache_slot(const void *entries, size_t stride, int length, int count, int capacity, int *next_eviction,
                  const int64_t *key, int *found, int *evict);

/// A reorder primitive from one layout to another; *out is NULL when they already agree.
dnnl_status_t sw_make_reorder(dnnl_primitive_t *out, const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to);

/// Runs `from` (laid out as `from_desc`) into `to` (laid out as `to_desc`). Called under sw_lock.
dnnl_status_t sw_reorder_into(const dnnl_memory_desc_t *from_desc, const void *from, const dnnl_memory_desc_t *to_desc, void *to);

/// A new 64-byte-aligned buffer holding `from` in the layout and type of `to_desc`; NULL on
/// failure. Called under sw_lock.
void *sw_reordered_copy(const dnnl_memory_desc_t *from_desc, const void *from, const dnnl_memory_desc_t *to_desc);

/// Weights prepared once in the layout a kernel reads (convolutions; linear layers use the same
/// struct with out = n, in = k and a 1×1 "kernel").
struct sw_weights {
    dnnl_memory_desc_t desc;
    void *data;
    int64_t out_channels, in_channels, kernel_h, kernel_w;
    int settled;  // convolutions: the layout is final (see adopt_layout in convolution.c)
    int half;     // 0: data holds desc's f32 values; SW_HALF_F16/BF16: the same values as 16 bits
};
/// Weights for the primitive `pd`: `weights` (laid out as `plain`) copied into the layout `pd`
/// reads, with their geometry. NULL when out of memory or the copy fails. Called under sw_lock.
sw_weights *sw_weights_for_primitive(dnnl_primitive_desc_t pd, const dnnl_memory_desc_t *plain, const void *weights,
                                     int64_t out_channels, int64_t in_channels, int64_t kernel_h, int64_t kernel_w);
#endif
