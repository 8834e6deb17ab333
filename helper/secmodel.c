/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Security-model metadata: mapped-xattr and mapped-file (see secmodel.h). */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <glib.h>

#include "fsutil.h"
#include "helper.h"
#include "secmodel.h"

#define META_FILE_MAX 4096

/* Read-modify-write of metadata files must not interleave. */
static GMutex mf_lock;

static const char *const xattr_key[4] = {
	"user.virtfs.uid", "user.virtfs.gid", "user.virtfs.mode", "user.virtfs.rdev",
};

bool hx_reserved_name(const char *name)
{
	return hx.model == X9P_SM_MAPPED_FILE &&
	       (strcmp(name, HX_META_DIR) == 0 || strcmp(name, HX_META_ROOT) == 0);
}

static bool valid_type(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: case S_IFDIR: case S_IFLNK: case S_IFCHR:
	case S_IFBLK: case S_IFIFO: case S_IFSOCK:
		return true;
	default:
		return false;
	}
}

static void apply(struct x9p_px_attr *a, const struct hx_meta *m)
{
	if (m->have & HX_M_UID)
		a->uid = m->uid;
	if (m->have & HX_M_GID)
		a->gid = m->gid;
	if (m->have & HX_M_MODE)
		a->mode = (valid_type(m->mode) ? (m->mode & S_IFMT) : (a->mode & S_IFMT)) |
			  (m->mode & 07777);
	if (m->have & HX_M_RDEV)
		a->rdev = m->rdev;
}

/* ---- mapped-xattr ---- */

static uint64_t le(const uint8_t *b, int n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | b[n];
	return v;
}

/* One value by descriptor, else by dirfd/entry; length or -errno. */
static ssize_t xget(int fd, mode_t type, int dirfd, const char *entry, const char *key,
		    uint8_t *b, size_t size)
{
	ssize_t r = -EOPNOTSUPP;

	if (fd >= 0)
		r = hx_fgetxattr_path(fd, type, key, b, size);
	if (r == -EOPNOTSUPP && dirfd >= 0 && entry)
		r = hx_getxattr_at(dirfd, entry, key, b, size);
	return r;
}

static void xattr_load(int fd, mode_t type, int dirfd, const char *entry, struct hx_meta *m)
{
	uint8_t b[8];
	int i;

	for (i = 0; i < 4; i++) {
		size_t want = i == 3 ? 8 : 4;

		/* Only a value of exactly the documented size counts. */
		if (xget(fd, type, dirfd, entry, xattr_key[i], b, sizeof(b)) != (ssize_t)want)
			continue;
		switch (i) {
		case 0: m->uid = (uint32_t)le(b, 4); m->have |= HX_M_UID; break;
		case 1: m->gid = (uint32_t)le(b, 4); m->have |= HX_M_GID; break;
		case 2: m->mode = (uint32_t)le(b, 4); m->have |= HX_M_MODE; break;
		case 3: m->rdev = le(b, 8); m->have |= HX_M_RDEV; break;
		}
	}
}

static int xattr_store(int fd, mode_t type, int dirfd, const char *entry,
		       const struct hx_meta *m)
{
	static const unsigned bit[4] = { HX_M_UID, HX_M_GID, HX_M_MODE, HX_M_RDEV };
	int i, e;

	for (i = 0; i < 4; i++) {
		uint64_t v = i == 0 ? m->uid : i == 1 ? m->gid : i == 2 ? m->mode : m->rdev;
		size_t n = i == 3 ? 8 : 4;
		uint8_t b[8];
		size_t k;

		if (!(m->have & bit[i]))
			continue;
		for (k = 0; k < n; k++)
			b[k] = (uint8_t)(v >> (8 * k));
		e = -EOPNOTSUPP;
		if (fd >= 0)
			e = hx_fsetxattr_path(fd, type, xattr_key[i], b, n, 0);
		if (e == -EOPNOTSUPP && dirfd >= 0 && entry)
			e = hx_setxattr_at(dirfd, entry, xattr_key[i], b, n, 0);
		if (e)
			return e;
	}
	return 0;
}

/* ---- mapped-file ---- */

static bool parse_field(const char *line, const char *key, long long lo, unsigned long long hi,
			unsigned long long *v)
{
	size_t kl = strlen(key);
	char *end;

	if (strncmp(line, key, kl) != 0 || line[kl] != '=')
		return false;
	errno = 0;
	if (line[kl + 1] == '-') {
		long long s = strtoll(line + kl + 1, &end, 10);

		if (errno || s < lo)
			return false;
		*v = (unsigned long long)s;
	} else {
		*v = strtoull(line + kl + 1, &end, 10);
		if (errno || *v > hi)
			return false;
	}
	return end != line + kl + 1 && (*end == '\n' || *end == 0);
}

static void parse_meta(char *text, struct hx_meta *m)
{
	char *line, *save = NULL;

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long v;

		/* QEMU writes signed ints; -1 means "not set" there. */
		if (parse_field(line, "virtfs.uid", INT_MIN, UINT32_MAX, &v) && v != (unsigned long long)-1) {
			m->uid = (uint32_t)v;
			m->have |= HX_M_UID;
		} else if (parse_field(line, "virtfs.gid", INT_MIN, UINT32_MAX, &v) &&
			   v != (unsigned long long)-1) {
			m->gid = (uint32_t)v;
			m->have |= HX_M_GID;
		} else if (parse_field(line, "virtfs.mode", INT_MIN, UINT32_MAX, &v) &&
			   v != (unsigned long long)-1) {
			m->mode = (uint32_t)v;
			m->have |= HX_M_MODE;
		} else if (parse_field(line, "virtfs.rdev", INT_MIN, UINT64_MAX, &v) &&
			   v != (unsigned long long)-1) {
			m->rdev = v;
			m->have |= HX_M_RDEV;
		}
	}
}

static void file_load(int dirfd, const char *fname, struct hx_meta *m)
{
	char buf[META_FILE_MAX + 1];
	ssize_t n = hx_read_small(dirfd, fname, buf, META_FILE_MAX);

	if (n <= 0)
		return;
	buf[n] = 0;
	parse_meta(buf, m);
}

static int write_all(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t w = write(fd, s, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		s += w;
		len -= (size_t)w;
	}
	return 0;
}

static int file_write(int dirfd, const char *fname, const struct hx_meta *m)
{
	GString *s = g_string_new(NULL);
	struct stat st;
	int fd, e;

	/* The same text QEMU writes, so that either can read the other's. */
	if (m->have & HX_M_UID)
		g_string_append_printf(s, "virtfs.uid=%d\n", (int)m->uid);
	if (m->have & HX_M_GID)
		g_string_append_printf(s, "virtfs.gid=%d\n", (int)m->gid);
	if (m->have & HX_M_MODE)
		g_string_append_printf(s, "virtfs.mode=%d\n", (int)m->mode);
	if (m->have & HX_M_RDEV) {
		if (m->rdev <= INT_MAX)
			g_string_append_printf(s, "virtfs.rdev=%d\n", (int)m->rdev);
		else
			g_string_append_printf(s, "virtfs.rdev=%" PRIu64 "\n", m->rdev);
	}
	fd = hx_openat(dirfd, fname, O_WRONLY | O_CREAT | O_NONBLOCK | O_NOCTTY, 0600);
	if (fd < 0) {
		e = fd;
		goto out;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		e = -EINVAL;
		goto out_close;
	}
	if (ftruncate(fd, 0) < 0 || fchmod(fd, 0600) < 0) {
		e = -errno;
		goto out_close;
	}
	e = write_all(fd, s->str, s->len);
out_close:
	close(fd);
out:
	g_string_free(s, TRUE);
	return e;
}

/* The metadata directory of dirfd; created when create is set. */
static int meta_dir(int dirfd, bool create)
{
	if (create && mkdirat(dirfd, HX_META_DIR, 0700) < 0 && errno != EEXIST)
		return -errno;
	return hx_openat(dirfd, HX_META_DIR, O_PATH | O_DIRECTORY, 0);
}

static int file_store(int dirfd, const char *name, const struct hx_meta *m)
{
	struct hx_meta merged = { 0 };
	const char *fname = name ? name : HX_META_ROOT;
	int tdir, e;

	g_mutex_lock(&mf_lock);
	tdir = name ? meta_dir(dirfd, true) : dirfd;
	if (tdir < 0) {
		e = tdir;
		goto out;
	}
	file_load(tdir, fname, &merged);
	merged.have |= m->have;
	if (m->have & HX_M_UID)
		merged.uid = m->uid;
	if (m->have & HX_M_GID)
		merged.gid = m->gid;
	if (m->have & HX_M_MODE)
		merged.mode = m->mode;
	if (m->have & HX_M_RDEV)
		merged.rdev = m->rdev;
	e = file_write(tdir, fname, &merged);
	if (name)
		close(tdir);
out:
	g_mutex_unlock(&mf_lock);
	return e;
}

/* ---- per object ---- */

void hx_meta_load_node(struct hx_node *n, struct hx_meta *m)
{
	struct hx_node *dir = NULL;
	char *name = NULL;
	int mfd;

	m->have = 0;
	switch (hx.model) {
	case X9P_SM_MAPPED_XATTR:
		if (n->is_root || !hx_node_locate(n, &dir, &name))
			xattr_load(n->fd, n->type, -1, NULL, m);
		else
			xattr_load(n->fd, n->type, dir->fd, name, m);
		break;
	case X9P_SM_MAPPED_FILE:
		if (n->is_root) {
			file_load(hx.root_fd, HX_META_ROOT, m);
		} else if (hx_node_locate(n, &dir, &name)) {
			mfd = meta_dir(dir->fd, false);
			if (mfd >= 0) {
				file_load(mfd, name, m);
				close(mfd);
			}
		}
		break;
	default:
		break;
	}
	if (dir)
		hx_node_put(dir);
	g_free(name);
}

void hx_node_attr_stx(struct hx_node *n, const struct statx *stx, const struct hx_meta *known,
		      struct x9p_px_attr *a)
{
	struct hx_meta m;

	hx_attr_from_statx(stx, a);
	if (hx_mapped()) {
		if (known)
			m = *known;
		else
			hx_meta_load_node(n, &m);
		apply(a, &m);
	}
}

int hx_node_attr(struct hx_node *n, struct x9p_px_attr *a)
{
	struct statx stx;
	int e = hx_stat(n->fd, NULL, &stx);

	if (e == 0)
		hx_node_attr_stx(n, &stx, NULL, a);
	return e;
}

int hx_entry_attr(int dirfd, const char *name, int metafd, struct x9p_px_attr *a)
{
	struct statx stx;
	struct hx_meta m = { 0 };
	int e = hx_stat(dirfd, name, &stx);

	if (e)
		return e;
	hx_attr_from_statx(&stx, a);
	if (hx.model == X9P_SM_MAPPED_XATTR)
		xattr_load(-1, stx.stx_mode & S_IFMT, dirfd, name, &m);
	else if (hx.model == X9P_SM_MAPPED_FILE && metafd >= 0)
		file_load(metafd, name, &m);
	apply(a, &m);
	return 0;
}

mode_t hx_entry_type(int dirfd, const char *name, mode_t host_type)
{
	uint8_t b[8];
	uint32_t mode;

	/* Only regular files stand in for other types (as QEMU stores them). */
	if (!hx_mapped() || host_type != S_IFREG)
		return host_type;
	if (hx.model != X9P_SM_MAPPED_XATTR)
		return 0;
	if (xget(-1, S_IFREG, dirfd, name, xattr_key[2], b, sizeof(b)) != 4)
		return host_type;
	mode = (uint32_t)le(b, 4);
	return valid_type(mode) ? (mode & S_IFMT) : host_type;
}

int hx_meta_store(int dirfd, const char *name, int fd, mode_t type, const struct hx_meta *m)
{
	switch (hx.model) {
	case X9P_SM_MAPPED_XATTR:
		return xattr_store(fd, type, dirfd, name, m);
	case X9P_SM_MAPPED_FILE:
		return file_store(name ? dirfd : hx.root_fd, name, m);
	default:
		return 0;
	}
}

int hx_meta_store_node(struct hx_node *n, const struct hx_meta *m)
{
	struct hx_node *dir = NULL;
	char *name = NULL;
	int e;

	if (!hx_mapped())
		return 0;
	if (n->is_root)
		return hx_meta_store(hx.root_fd, NULL, n->fd, n->type, m);
	if (!hx_node_locate(n, &dir, &name)) {
		/* mapped-xattr needs no name: the metadata lives on the inode. */
		if (hx.model == X9P_SM_MAPPED_XATTR)
			return xattr_store(n->fd, n->type, -1, NULL, m);
		return -ESTALE;
	}
	e = hx_meta_store(dir->fd, name, n->fd, n->type, m);
	hx_node_put(dir);
	g_free(name);
	return e;
}

/* ---- mapped-file namespace bookkeeping ---- */

/*
 * A directory about to be removed may hold only its metadata directory;
 * that one (with metadata of children long gone) is removed first, as
 * rmdir would fail on it.
 */
int hx_mf_before_rmdir(int parentfd, const char *name)
{
	struct dirent *de;
	int dfd, mfd, e = 0;
	DIR *d;

	if (hx.model != X9P_SM_MAPPED_FILE)
		return 0;
	dfd = hx_openat(parentfd, name, O_RDONLY | O_DIRECTORY, 0);
	if (dfd < 0)
		return dfd == -ENOTDIR ? -ENOTDIR : dfd;
	d = fdopendir(dfd);
	if (!d) {
		e = -errno;
		close(dfd);
		return e;
	}
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    strcmp(de->d_name, HX_META_DIR)) {
			closedir(d);
			return -ENOTEMPTY;
		}
	}
	g_mutex_lock(&mf_lock);
	mfd = hx_openat(dirfd(d), HX_META_DIR, O_RDONLY | O_DIRECTORY, 0);
	if (mfd >= 0) {
		DIR *md = fdopendir(mfd);

		if (md) {
			while ((de = readdir(md))) {
				if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
					unlinkat(dirfd(md), de->d_name, 0);
			}
			closedir(md);
		} else {
			close(mfd);
		}
		if (unlinkat(dirfd(d), HX_META_DIR, AT_REMOVEDIR) < 0 && errno != ENOENT)
			e = -errno;
	}
	g_mutex_unlock(&mf_lock);
	closedir(d);
	return e;
}

void hx_mf_after_unlink(int dirfd, const char *name)
{
	int mfd;

	if (hx.model != X9P_SM_MAPPED_FILE)
		return;
	mfd = meta_dir(dirfd, false);
	if (mfd < 0)
		return;
	unlinkat(mfd, name, 0);
	close(mfd);
}

int hx_mf_after_rename(int odirfd, const char *oname, int ndirfd, const char *nname)
{
	int omfd, nmfd, e = 0;

	if (hx.model != X9P_SM_MAPPED_FILE)
		return 0;
	g_mutex_lock(&mf_lock);
	nmfd = meta_dir(ndirfd, true);
	if (nmfd < 0) {
		e = nmfd;
		goto out;
	}
	omfd = meta_dir(odirfd, false);
	if (omfd >= 0 && renameat(omfd, oname, nmfd, nname) == 0)
		goto done;
	if (omfd >= 0 && errno != ENOENT) {
		e = -errno;
		goto done;
	}
	/* No metadata moved along: whatever the new name had is stale now. */
	if (unlinkat(nmfd, nname, 0) < 0 && errno != ENOENT)
		e = -errno;
done:
	if (omfd >= 0)
		close(omfd);
	close(nmfd);
out:
	g_mutex_unlock(&mf_lock);
	return e;
}

int hx_mf_after_link(int odirfd, const char *oname, int ndirfd, const char *nname)
{
	int omfd, nmfd, e = 0;

	if (hx.model != X9P_SM_MAPPED_FILE)
		return 0;
	g_mutex_lock(&mf_lock);
	omfd = meta_dir(odirfd, false);
	if (omfd < 0)
		goto out;           /* nothing stored for the original */
	nmfd = meta_dir(ndirfd, true);
	if (nmfd < 0) {
		e = nmfd;
	} else {
		unlinkat(nmfd, nname, 0);  /* stale metadata of an earlier object */
		if (linkat(omfd, oname, nmfd, nname, 0) < 0 && errno != ENOENT)
			e = -errno;
		close(nmfd);
	}
	close(omfd);
out:
	g_mutex_unlock(&mf_lock);
	return e;
}
