// A small shim over Vulkan compute for the GPU backend: the loader opened at run time (so the
// program starts, and runs on the CPU, where no Vulkan is installed), devices, one queue, device
// memory handed out from large blocks, compute kernels from SPIR-V, and dispatches recorded into
// one command buffer per batch (a barrier between them) that is submitted when results are read.
#ifndef STOCKWERK_CVULKAN_H
#define STOCKWERK_CVULKAN_H
#include <stddef.h>
#include <stdint.h>

/// What a device is and can do, for choosing one and for messages.
typedef struct {
    char name[256];
    /// VkPhysicalDeviceType: 0 other, 1 integrated GPU, 2 discrete GPU, 3 virtual GPU, 4 CPU (lavapipe).
    int kind;
    uint32_t vendor_id, api_version;
    /// The largest device-local memory heap.
    uint64_t memory_bytes;
    int float16, storage16, cooperative_matrix;
    uint32_t subgroup_size, max_workgroup_invocations;
    uint64_t max_storage_buffer_range;
} sw_vk_device_info;

/// Opens libvulkan.so.1 and creates an instance (once per process). 0 on success; otherwise
/// `error` says why (no loader, no driver).
int sw_vk_initialize(char *error, size_t error_size);
/// Devices found by sw_vk_initialize (0 before it succeeded).
int sw_vk_device_count(void);
/// 0 on success, -1 for an index out of range.
int sw_vk_describe_device(int index, sw_vk_device_info *info);

typedef struct sw_vk_context sw_vk_context;
/// A logical device with one compute queue. NULL on failure, `error` saying why. `flags` 1: move
/// data through the staging buffer even where device memory is host-visible (as on a discrete
/// GPU), so that path is tested on lavapipe too.
sw_vk_context *sw_vk_open(int index, int flags, char *error, size_t error_size);
void sw_vk_close(sw_vk_context *context);
/// The last failure's message on this context ("" when none).
const char *sw_vk_last_error(sw_vk_context *context);

/// Device memory for a tensor or weights. NULL when out of device memory.
typedef struct sw_vk_buffer sw_vk_buffer;
sw_vk_buffer *sw_vk_buffer_create(sw_vk_context *context, uint64_t bytes);
/// Gives the buffer's memory back at once (work recorded later may reuse it: every dispatch is
/// followed by a full barrier); the buffer object goes once the recorded work has run.
void sw_vk_buffer_release(sw_vk_context *context, sw_vk_buffer *buffer);
uint64_t sw_vk_buffer_size(const sw_vk_buffer *buffer);
/// Copies host memory into / out of a buffer (submitting recorded work first). 0 on success.
int sw_vk_write(sw_vk_context *context, sw_vk_buffer *buffer, uint64_t offset, const void *data, uint64_t bytes);
int sw_vk_read(sw_vk_context *context, sw_vk_buffer *buffer, uint64_t offset, void *data, uint64_t bytes);

/// A compute kernel: SPIR-V with one descriptor set of `buffers` storage buffers (bindings
/// 0…buffers-1) and `push_bytes` of push constants. NULL on failure, `error` saying why.
typedef struct sw_vk_kernel sw_vk_kernel;
sw_vk_kernel *sw_vk_kernel_create(sw_vk_context *context, const uint32_t *spirv, size_t bytes, uint32_t buffers, uint32_t push_bytes,
                                  char *error, size_t error_size);
void sw_vk_kernel_destroy(sw_vk_context *context, sw_vk_kernel *kernel);
/// Records one dispatch of `kernel` over groups_x × groups_y × groups_z work groups, reading and
/// writing `buffers` (as many as the kernel declares), into the open batch. 0 on success.
int sw_vk_dispatch(sw_vk_context *context, sw_vk_kernel *kernel, sw_vk_buffer *const *buffers, const void *push,
                   uint32_t groups_x, uint32_t groups_y, uint32_t groups_z);
/// Submits the open batch and waits for it. 0 on success.
int sw_vk_flush(sw_vk_context *context);
/// Device memory in use (bytes handed out to buffers) and the most there has been.
void sw_vk_memory_use(sw_vk_context *context, uint64_t *in_use, uint64_t *peak);
/// Starts measuring the peak again from what is in use now.
void sw_vk_reset_peak(sw_vk_context *context);
#endif
