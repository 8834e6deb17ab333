/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Safe filesystem primitives of the helper (see fsutil.h). */
#include <errno.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <glib.h>

#include "fsutil.h"
#include "helper.h"

/* System calls newer than the C library headers of Debian 12. */
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
#ifndef SYS_setxattrat
#define SYS_setxattrat 463
#define SYS_getxattrat 464
#define SYS_listxattrat 465
#define SYS_removexattrat 466
#endif

struct hx_xattr_args {
	uint64_t value;
	uint32_t size;
	uint32_t flags;
};

int hx_openat(int dirfd, const char *name, int flags, mode_t mode)
{
	int fd;

	flags |= O_NOFOLLOW | O_CLOEXEC;
	if (hx.have_openat2) {
		struct open_how how = {
			.flags = (uint64_t)flags,
			/* openat2 refuses a mode that will not be used */
			.mode = ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) ? mode : 0,
			.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
		};

		fd = (int)syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
		if (fd >= 0)
			return fd;
		if (errno != ENOSYS)
			return -errno;
		hx.have_openat2 = 0;
	}
	fd = openat(dirfd, name, flags, mode);
	return fd < 0 ? -errno : fd;
}

int hx_stat(int dirfd, const char *name, struct statx *stx)
{
	int flags = AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_STATX_SYNC_AS_STAT;

	if (!name) {
		name = "";
		flags |= AT_EMPTY_PATH;
	}
	if (statx(dirfd, name, flags, STATX_BASIC_STATS | STATX_BTIME, stx) < 0)
		return -errno;
	return 0;
}

static struct timespec ts_of(struct statx_timestamp t)
{
	struct timespec r = { (time_t)t.tv_sec, (long)t.tv_nsec };
	return r;
}

void hx_attr_from_statx(const struct statx *s, struct x9p_px_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->dev = hx_stx_dev(s);
	a->ino = s->stx_ino;
	a->mode = s->stx_mode & (S_IFMT | 07777);
	a->uid = s->stx_uid;
	a->gid = s->stx_gid;
	a->nlink = s->stx_nlink;
	a->rdev = makedev(s->stx_rdev_major, s->stx_rdev_minor);
	a->size = s->stx_size;
	a->blksize = s->stx_blksize;
	a->blocks = s->stx_blocks;
	a->atime = ts_of(s->stx_atime);
	a->mtime = ts_of(s->stx_mtime);
	a->ctime = ts_of(s->stx_ctime);
	if (s->stx_mask & STATX_BTIME)
		a->btime = ts_of(s->stx_btime);
}

static bool is_root_stx(const struct statx *s)
{
	return hx_stx_dev(s) == hx.root_dev && s->stx_ino == hx.root_ino;
}

/* Climbs ".." one level at a time; finds the depth of n below the root. */
static int beneath_walk(struct hx_node *n)
{
	struct statx prev, cur;
	int fd = n->fd, next, e;
	unsigned depth;

	e = hx_stat(fd, NULL, &prev);
	if (e)
		return -ESTALE;
	for (depth = 1; depth < 4096; depth++) {
		next = openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd != n->fd)
			close(fd);
		if (next < 0)
			return -ESTALE;    /* e.g. ENOENT: disconnected from its mount */
		fd = next;
		if (hx_stat(fd, NULL, &cur)) {
			close(fd);
			return -ESTALE;
		}
		if (is_root_stx(&cur)) {
			close(fd);
			n->depth = depth;
			return 0;
		}
		if (hx_stx_dev(&cur) == hx_stx_dev(&prev) && cur.stx_ino == prev.stx_ino) {
			close(fd);        /* the top of the host tree: we are outside */
			return -ESTALE;
		}
		prev = cur;
	}
	if (fd != n->fd)
		close(fd);
	return -ESTALE;
}

int hx_beneath(struct hx_node *n)
{
	unsigned depth = n->depth;
	struct statx stx;

	if (n->is_root || !S_ISDIR(n->type))
		return 0;
	/* Fast path: one statx of "../../.." at the depth the node had. */
	if (depth != HX_DEPTH_UNKNOWN && depth > 0 && depth <= 256) {
		char path[3 * 256];
		unsigned i;

		for (i = 0; i < depth; i++)
			memcpy(path + 3 * i, "../", 3);
		path[3 * depth - 1] = 0;
		if (hx_stat(n->fd, path, &stx) == 0 && is_root_stx(&stx))
			return 0;
	}
	return beneath_walk(n);
}

bool hx_node_locate(struct hx_node *n, struct hx_node **dir, char **name)
{
	struct statx stx;

	if (!hx_node_where(n, dir, name))
		return false;
	if (hx_stat((*dir)->fd, *name, &stx) == 0 && hx_stx_dev(&stx) == n->dev &&
	    stx.stx_ino == n->ino)
		return true;
	hx_node_put(*dir);
	g_free(*name);
	*dir = NULL;
	*name = NULL;
	return false;
}

static void proc_name(char *buf, size_t len, int fd)
{
	snprintf(buf, len, "%d", fd);
}

/*
 * Path-based system calls (the xattr family before Linux 6.13) cannot take
 * the proc descriptor as a directory; inside the sandbox there is no
 * /proc path either.  Each thread that needs them gets its own working
 * directory (unshare(CLONE_FS)) set to the proc descriptor, and uses
 * "N" or "N/entry" relative to it.
 */
static __thread int proc_cwd;  /* 0 untried, 1 ready, -1 impossible */

static int proc_path(char *buf, size_t len, int fd, const char *entry)
{
	if (hx.proc_fd < 0)
		return -EOPNOTSUPP;
	if (proc_cwd == 0) {
		proc_cwd = unshare(CLONE_FS) == 0 && fchdir(hx.proc_fd) == 0 ? 1 : -1;
		if (proc_cwd < 0)
			g_warning("no per-thread directory for xattr calls: %s", g_strerror(errno));
	}
	if (proc_cwd < 0)
		return -EOPNOTSUPP;
	if (entry)
		snprintf(buf, len, "%d/%s", fd, entry);
	else
		snprintf(buf, len, "%d", fd);
	return 0;
}

static bool same_inode(int fd, const struct hx_node *n, mode_t type)
{
	struct stat st;

	return fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == type &&
	       st.st_dev == n->dev && st.st_ino == n->ino;
}

/* Opens what fd is open on through its magic link: a descriptor or -errno. */
static int proc_open(int fd, int flags)
{
	char num[16];
	int r;

	proc_name(num, sizeof(num), fd);
	r = openat(hx.proc_fd, num, flags);
	return r < 0 ? -errno : r;
}

int hx_reopen_path(int fd)
{
	return hx.proc_fd < 0 ? -EOPNOTSUPP : proc_open(fd, O_PATH | O_CLOEXEC);
}

int hx_reopen(struct hx_node *n, int flags)
{
	int fd, fl;

	flags &= ~(O_CREAT | O_EXCL | O_TMPFILE | O_PATH | O_NOFOLLOW | O_DIRECTORY);
	flags |= O_CLOEXEC | O_NOCTTY;
	if (S_ISDIR(n->type)) {
		if (flags & (O_WRONLY | O_RDWR | O_TRUNC))
			return -EISDIR;
		fd = openat(n->fd, ".", flags | O_DIRECTORY);
		if (fd < 0)
			return -errno;
		if (!same_inode(fd, n, S_IFDIR)) {
			close(fd);
			return -ESTALE;
		}
		return fd;
	}
	if (S_ISLNK(n->type))
		return -ELOOP;
	if (!S_ISREG(n->type))
		return -ENXIO;
	/*
	 * O_NONBLOCK during the open: should anything but the expected regular
	 * file answer (it cannot through the magic link, it could by name),
	 * opening a FIFO or device must not block or have side effects.
	 */
	if (hx.proc_fd >= 0) {
		fd = proc_open(n->fd, flags | O_NONBLOCK);
	} else {
		struct hx_node *dir;
		char *name;

		if (!hx_node_where(n, &dir, &name))
			return -ESTALE;
		fd = hx_beneath(dir);
		if (fd == 0)
			fd = hx_openat(dir->fd, name, flags | O_NONBLOCK, 0);
		hx_node_put(dir);
		g_free(name);
	}
	if (fd < 0)
		return fd;
	if (!same_inode(fd, n, S_IFREG)) {
		close(fd);
		return -ESTALE;
	}
	if (!(flags & O_NONBLOCK)) {
		fl = fcntl(fd, F_GETFL);
		if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
			int e = -errno;
			close(fd);
			return e;
		}
	}
	return fd;
}

int hx_fchmod_path(int fd, mode_t type, mode_t mode)
{
	if (S_ISLNK(type))
		return -EOPNOTSUPP;
	if (hx.have_fchmodat2) {
		if (syscall(SYS_fchmodat2, fd, "", mode, AT_EMPTY_PATH) == 0)
			return 0;
		if (errno != ENOSYS && errno != EINVAL)
			return -errno;
		hx.have_fchmodat2 = 0;
	}
	if (hx.proc_fd >= 0) {
		char num[16];

		proc_name(num, sizeof(num), fd);
		return fchmodat(hx.proc_fd, num, mode, 0) < 0 ? -errno : 0;
	}
	if (S_ISDIR(type)) {
		int d = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), e;

		if (d < 0)
			return -errno;
		e = fchmod(d, mode) < 0 ? -errno : 0;
		close(d);
		return e;
	}
	return -EOPNOTSUPP;
}

int hx_fchown_path(int fd, uid_t uid, gid_t gid)
{
	return fchownat(fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

int hx_futimens_path(int fd, const struct timespec ts[2])
{
	if (utimensat(fd, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (errno != EINVAL || hx.proc_fd < 0)
		return -errno;
	{
		/* Kernels before 5.8 lack AT_EMPTY_PATH here. */
		char num[16];

		proc_name(num, sizeof(num), fd);
		return utimensat(hx.proc_fd, num, ts, 0) < 0 ? -errno : 0;
	}
}

/* ---- extended attributes ---- */

enum xop { XGET, XLIST, XSET, XREMOVE };

struct xreq {
	enum xop op;
	const char *name;
	void *buf;
	size_t size;
	int flags;
};

static long xattrat(int dirfd, const char *path, unsigned at, const struct xreq *x)
{
	struct hx_xattr_args args = { (uintptr_t)x->buf, (uint32_t)x->size, 0 };

	switch (x->op) {
	case XGET:
		return syscall(SYS_getxattrat, dirfd, path, at, x->name, &args, sizeof(args));
	case XLIST:
		return syscall(SYS_listxattrat, dirfd, path, at, x->buf, x->size);
	case XSET:
		args.flags = (uint32_t)x->flags;
		return syscall(SYS_setxattrat, dirfd, path, at, x->name, &args, sizeof(args));
	case XREMOVE:
		return syscall(SYS_removexattrat, dirfd, path, at, x->name);
	}
	errno = EINVAL;
	return -1;
}

static long xattr_path(const char *path, bool follow, const struct xreq *x)
{
	switch (x->op) {
	case XGET:
		return follow ? getxattr(path, x->name, x->buf, x->size)
			      : lgetxattr(path, x->name, x->buf, x->size);
	case XLIST:
		return follow ? listxattr(path, x->buf, x->size) : llistxattr(path, x->buf, x->size);
	case XSET:
		return follow ? setxattr(path, x->name, x->buf, x->size, x->flags)
			      : lsetxattr(path, x->name, x->buf, x->size, x->flags);
	case XREMOVE:
		return follow ? removexattr(path, x->name) : lremovexattr(path, x->name);
	}
	errno = EINVAL;
	return -1;
}

static long xattr_fd(int fd, const struct xreq *x)
{
	switch (x->op) {
	case XGET:
		return fgetxattr(fd, x->name, x->buf, x->size);
	case XLIST:
		return flistxattr(fd, x->buf, x->size);
	case XSET:
		return fsetxattr(fd, x->name, x->buf, x->size, x->flags);
	case XREMOVE:
		return fremovexattr(fd, x->name);
	}
	errno = EINVAL;
	return -1;
}

/*
 * O_PATH descriptors have no xattr calls of their own; the magic link
 * /proc/self/fd/N leads to the very inode (a symlink included, it is not
 * followed a second time).
 */
static long xattr_on_path_fd(int fd, mode_t type, const struct xreq *x)
{
	long r;

	if (hx.proc_fd >= 0) {
		char buf[64];

		if (hx.have_xattrat) {
			proc_name(buf, sizeof(buf), fd);
			r = xattrat(hx.proc_fd, buf, 0, x);
			if (r >= 0 || errno != ENOSYS)
				return r < 0 ? -errno : r;
			hx.have_xattrat = 0;
		}
		r = proc_path(buf, sizeof(buf), fd, NULL);
		if (r < 0)
			return r;
		r = xattr_path(buf, true, x);
		return r < 0 ? -errno : r;
	}
	if (S_ISDIR(type)) {
		int d = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (d < 0)
			return -errno;
		r = xattr_fd(d, x);
		r = r < 0 ? -errno : r;
		close(d);
		return r;
	}
	return -EOPNOTSUPP;
}

ssize_t hx_fgetxattr_path(int fd, mode_t type, const char *name, void *buf, size_t size)
{
	struct xreq x = { XGET, name, buf, size, 0 };
	return xattr_on_path_fd(fd, type, &x);
}

ssize_t hx_flistxattr_path(int fd, mode_t type, char *buf, size_t size)
{
	struct xreq x = { XLIST, NULL, buf, size, 0 };
	return xattr_on_path_fd(fd, type, &x);
}

int hx_fsetxattr_path(int fd, mode_t type, const char *name, const void *val,
		      size_t size, int flags)
{
	struct xreq x = { XSET, name, (void *)val, size, flags };
	return (int)xattr_on_path_fd(fd, type, &x);
}

int hx_fremovexattr_path(int fd, mode_t type, const char *name)
{
	struct xreq x = { XREMOVE, name, NULL, 0, 0 };
	return (int)xattr_on_path_fd(fd, type, &x);
}

ssize_t hx_getxattr_at(int dirfd, const char *entry, const char *name, void *buf, size_t size)
{
	struct xreq x = { XGET, name, buf, size, 0 };
	struct statx stx;
	long r;
	int fd;

	if (hx.have_xattrat) {
		r = xattrat(dirfd, entry, AT_SYMLINK_NOFOLLOW, &x);
		if (r >= 0 || errno != ENOSYS)
			return r < 0 ? -errno : r;
		hx.have_xattrat = 0;
	}
	if (hx.proc_fd >= 0) {
		char path[64 + X9P_PX_NAME_MAX];

		r = proc_path(path, sizeof(path), dirfd, entry);
		if (r == 0) {
			r = xattr_path(path, false, &x);
			return r < 0 ? -errno : r;
		}
	}
	fd = hx_openat(dirfd, entry, O_PATH, 0);
	if (fd < 0)
		return fd;
	r = hx_stat(fd, NULL, &stx);
	if (r == 0)
		r = xattr_on_path_fd(fd, stx.stx_mode & S_IFMT, &x);
	close(fd);
	return r;
}

int hx_setxattr_at(int dirfd, const char *entry, const char *name, const void *val,
		   size_t size, int flags)
{
	struct xreq x = { XSET, name, (void *)val, size, flags };
	struct statx stx;
	long r;
	int fd;

	if (hx.have_xattrat) {
		r = xattrat(dirfd, entry, AT_SYMLINK_NOFOLLOW, &x);
		if (r >= 0 || errno != ENOSYS)
			return r < 0 ? -errno : 0;
		hx.have_xattrat = 0;
	}
	if (hx.proc_fd >= 0) {
		char path[64 + X9P_PX_NAME_MAX];

		if (proc_path(path, sizeof(path), dirfd, entry) == 0)
			return xattr_path(path, false, &x) < 0 ? -errno : 0;
	}
	fd = hx_openat(dirfd, entry, O_PATH, 0);
	if (fd < 0)
		return fd;
	r = hx_stat(fd, NULL, &stx);
	if (r == 0)
		r = xattr_on_path_fd(fd, stx.stx_mode & S_IFMT, &x);
	close(fd);
	return (int)r;
}

ssize_t hx_read_small(int dirfd, const char *name, char *buf, size_t cap)
{
	struct stat st;
	size_t got = 0;
	int fd = hx_openat(dirfd, name, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0);

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	while (got < cap) {
		ssize_t n = read(fd, buf + got, cap - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = -errno;
			close(fd);
			return e;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	return (ssize_t)got;
}
