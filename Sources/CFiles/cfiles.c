#define _GNU_SOURCE
#include "cfiles.h"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int sw_copy_range(int in, off_t offset, int out, size_t length) {
    loff_t position = offset;
    while (length > 0) {
        ssize_t copied = copy_file_range(in, &position, out, NULL, length, 0);
        if (copied < 0) {
            if (errno == EINTR) continue;
            if (errno != ENOSYS && errno != EXDEV && errno != EINVAL && errno != EOPNOTSUPP) return errno;
            break;  // not supported here: copy through a buffer below
        }
        if (copied == 0) return EIO;  // the source ended early
        length -= (size_t)copied;
    }
    char buffer[1 << 16];
    while (length > 0) {
        ssize_t got = pread(in, buffer, length < sizeof buffer ? length : sizeof buffer, position);
        if (got < 0) { if (errno == EINTR) continue; return errno; }
        if (got == 0) return EIO;
        for (ssize_t done = 0; done < got;) {
            ssize_t put = write(out, buffer + done, (size_t)(got - done));
            if (put < 0) { if (errno == EINTR) continue; return errno; }
            done += put;
        }
        position += got;
        length -= (size_t)got;
    }
    return 0;
}

int sw_start_writeback(int fd) { return sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE) == 0 ? 0 : errno; }

#include <sys/vfs.h>
long sw_filesystem_type(const char* path) {
    struct statfs info;
    return statfs(path, &info) == 0 ? (long)info.f_type : -1;
}
