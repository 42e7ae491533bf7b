/* Injected disk faults, for machines where `make proof` cannot mount a small tmpfs (not root),
 * and for the tests of what happens when LMDB cannot write its meta pages.
 *
 * Preloaded (LD_PRELOAD). While the file named by CRMD_FAULT_FLAG exists, a write that would
 * grow a regular file under CRMD_FAULT_DIR fails with ENOSPC, as on a full ext4 or tmpfs: blocks
 * a file already has can still be overwritten (LMDB reuses its free pages and rewrites its meta
 * pages in place). Sockets, pipes and files elsewhere are untouched. Removing the flag is space
 * coming back.
 *
 * With CRMD_FAULT_META=1 it is the other way round: only writes into the first two pages of a
 * data.mdb under CRMD_FAULT_DIR (LMDB's meta pages) fail, with EIO. That is what a full
 * copy-on-write file system (btrfs, ZFS: even an overwrite needs space) or a failing disk can do
 * after the data pages of a commit went out, and it leaves LMDB's environment in MDB_PANIC until
 * it is reopened. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

/* Whether writing `count` bytes at `offset` (-1: the file position) must fail for lack of space. */
static int full(int fd, off_t offset, size_t count) {
    const char *flag = getenv("CRMD_FAULT_FLAG"), *dir = getenv("CRMD_FAULT_DIR");
    if (!flag || !dir || access(flag, F_OK) != 0) return 0;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return 0;
    if (offset < 0) offset = lseek(fd, 0, SEEK_CUR);
    const char *meta = getenv("CRMD_FAULT_META");
    int metaOnly = meta && strcmp(meta, "1") == 0;
    if (metaOnly) {
        if (offset < 0 || offset >= 2 * sysconf(_SC_PAGESIZE)) return 0;
    } else if (offset >= 0 && offset + (off_t)count <= st.st_size) {
        return 0;
    }
    char link[64], path[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n <= 0) return 0;
    path[n] = 0;
    size_t length = strlen(dir);
    if (strncmp(path, dir, length) != 0 || (path[length] != '/' && path[length] != 0)) return 0;
    if (metaOnly) {
        size_t total = strlen(path);
        if (total < 9 || strcmp(path + total - 9, "/data.mdb") != 0) return 0;
        errno = EIO;
        return 1;
    }
    errno = ENOSPC;
    return 1;
}

static size_t total(const struct iovec *iov, int count) {
    size_t sum = 0;
    for (int i = 0; i < count; i++) sum += iov[i].iov_len;
    return sum;
}

#define NEXT(name) static __typeof__(name) *next; if (!next) next = dlsym(RTLD_NEXT, #name)

ssize_t write(int fd, const void *buf, size_t count) { NEXT(write); return full(fd, -1, count) ? -1 : next(fd, buf, count); }
ssize_t pwrite(int fd, const void *buf, size_t count, off_t offset) { NEXT(pwrite); return full(fd, offset, count) ? -1 : next(fd, buf, count, offset); }
ssize_t pwrite64(int fd, const void *buf, size_t count, off_t offset) { NEXT(pwrite64); return full(fd, offset, count) ? -1 : next(fd, buf, count, offset); }
ssize_t writev(int fd, const struct iovec *iov, int count) { NEXT(writev); return full(fd, -1, total(iov, count)) ? -1 : next(fd, iov, count); }
ssize_t pwritev(int fd, const struct iovec *iov, int count, off_t offset) { NEXT(pwritev); return full(fd, offset, total(iov, count)) ? -1 : next(fd, iov, count, offset); }
