// Linux file calls glibc declares only under _GNU_SOURCE, which Swift's Glibc module does not set.
#ifndef STOCKWERK_CFILES_H
#define STOCKWERK_CFILES_H
#include <stddef.h>
#include <sys/types.h>

/// Copies `length` bytes from `in` at `offset` to the end of `out`, in the kernel
/// (copy_file_range), falling back to read/write where the filesystem cannot. 0 on success,
/// else an errno value.
int sw_copy_range(int in, off_t offset, int out, size_t length);
/// Starts writing `fd`'s dirty pages to disk without waiting (sync_file_range), so a later
/// fsync of a batch finds most of the work done. 0 on success, else an errno value.
int sw_start_writeback(int fd);
/// The file system's type (statfs f_type, e.g. 0x4d44 for FAT) holding `path`, or -1.
long sw_filesystem_type(const char* path);
#endif
