// The Vulkan compute shim (cvulkan.h says what it offers). The loader is opened with dlopen and
// every entry point fetched through vkGetInstanceProcAddr, so nothing here
// links against libvulkan: a machine without it runs Stockwerk on the CPU and is told why.
#define VK_NO_PROTOTYPES
#include "cvulkan.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vulkan/vulkan.h>

#define MAX_DEVICES 16
#define MAX_BINDINGS 8
#define BLOCK_BYTES ((uint64_t)256 << 20)   // device memory is taken from the driver in blocks this size
#define SETS_PER_BATCH 1024                 // descriptor sets (one per dispatch) before a batch is submitted

// Entry points, fetched once through the instance (the loader's trampolines dispatch device
// functions to whichever device they are called on, so devices of several drivers can be open).
static PFN_vkGetInstanceProcAddr get_instance_proc;
#define INSTANCE_FUNCTIONS(X)                                                                                                   \
    X(vkEnumeratePhysicalDevices) X(vkGetPhysicalDeviceProperties) X(vkGetPhysicalDeviceProperties2) X(vkGetPhysicalDeviceFeatures2) \
    X(vkGetPhysicalDeviceMemoryProperties) X(vkGetPhysicalDeviceQueueFamilyProperties) X(vkEnumerateDeviceExtensionProperties)   \
    X(vkCreateDevice)
#define DEVICE_FUNCTIONS(X)                                                                                                     \
    X(vkDestroyDevice) X(vkGetDeviceQueue) X(vkAllocateMemory) X(vkFreeMemory) X(vkMapMemory) X(vkCreateBuffer) X(vkDestroyBuffer)   \
    X(vkGetBufferMemoryRequirements) X(vkBindBufferMemory) X(vkCreateShaderModule) X(vkDestroyShaderModule)                     \
    X(vkCreateDescriptorSetLayout) X(vkDestroyDescriptorSetLayout) X(vkCreatePipelineLayout) X(vkDestroyPipelineLayout)        \
    X(vkCreateComputePipelines) X(vkDestroyPipeline) X(vkCreateDescriptorPool) X(vkDestroyDescriptorPool) X(vkResetDescriptorPool) \
    X(vkAllocateDescriptorSets) X(vkUpdateDescriptorSets) X(vkCreateCommandPool) X(vkDestroyCommandPool) X(vkAllocateCommandBuffers) \
    X(vkBeginCommandBuffer) X(vkEndCommandBuffer) X(vkResetCommandBuffer) X(vkCmdBindPipeline) X(vkCmdBindDescriptorSets)        \
    X(vkCmdPushConstants) X(vkCmdDispatch) X(vkCmdPipelineBarrier) X(vkCmdCopyBuffer) X(vkQueueSubmit) X(vkCreateFence)           \
    X(vkDestroyFence) X(vkWaitForFences) X(vkResetFences) X(vkDeviceWaitIdle)
#define DECLARE(name) static PFN_##name name;
static PFN_vkCreateInstance vkCreateInstance;
INSTANCE_FUNCTIONS(DECLARE)
DEVICE_FUNCTIONS(DECLARE)
#undef DECLARE

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static int initialized = 0;
static char init_error[512];
static VkInstance instance;
static VkPhysicalDevice devices[MAX_DEVICES];
static uint32_t device_count = 0;

static void say(char *error, size_t size, const char *format, ...) {
    if (!error || size == 0) return;
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(error, size, format, arguments);
    va_end(arguments);
}

static int load_instance(char *error, size_t size) {
    void *library = dlopen("libvulkan.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!library) library = dlopen("libvulkan.so", RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        say(error, size, "no Vulkan loader (libvulkan.so.1) on this machine; on Debian: apt-get install libvulkan1 and the GPU's Vulkan driver");
        return -1;
    }
    get_instance_proc = (PFN_vkGetInstanceProcAddr)dlsym(library, "vkGetInstanceProcAddr");
    if (!get_instance_proc) { say(error, size, "the Vulkan loader has no vkGetInstanceProcAddr"); return -1; }
    vkCreateInstance = (PFN_vkCreateInstance)get_instance_proc(NULL, "vkCreateInstance");
    if (!vkCreateInstance) { say(error, size, "the Vulkan loader has no vkCreateInstance"); return -1; }
    VkApplicationInfo application = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO, .pApplicationName = "stockwerk", .apiVersion = VK_API_VERSION_1_2};
    VkInstanceCreateInfo create = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, .pApplicationInfo = &application};
    VkResult result = vkCreateInstance(&create, NULL, &instance);
    if (result != VK_SUCCESS) {
        say(error, size, "Vulkan could not start (vkCreateInstance: %d); is a Vulkan driver installed (mesa-vulkan-drivers, the NVIDIA driver)?", (int)result);
        return -1;
    }
#define LOAD(name) name = (PFN_##name)get_instance_proc(instance, #name); if (!name) { say(error, size, "Vulkan lacks " #name); return -1; }
    INSTANCE_FUNCTIONS(LOAD)
    DEVICE_FUNCTIONS(LOAD)
#undef LOAD
    uint32_t count = MAX_DEVICES;
    result = vkEnumeratePhysicalDevices(instance, &count, devices);
    if (result != VK_SUCCESS && result != VK_INCOMPLETE) { say(error, size, "Vulkan could not list devices (%d)", (int)result); return -1; }
    device_count = count;
    return 0;
}

int sw_vk_initialize(char *error, size_t error_size) {
    pthread_mutex_lock(&init_lock);
    if (!initialized) {
        initialized = load_instance(init_error, sizeof init_error) == 0 ? 1 : -1;
        if (initialized < 0) device_count = 0;
    }
    int status = initialized > 0 ? 0 : -1;
    if (status != 0) say(error, error_size, "%s", init_error);
    pthread_mutex_unlock(&init_lock);
    return status;
}

int sw_vk_device_count(void) { return initialized > 0 ? (int)device_count : 0; }

static int has_extension(VkPhysicalDevice device, const char *name) {
    uint32_t count = 0;
    vkEnumerateDeviceExtensionProperties(device, NULL, &count, NULL);
    VkExtensionProperties *list = calloc(count ? count : 1, sizeof *list);
    if (!list) return 0;
    vkEnumerateDeviceExtensionProperties(device, NULL, &count, list);
    int found = 0;
    for (uint32_t i = 0; i < count && !found; i++) found = strcmp(list[i].extensionName, name) == 0;
    free(list);
    return found;
}

int sw_vk_describe_device(int index, sw_vk_device_info *info) {
    if (index < 0 || index >= sw_vk_device_count()) return -1;
    VkPhysicalDevice device = devices[index];
    VkPhysicalDeviceSubgroupProperties subgroup = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
    VkPhysicalDeviceProperties2 properties = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &subgroup};
    vkGetPhysicalDeviceProperties2(device, &properties);
    VkPhysicalDeviceVulkan12Features features12 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
    VkPhysicalDeviceVulkan11Features features11 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES, .pNext = &features12};
    VkPhysicalDeviceFeatures2 features = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &features11};
    vkGetPhysicalDeviceFeatures2(device, &features);
    VkPhysicalDeviceMemoryProperties memory;
    vkGetPhysicalDeviceMemoryProperties(device, &memory);
    memset(info, 0, sizeof *info);
    snprintf(info->name, sizeof info->name, "%s", properties.properties.deviceName);
    info->kind = (int)properties.properties.deviceType;
    info->vendor_id = properties.properties.vendorID;
    info->api_version = properties.properties.apiVersion;
    for (uint32_t i = 0; i < memory.memoryHeapCount; i++)
        if ((memory.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) && memory.memoryHeaps[i].size > info->memory_bytes)
            info->memory_bytes = memory.memoryHeaps[i].size;
    info->float16 = features12.shaderFloat16;
    info->storage16 = features11.storageBuffer16BitAccess;
    info->cooperative_matrix = has_extension(device, "VK_KHR_cooperative_matrix");
    info->subgroup_size = subgroup.subgroupSize;
    info->max_workgroup_invocations = properties.properties.limits.maxComputeWorkGroupInvocations;
    info->max_storage_buffer_range = properties.properties.limits.maxStorageBufferRange;
    return 0;
}

// MARK: Device memory: blocks from the driver, first-fit ranges within them.

typedef struct { uint64_t offset, size; } range;

typedef struct block {
    VkDeviceMemory memory;
    uint64_t size;
    void *mapped;  // where the block is host-visible and coherent
    range *free;
    int free_count, free_capacity;
    struct block *next;
} block;

struct sw_vk_buffer {
    VkBuffer buffer;
    block *owner;
    uint64_t offset, size, reserved;
};

struct sw_vk_kernel {
    VkShaderModule module;
    VkDescriptorSetLayout set_layout;
    VkPipelineLayout layout;
    VkPipeline pipeline;
    uint32_t buffers, push_bytes;
};

struct sw_vk_context {
    pthread_mutex_t lock;
    VkDevice device;
    VkQueue queue;
    uint32_t memory_type;
    int mappable;                  // device-local memory is host-visible and coherent (lavapipe, unified memory)
    uint32_t staging_type;
    VkDeviceSize alignment;
    block *blocks;
    uint64_t in_use, peak;
    VkCommandPool pool;
    VkCommandBuffer batch;
    int recording;
    uint32_t sets_used;
    VkDescriptorPool descriptors;
    VkFence fence;
    sw_vk_buffer **releases;        // released while recorded work may use them: freed after the submit
    int release_count, release_capacity;
    VkBuffer staging;               // for devices whose memory the host cannot map
    VkDeviceMemory staging_memory;
    void *staging_mapped;
    uint64_t staging_size;
    char error[512];
};

static void fail(sw_vk_context *context, const char *format, ...) {
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(context->error, sizeof context->error, format, arguments);
    va_end(arguments);
}

static int find_memory_type(VkPhysicalDevice device, uint32_t allowed, VkMemoryPropertyFlags wanted) {
    VkPhysicalDeviceMemoryProperties memory;
    vkGetPhysicalDeviceMemoryProperties(device, &memory);
    for (uint32_t i = 0; i < memory.memoryTypeCount; i++)
        if ((allowed & (1u << i)) && (memory.memoryTypes[i].propertyFlags & wanted) == wanted) return (int)i;
    return -1;
}

static void insert_free(block *owner, uint64_t offset, uint64_t size) {
    // Sorted by offset; merged with the neighbours it touches.
    int at = 0;
    while (at < owner->free_count && owner->free[at].offset < offset) at++;
    int merged_left = at > 0 && owner->free[at - 1].offset + owner->free[at - 1].size == offset;
    int merged_right = at < owner->free_count && offset + size == owner->free[at].offset;
    if (merged_left && merged_right) {
        owner->free[at - 1].size += size + owner->free[at].size;
        memmove(owner->free + at, owner->free + at + 1, sizeof(range) * (size_t)(owner->free_count - at - 1));
        owner->free_count--;
    } else if (merged_left) {
        owner->free[at - 1].size += size;
    } else if (merged_right) {
        owner->free[at].offset = offset;
        owner->free[at].size += size;
    } else {
        if (owner->free_count == owner->free_capacity) {
            int capacity = owner->free_capacity ? owner->free_capacity * 2 : 16;
            range *grown = realloc(owner->free, sizeof(range) * (size_t)capacity);
            if (!grown) return;  // the range is lost to this block until it is freed whole; never reused twice
            owner->free = grown;
            owner->free_capacity = capacity;
        }
        memmove(owner->free + at + 1, owner->free + at, sizeof(range) * (size_t)(owner->free_count - at));
        owner->free[at] = (range){offset, size};
        owner->free_count++;
    }
}

static block *new_block(sw_vk_context *context, uint64_t size) {
    block *created = calloc(1, sizeof *created);
    if (!created) return NULL;
    VkMemoryAllocateInfo allocate = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = size, .memoryTypeIndex = context->memory_type};
    if (vkAllocateMemory(context->device, &allocate, NULL, &created->memory) != VK_SUCCESS) { free(created); return NULL; }
    if (context->mappable && vkMapMemory(context->device, created->memory, 0, VK_WHOLE_SIZE, 0, &created->mapped) != VK_SUCCESS) created->mapped = NULL;
    created->size = size;
    insert_free(created, 0, size);
    created->next = context->blocks;
    context->blocks = created;
    return created;
}

// A range of `size` bytes (aligned) from the blocks, a new block when none has room.
static int reserve(sw_vk_context *context, uint64_t size, block **owner, uint64_t *offset) {
    for (int attempt = 0; attempt < 2; attempt++) {
        for (block *candidate = context->blocks; candidate; candidate = candidate->next) {
            for (int i = 0; i < candidate->free_count; i++) {
                range *free_range = &candidate->free[i];
                uint64_t start = (free_range->offset + context->alignment - 1) / context->alignment * context->alignment;
                if (start + size > free_range->offset + free_range->size) continue;
                uint64_t before = start - free_range->offset, after = free_range->offset + free_range->size - start - size;
                uint64_t range_offset = free_range->offset;
                memmove(candidate->free + i, candidate->free + i + 1, sizeof(range) * (size_t)(candidate->free_count - i - 1));
                candidate->free_count--;
                if (before) insert_free(candidate, range_offset, before);
                if (after) insert_free(candidate, start + size, after);
                *owner = candidate;
                *offset = start;
                return 0;
            }
        }
        if (attempt == 0 && !new_block(context, size > BLOCK_BYTES ? size : BLOCK_BYTES)) break;
    }
    return -1;
}

sw_vk_buffer *sw_vk_buffer_create(sw_vk_context *context, uint64_t bytes) {
    uint64_t size = bytes ? (bytes + 15) / 16 * 16 : 16;  // kernels may read whole vec4s
    pthread_mutex_lock(&context->lock);
    sw_vk_buffer *created = calloc(1, sizeof *created);
    VkBufferCreateInfo create = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = size, .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
                                 .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT};
    if (!created || vkCreateBuffer(context->device, &create, NULL, &created->buffer) != VK_SUCCESS) {
        fail(context, "could not create a Vulkan buffer of %llu bytes", (unsigned long long)size);
        free(created);
        pthread_mutex_unlock(&context->lock);
        return NULL;
    }
    VkMemoryRequirements needs;
    vkGetBufferMemoryRequirements(context->device, created->buffer, &needs);
    created->reserved = (needs.size + context->alignment - 1) / context->alignment * context->alignment;
    if (reserve(context, created->reserved, &created->owner, &created->offset) != 0 ||
        vkBindBufferMemory(context->device, created->buffer, created->owner->memory, created->offset) != VK_SUCCESS) {
        fail(context, "out of GPU memory: %llu MB more were needed (%llu MB in use)", (unsigned long long)(size >> 20),
             (unsigned long long)(context->in_use >> 20));
        if (created->owner) insert_free(created->owner, created->offset, created->reserved);
        vkDestroyBuffer(context->device, created->buffer, NULL);
        free(created);
        pthread_mutex_unlock(&context->lock);
        return NULL;
    }
    created->size = bytes;
    context->in_use += created->reserved;
    if (context->in_use > context->peak) context->peak = context->in_use;
    pthread_mutex_unlock(&context->lock);
    return created;
}

uint64_t sw_vk_buffer_size(const sw_vk_buffer *buffer) { return buffer->size; }

// The buffer's memory goes back to its block at once, also while recorded work that uses it has
// not run: every dispatch is followed by a full barrier and every host transfer first submits and
// waits, so work recorded later (which may reuse the range) runs after everything that read it.
// The VkBuffer object itself must outlive those commands, so it is destroyed after the submit.
static void return_range(sw_vk_context *context, sw_vk_buffer *buffer) {
    insert_free(buffer->owner, buffer->offset, buffer->reserved);
    context->in_use -= buffer->reserved;
}

static void destroy_object(sw_vk_context *context, sw_vk_buffer *buffer) {
    vkDestroyBuffer(context->device, buffer->buffer, NULL);
    free(buffer);
}

void sw_vk_buffer_release(sw_vk_context *context, sw_vk_buffer *buffer) {
    if (!buffer) return;
    pthread_mutex_lock(&context->lock);
    return_range(context, buffer);
    if (!context->recording) {
        destroy_object(context, buffer);
    } else {
        if (context->release_count == context->release_capacity) {
            int capacity = context->release_capacity ? context->release_capacity * 2 : 64;
            sw_vk_buffer **grown = realloc(context->releases, sizeof(*grown) * (size_t)capacity);
            if (grown) { context->releases = grown; context->release_capacity = capacity; }
        }
        if (context->release_count < context->release_capacity) context->releases[context->release_count++] = buffer;
        // (out of host memory: the VkBuffer object stays until the context closes; never destroyed early)
    }
    pthread_mutex_unlock(&context->lock);
}

void sw_vk_memory_use(sw_vk_context *context, uint64_t *in_use, uint64_t *peak) {
    pthread_mutex_lock(&context->lock);
    *in_use = context->in_use;
    *peak = context->peak;
    pthread_mutex_unlock(&context->lock);
}

void sw_vk_reset_peak(sw_vk_context *context) {
    pthread_mutex_lock(&context->lock);
    context->peak = context->in_use;
    pthread_mutex_unlock(&context->lock);
}

// MARK: Batches

static int begin_batch(sw_vk_context *context) {
    if (context->recording) return 0;
    VkCommandBufferBeginInfo begin = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO, .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    if (vkBeginCommandBuffer(context->batch, &begin) != VK_SUCCESS) { fail(context, "could not begin a Vulkan command buffer"); return -1; }
    context->recording = 1;
    return 0;
}

// Submits what is recorded, waits, then frees what was released meanwhile. Under the lock.
static int submit(sw_vk_context *context) {
    if (!context->recording) return 0;
    context->recording = 0;
    VkResult result = vkEndCommandBuffer(context->batch);
    VkSubmitInfo info = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &context->batch};
    if (result == VK_SUCCESS) result = vkQueueSubmit(context->queue, 1, &info, context->fence);
    if (result == VK_SUCCESS) result = vkWaitForFences(context->device, 1, &context->fence, VK_TRUE, UINT64_MAX);
    vkResetFences(context->device, 1, &context->fence);
    vkResetCommandBuffer(context->batch, 0);
    vkResetDescriptorPool(context->device, context->descriptors, 0);
    context->sets_used = 0;
    for (int i = 0; i < context->release_count; i++) destroy_object(context, context->releases[i]);
    context->release_count = 0;
    if (result != VK_SUCCESS) {
        fail(context, result == VK_ERROR_DEVICE_LOST ? "the GPU was lost (VK_ERROR_DEVICE_LOST): a driver reset or a fault; run again, or use --device cpu"
                                                     : "a Vulkan submission failed (%d)", (int)result);
        return -1;
    }
    return 0;
}

int sw_vk_flush(sw_vk_context *context) {
    pthread_mutex_lock(&context->lock);
    int status = submit(context);
    pthread_mutex_unlock(&context->lock);
    return status;
}

int sw_vk_dispatch(sw_vk_context *context, sw_vk_kernel *kernel, sw_vk_buffer *const *buffers, const void *push,
                   uint32_t groups_x, uint32_t groups_y, uint32_t groups_z) {
    pthread_mutex_lock(&context->lock);
    int status = -1;
    if (context->sets_used == SETS_PER_BATCH && submit(context) != 0) goto done;
    if (begin_batch(context) != 0) goto done;
    VkDescriptorSet set;
    VkDescriptorSetAllocateInfo allocate = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO, .descriptorPool = context->descriptors,
                                            .descriptorSetCount = 1, .pSetLayouts = &kernel->set_layout};
    if (vkAllocateDescriptorSets(context->device, &allocate, &set) != VK_SUCCESS) { fail(context, "could not allocate a Vulkan descriptor set"); goto done; }
    context->sets_used++;
    VkDescriptorBufferInfo infos[MAX_BINDINGS];
    VkWriteDescriptorSet writes[MAX_BINDINGS];
    for (uint32_t i = 0; i < kernel->buffers; i++) {
        infos[i] = (VkDescriptorBufferInfo){buffers[i]->buffer, 0, VK_WHOLE_SIZE};
        writes[i] = (VkWriteDescriptorSet){.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = set, .dstBinding = i, .descriptorCount = 1,
                                           .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .pBufferInfo = &infos[i]};
    }
    vkUpdateDescriptorSets(context->device, kernel->buffers, writes, 0, NULL);
    vkCmdBindPipeline(context->batch, VK_PIPELINE_BIND_POINT_COMPUTE, kernel->pipeline);
    vkCmdBindDescriptorSets(context->batch, VK_PIPELINE_BIND_POINT_COMPUTE, kernel->layout, 0, 1, &set, 0, NULL);
    if (kernel->push_bytes) vkCmdPushConstants(context->batch, kernel->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, kernel->push_bytes, push);
    vkCmdDispatch(context->batch, groups_x, groups_y, groups_z);
    // Every later dispatch sees this one's writes (and transfers too).
    VkMemoryBarrier barrier = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER, .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
                               .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT};
    vkCmdPipelineBarrier(context->batch, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                         0, 1, &barrier, 0, NULL, 0, NULL);
    status = 0;
done:
    pthread_mutex_unlock(&context->lock);
    return status;
}

// MARK: Host transfers

static int ensure_staging(sw_vk_context *context, uint64_t bytes) {
    if (context->staging_size >= bytes) return 0;
    if (context->staging) {
        vkDestroyBuffer(context->device, context->staging, NULL);
        vkFreeMemory(context->device, context->staging_memory, NULL);
        context->staging = VK_NULL_HANDLE;
        context->staging_size = 0;
    }
    VkBufferCreateInfo create = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = bytes, .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
                                 .usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT};
    if (vkCreateBuffer(context->device, &create, NULL, &context->staging) != VK_SUCCESS) return -1;
    VkMemoryRequirements needs;
    vkGetBufferMemoryRequirements(context->device, context->staging, &needs);
    VkMemoryAllocateInfo allocate = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = needs.size, .memoryTypeIndex = context->staging_type};
    if (vkAllocateMemory(context->device, &allocate, NULL, &context->staging_memory) != VK_SUCCESS ||
        vkBindBufferMemory(context->device, context->staging, context->staging_memory, 0) != VK_SUCCESS ||
        vkMapMemory(context->device, context->staging_memory, 0, VK_WHOLE_SIZE, 0, &context->staging_mapped) != VK_SUCCESS) {
        vkDestroyBuffer(context->device, context->staging, NULL);
        context->staging = VK_NULL_HANDLE;
        return -1;
    }
    context->staging_size = bytes;
    return 0;
}

// One copy between the staging buffer and `buffer`, submitted and waited for. Under the lock.
static int staged_copy(sw_vk_context *context, sw_vk_buffer *buffer, uint64_t offset, uint64_t bytes, int to_device) {
    if (begin_batch(context) != 0) return -1;
    VkBufferCopy region = {.srcOffset = to_device ? 0 : offset, .dstOffset = to_device ? offset : 0, .size = bytes};
    vkCmdCopyBuffer(context->batch, to_device ? context->staging : buffer->buffer, to_device ? buffer->buffer : context->staging, 1, &region);
    VkMemoryBarrier barrier = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER, .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
                               .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_HOST_READ_BIT};
    vkCmdPipelineBarrier(context->batch, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_HOST_BIT,
                         0, 1, &barrier, 0, NULL, 0, NULL);
    return submit(context);
}

static int transfer(sw_vk_context *context, sw_vk_buffer *buffer, uint64_t offset, void *data, uint64_t bytes, int to_device) {
    if (offset + bytes > buffer->size) { fail(context, "a transfer of %llu bytes past the end of a buffer", (unsigned long long)bytes); return -1; }
    pthread_mutex_lock(&context->lock);
    int status = submit(context);  // recorded work first: it may write what is read, or read what is overwritten
    if (status == 0 && buffer->owner->mapped) {
        char *device_memory = (char *)buffer->owner->mapped + buffer->offset + offset;
        if (to_device) memcpy(device_memory, data, bytes); else memcpy(data, device_memory, bytes);
    } else if (status == 0) {
        // Through the staging buffer, in pieces of at most 64 MB.
        const uint64_t piece = (uint64_t)64 << 20;
        for (uint64_t done = 0; status == 0 && done < bytes; done += piece) {
            uint64_t size = bytes - done < piece ? bytes - done : piece;
            if (ensure_staging(context, size) != 0) { fail(context, "no host-visible memory for a transfer"); status = -1; break; }
            if (to_device) memcpy(context->staging_mapped, (char *)data + done, size);
            status = staged_copy(context, buffer, offset + done, size, to_device);
            if (status == 0 && !to_device) memcpy((char *)data + done, context->staging_mapped, size);
        }
    }
    pthread_mutex_unlock(&context->lock);
    return status;
}

int sw_vk_write(sw_vk_context *context, sw_vk_buffer *buffer, uint64_t offset, const void *data, uint64_t bytes) {
    return transfer(context, buffer, offset, (void *)data, bytes, 1);
}

int sw_vk_read(sw_vk_context *context, sw_vk_buffer *buffer, uint64_t offset, void *data, uint64_t bytes) {
    return transfer(context, buffer, offset, data, bytes, 0);
}

// MARK: Kernels

sw_vk_kernel *sw_vk_kernel_create(sw_vk_context *context, const uint32_t *spirv, size_t bytes, uint32_t buffers, uint32_t push_bytes,
                                  char *error, size_t error_size) {
    if (buffers > MAX_BINDINGS) { say(error, error_size, "a kernel with %u buffers (at most %d)", buffers, MAX_BINDINGS); return NULL; }
    sw_vk_kernel *kernel = calloc(1, sizeof *kernel);
    if (!kernel) return NULL;
    kernel->buffers = buffers;
    kernel->push_bytes = push_bytes;
    VkShaderModuleCreateInfo module = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO, .codeSize = bytes, .pCode = spirv};
    VkDescriptorSetLayoutBinding bindings[MAX_BINDINGS];
    for (uint32_t i = 0; i < buffers; i++)
        bindings[i] = (VkDescriptorSetLayoutBinding){.binding = i, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = 1,
                                                     .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT};
    VkDescriptorSetLayoutCreateInfo set = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO, .bindingCount = buffers, .pBindings = bindings};
    VkPushConstantRange push = {VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes};
    VkPipelineLayoutCreateInfo layout = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO, .setLayoutCount = 1,
                                         .pPushConstantRanges = &push, .pushConstantRangeCount = push_bytes ? 1 : 0};
    VkResult result = vkCreateShaderModule(context->device, &module, NULL, &kernel->module);
    if (result == VK_SUCCESS) result = vkCreateDescriptorSetLayout(context->device, &set, NULL, &kernel->set_layout);
    layout.pSetLayouts = &kernel->set_layout;
    if (result == VK_SUCCESS) result = vkCreatePipelineLayout(context->device, &layout, NULL, &kernel->layout);
    if (result == VK_SUCCESS) {
        VkComputePipelineCreateInfo pipeline = {
            .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO, .layout = kernel->layout,
            .stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_COMPUTE_BIT, .module = kernel->module, .pName = "main"}};
        result = vkCreateComputePipelines(context->device, VK_NULL_HANDLE, 1, &pipeline, NULL, &kernel->pipeline);
    }
    if (result != VK_SUCCESS) {
        say(error, error_size, "could not build a Vulkan compute pipeline (%d)", (int)result);
        sw_vk_kernel_destroy(context, kernel);
        return NULL;
    }
    return kernel;
}

void sw_vk_kernel_destroy(sw_vk_context *context, sw_vk_kernel *kernel) {
    if (!kernel) return;
    if (kernel->pipeline) vkDestroyPipeline(context->device, kernel->pipeline, NULL);
    if (kernel->layout) vkDestroyPipelineLayout(context->device, kernel->layout, NULL);
    if (kernel->set_layout) vkDestroyDescriptorSetLayout(context->device, kernel->set_layout, NULL);
    if (kernel->module) vkDestroyShaderModule(context->device, kernel->module, NULL);
    free(kernel);
}

// MARK: Contexts

sw_vk_context *sw_vk_open(int index, int flags, char *error, size_t error_size) {
    if (sw_vk_initialize(error, error_size) != 0) return NULL;
    if (index < 0 || index >= (int)device_count) { say(error, error_size, "there is no Vulkan device %d (%u found)", index, device_count); return NULL; }
    VkPhysicalDevice physical = devices[index];
    uint32_t families = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(physical, &families, NULL);
    VkQueueFamilyProperties *properties = calloc(families ? families : 1, sizeof *properties);
    if (!properties) return NULL;
    vkGetPhysicalDeviceQueueFamilyProperties(physical, &families, properties);
    int family = -1;
    for (uint32_t i = 0; i < families && family < 0; i++) if (properties[i].queueFlags & VK_QUEUE_COMPUTE_BIT) family = (int)i;
    free(properties);
    if (family < 0) { say(error, error_size, "Vulkan device %d has no compute queue", index); return NULL; }

    sw_vk_context *context = calloc(1, sizeof *context);
    if (!context) return NULL;
    pthread_mutex_init(&context->lock, NULL);
    float priority = 1;
    VkDeviceQueueCreateInfo queue = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO, .queueFamilyIndex = (uint32_t)family, .queueCount = 1,
                                     .pQueuePriorities = &priority};
    VkDeviceCreateInfo create = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .queueCreateInfoCount = 1, .pQueueCreateInfos = &queue};
    VkResult result = vkCreateDevice(physical, &create, NULL, &context->device);
    if (result != VK_SUCCESS) { say(error, error_size, "could not open Vulkan device %d (%d)", index, (int)result); free(context); return NULL; }
    vkGetDeviceQueue(context->device, (uint32_t)family, 0, &context->queue);

    // Device-local memory; mapped directly where it is also host-visible and coherent.
    VkBufferCreateInfo probe_info = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = 256, .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
                                     .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT};
    VkBuffer probe;
    if (vkCreateBuffer(context->device, &probe_info, NULL, &probe) != VK_SUCCESS) { say(error, error_size, "could not create a Vulkan buffer"); goto failed; }
    VkMemoryRequirements needs;
    vkGetBufferMemoryRequirements(context->device, probe, &needs);
    vkDestroyBuffer(context->device, probe, NULL);
    const VkMemoryPropertyFlags host = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    int unified = find_memory_type(physical, needs.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | host);
    int local = find_memory_type(physical, needs.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
    int staging = find_memory_type(physical, 0xFFFFFFFFu, host);
    sw_vk_device_info info;
    sw_vk_describe_device(index, &info);
    // A discrete GPU's small host-visible window (256 MB BAR) is no place for a model: staging there.
    int use_unified = unified >= 0 && (info.kind != VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU || local < 0) && !(flags & 1);
    if ((!use_unified && local < 0) || (!use_unified && staging < 0)) { say(error, error_size, "Vulkan device %d has no usable memory type", index); goto failed; }
    context->memory_type = (uint32_t)(use_unified ? unified : local);
    context->mappable = use_unified;
    context->staging_type = (uint32_t)(staging >= 0 ? staging : 0);
    VkPhysicalDeviceProperties properties_1;
    vkGetPhysicalDeviceProperties(physical, &properties_1);
    context->alignment = needs.alignment > properties_1.limits.minStorageBufferOffsetAlignment ? needs.alignment : properties_1.limits.minStorageBufferOffsetAlignment;
    if (context->alignment < 256) context->alignment = 256;

    VkCommandPoolCreateInfo pool = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO, .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                    .queueFamilyIndex = (uint32_t)family};
    VkDescriptorPoolSize sizes = {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, SETS_PER_BATCH * MAX_BINDINGS};
    VkDescriptorPoolCreateInfo descriptors = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO, .maxSets = SETS_PER_BATCH, .poolSizeCount = 1,
                                              .pPoolSizes = &sizes};
    VkFenceCreateInfo fence = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    if (vkCreateCommandPool(context->device, &pool, NULL, &context->pool) != VK_SUCCESS ||
        vkCreateDescriptorPool(context->device, &descriptors, NULL, &context->descriptors) != VK_SUCCESS ||
        vkCreateFence(context->device, &fence, NULL, &context->fence) != VK_SUCCESS) {
        say(error, error_size, "could not set up Vulkan device %d", index);
        goto failed;
    }
    VkCommandBufferAllocateInfo command = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, .commandPool = context->pool,
                                           .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 1};
    if (vkAllocateCommandBuffers(context->device, &command, &context->batch) != VK_SUCCESS) { say(error, error_size, "could not allocate a command buffer"); goto failed; }
    return context;
failed:
    sw_vk_close(context);
    return NULL;
}

void sw_vk_close(sw_vk_context *context) {
    if (!context) return;
    if (context->device && vkDeviceWaitIdle) {
        pthread_mutex_lock(&context->lock);
        submit(context);
        pthread_mutex_unlock(&context->lock);
        vkDeviceWaitIdle(context->device);
        for (block *current = context->blocks, *next; current; current = next) {
            next = current->next;
            vkFreeMemory(context->device, current->memory, NULL);
            free(current->free);
            free(current);
        }
        if (context->staging) { vkDestroyBuffer(context->device, context->staging, NULL); vkFreeMemory(context->device, context->staging_memory, NULL); }
        if (context->fence) vkDestroyFence(context->device, context->fence, NULL);
        if (context->descriptors) vkDestroyDescriptorPool(context->device, context->descriptors, NULL);
        if (context->pool) vkDestroyCommandPool(context->device, context->pool, NULL);
        vkDestroyDevice(context->device, NULL);
    }
    free(context->releases);
    pthread_mutex_destroy(&context->lock);
    free(context);
}

const char *sw_vk_last_error(sw_vk_context *context) { return context->error; }
