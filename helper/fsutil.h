/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Safe filesystem primitives of the helper: everything that turns a node
 * or one name into a system call goes through here.
 *
 * Contract:
 *  - Names are single components that the protocol decoder validated.
 *    Lookups never follow a symlink (O_NOFOLLOW, and openat2 with
 *    RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS when the
 *    kernel has it).
 *  - Operations on a node use its O_PATH descriptor (AT_EMPTY_PATH, or the
 *    /proc/self/fd magic link when the syscall has no fd form), so they
 *    also work on files that are open but already unlinked.
 *  - hx_reopen() is the only way to get an I/O descriptor: it refuses
 *    anything but a regular file or a directory (ENXIO, CVE-2023-2861) and
 *    checks the opened object again with fstat.
 *  - All functions return 0 / a count, or a negative errno.
 */
#ifndef X9P_HELPER_FSUTIL_H
#define X9P_HELPER_FSUTIL_H

#include <fcntl.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>

#include "nodes.h"
#include "proxy.h"

/* flags: O_* for openat (O_NOFOLLOW and O_CLOEXEC are added). */
int hx_openat(int dirfd, const char *name, int flags, mode_t mode);

/* statx of an O_PATH descriptor (name NULL) or of dirfd/name, never following. */
int hx_stat(int dirfd, const char *name, struct statx *stx);
static inline dev_t hx_stx_dev(const struct statx *s)
{
	return makedev(s->stx_dev_major, s->stx_dev_minor);
}

/* Host attributes of a statx result (before any security model mapping). */
void hx_attr_from_statx(const struct statx *s, struct x9p_px_attr *a);

/*
 * 0 while directory node n is still inside the export (a host rename can
 * move it out), -ESTALE otherwise.  Non-directories always pass.
 */
int hx_beneath(struct hx_node *n);

/*
 * The node's directory and name, if they still lead to this very inode
 * (false when unknown or changed on the host; then nothing is returned).
 */
bool hx_node_locate(struct hx_node *n, struct hx_node **dir, char **name);

/* An I/O descriptor for node n: O_* flags, regular files and directories only. */
int hx_reopen(struct hx_node *n, int flags);
/* An O_PATH descriptor of what fd is open on, through /proc; -errno
 * (-EOPNOTSUPP without /proc). */
int hx_reopen_path(int fd);

int hx_fchmod_path(int fd, mode_t type, mode_t mode);
int hx_fchown_path(int fd, uid_t uid, gid_t gid);
int hx_futimens_path(int fd, const struct timespec ts[2]);

/* Extended attributes of the object an O_PATH descriptor refers to. */
ssize_t hx_fgetxattr_path(int fd, mode_t type, const char *name, void *buf, size_t size);
ssize_t hx_flistxattr_path(int fd, mode_t type, char *buf, size_t size);
int hx_fsetxattr_path(int fd, mode_t type, const char *name, const void *val,
		      size_t size, int flags);
int hx_fremovexattr_path(int fd, mode_t type, const char *name);
/* Same for dirfd/entry without following a symlink entry. */
ssize_t hx_getxattr_at(int dirfd, const char *entry, const char *name, void *buf,
		       size_t size);

int hx_setxattr_at(int dirfd, const char *entry, const char *name, const void *val,
		   size_t size, int flags);

/* Reads at most cap bytes of a regular file at dirfd/name (never blocks). */
ssize_t hx_read_small(int dirfd, const char *name, char *buf, size_t cap);

#endif
