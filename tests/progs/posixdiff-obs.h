/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * posixdiff-obs.h: the observation log of posixdiff (included once, by posixdiff.c).
 *
 * Contract.  A case runs in a child process, once per side, with the side's fresh case
 * directory as its working directory.  It must perform the same sequence of recording calls
 * on both sides, whatever the results (operate on fd -1 rather than skip a step), so the two
 * logs align record by record.  It never learns which side it runs on.
 *
 * Every record lives in one shared anonymous mapping (obs_log) so that the case process and
 * any processes it forks append to the same log; only one of them runs at a time by
 * construction (the others wait on a pipe or waitpid).
 *
 * Record layout: kind US label US value US detail LF, with US = 0x1f.  Kinds:
 *   '='  observation: label and value must equal the other side's;
 *   '!'  consistency check inside one side: value is "ok" or "FAILED"; detail (side-specific
 *        numbers such as inode numbers or timestamps) is shown, never compared;
 *   'S'  the case skipped itself (value: reason); honoured on the reference side only;
 *   'X'  the case process died or could not start (value: why); always a failure.
 * Labels, values and details are escaped (obs_escape_x) so they never contain US or LF.
 */
#ifndef POSIXDIFF_OBS_H
#define POSIXDIFF_OBS_H

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#define OBS_SEP '\x1f'
#define OBS_LOG_CAP (8u << 20)

struct obs_log {
	size_t len;
	int overflow;
	char data[];
};

static struct obs_log *obs_log;

static struct obs_log *obs_log_new(void)
{
	void *p = mmap(NULL, OBS_LOG_CAP, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	return p;
}

static void obs_log_reset(struct obs_log *l)
{
	l->len = 0;
	l->overflow = 0;
}

static size_t obs_log_room(const struct obs_log *l)
{
	return OBS_LOG_CAP - sizeof(*l) - l->len;
}

/* Printable ASCII stays; everything else becomes \xNN, and backslash becomes \\\\ unless
 * keep_bs (for text that is already escaped). */
static size_t obs_escape_x(char *dst, size_t cap, const void *src, size_t n, int keep_bs)
{
	const unsigned char *s = src;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		if (c >= 0x20 && c < 0x7f && (c != '\\' || keep_bs)) {
			if (o + 1 >= cap)
				break;
			dst[o++] = (char)c;
		} else if (c == '\\') {
			if (o + 2 >= cap)
				break;
			dst[o++] = '\\';
			dst[o++] = '\\';
		} else {
			if (o + 4 >= cap)
				break;
			o += (size_t)snprintf(dst + o, cap - o, "\\x%02x", c);
		}
	}
	if (cap)
		dst[o < cap ? o : cap - 1] = '\0';
	return o;
}

static size_t obs_escape(char *dst, size_t cap, const void *src, size_t n)
{
	return obs_escape_x(dst, cap, src, n, 0);
}

static void obs_emit(char kind, const char *label, const char *value, const char *detail)
{
	char el[512], ev[4096], ed[1024];
	/* Only separators and other bytes that would break a log line or a terminal get escaped
	 * here: values escape raw data themselves. */
	obs_escape_x(el, sizeof(el), label, strlen(label), 1);
	obs_escape_x(ev, sizeof(ev), value, strlen(value), 1);
	obs_escape_x(ed, sizeof(ed), detail ? detail : "", detail ? strlen(detail) : 0, 1);
	size_t need = 1 + 1 + strlen(el) + 1 + strlen(ev) + 1 + strlen(ed) + 1;
	if (obs_log->overflow || need > obs_log_room(obs_log)) {
		obs_log->overflow = 1;
		return;
	}
	char *p = obs_log->data + obs_log->len;
	int n = snprintf(p, need + 1, "%c%c%s%c%s%c%s\n", kind, OBS_SEP, el, OBS_SEP, ev, OBS_SEP, ed);
	obs_log->len += (size_t)n;
}

static const char *errname(int e)
{
	static char buf[32];
	const char *n = strerrorname_np(e);
	if (n)
		return n;
	snprintf(buf, sizeof(buf), "errno%d", e);
	return buf;
}

/* ---- recording API for cases ------------------------------------------------------------ */

static void __attribute__((format(printf, 2, 3))) see(const char *label, const char *fmt, ...)
{
	char v[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v, sizeof(v), fmt, ap);
	va_end(ap);
	obs_emit('=', label, v, NULL);
}

/* A side-internal check: both sides must pass it; the detail is never compared. */
static int __attribute__((format(printf, 3, 4))) check(const char *label, int ok, const char *fmt, ...)
{
	char d[1024] = "";
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(d, sizeof(d), fmt, ap);
		va_end(ap);
	}
	obs_emit('!', label, ok ? "ok" : "FAILED", d);
	return ok;
}

static void __attribute__((noreturn)) skip_case(const char *reason)
{
	obs_emit('S', "skip", reason, NULL);
	_exit(0);
}

static void see_ret(const char *label, long r, int e)
{
	if (r < 0)
		see(label, "%ld %s", r, errname(e));
	else
		see(label, "%ld", r);
}

/* File descriptors are recorded as "fd" so descriptor numbers never matter. */
static void see_fdret(const char *label, long r, int e)
{
	if (r < 0)
		see(label, "%ld %s", r, errname(e));
	else
		see(label, "fd");
}

/* Run a call, record its result (and errno name on failure), yield the result.  errno is
 * preserved for the caller. */
#define DO(label, expr) ({ errno = 0; long do_r_ = (long)(expr); int do_e_ = errno; \
	see_ret((label), do_r_, do_e_); errno = do_e_; do_r_; })
#define DOFD(label, expr) ({ errno = 0; int do_fd_ = (int)(expr); int do_e_ = errno; \
	see_fdret((label), do_fd_, do_e_); errno = do_e_; do_fd_; })

static void cl(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* ---- formatting of filesystem state ------------------------------------------------------ */

static const char *ftype(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFREG: return "reg";
	case S_IFDIR: return "dir";
	case S_IFLNK: return "lnk";
	case S_IFIFO: return "fifo";
	case S_IFSOCK: return "sock";
	case S_IFCHR: return "chr";
	case S_IFBLK: return "blk";
	}
	return "?";
}

/* Compared stat fields: type, permission bits, owner; link count and size for non-directories
 * (a directory's size and link count depend on the filesystem, see the dir_nlink case);
 * device numbers for device nodes.  Never inode numbers, blocks or times. */
static void fmt_stat(char *b, size_t n, const struct stat *st)
{
	int o = snprintf(b, n, "%s %04o u%u g%u", ftype(st->st_mode), (unsigned)(st->st_mode & 07777),
			 (unsigned)st->st_uid, (unsigned)st->st_gid);
	if (!S_ISDIR(st->st_mode) && o >= 0 && (size_t)o < n)
		o += snprintf(b + o, n - (size_t)o, " n%lu sz%lld", (unsigned long)st->st_nlink,
			      (long long)st->st_size);
	if ((S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) && o >= 0 && (size_t)o < n)
		snprintf(b + o, n - (size_t)o, " dev%u:%u", major(st->st_rdev), minor(st->st_rdev));
}

static void see_statres(const char *label, int r, int e, const struct stat *st)
{
	char b[160];
	if (r < 0) {
		see(label, "-1 %s", errname(e));
		return;
	}
	fmt_stat(b, sizeof(b), st);
	see(label, "%s", b);
}

static int see_stat(const char *label, const char *path, struct stat *out)
{
	struct stat st;
	errno = 0;
	int r = stat(path, &st);
	see_statres(label, r, errno, &st);
	if (out)
		*out = r == 0 ? st : (struct stat){0};
	return r;
}

static int see_lstat(const char *label, const char *path, struct stat *out)
{
	struct stat st;
	errno = 0;
	int r = lstat(path, &st);
	see_statres(label, r, errno, &st);
	if (out)
		*out = r == 0 ? st : (struct stat){0};
	return r;
}

static int see_fstat(const char *label, int fd, struct stat *out)
{
	struct stat st;
	errno = 0;
	int r = fstat(fd, &st);
	see_statres(label, r, errno, &st);
	if (out)
		*out = r == 0 ? st : (struct stat){0};
	return r;
}

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;
	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}
#define FNV_INIT 0xcbf29ce484222325ull

/* Contents from offset 0 to EOF: short contents verbatim, long ones as size and hash. */
static void see_fd_data(const char *label, int fd)
{
	unsigned char buf[65536];
	unsigned char head[64];
	uint64_t h = FNV_INIT;
	off_t off = 0;
	for (;;) {
		errno = 0;
		ssize_t r = pread(fd, buf, sizeof(buf), off);
		if (r < 0) {
			see(label, "read at %lld: %s", (long long)off, errname(errno));
			return;
		}
		if (r == 0)
			break;
		if (off < (off_t)sizeof(head))
			memcpy(head + off, buf, (size_t)(off + r > (off_t)sizeof(head) ? (off_t)sizeof(head) - off : r));
		h = fnv1a(h, buf, (size_t)r);
		off += r;
	}
	if (off <= (off_t)sizeof(head)) {
		char e[300];
		obs_escape(e, sizeof(e), head, (size_t)off);
		see(label, "\"%s\"", e);
	} else {
		see(label, "%lld bytes fnv %016llx", (long long)off, (unsigned long long)h);
	}
}

static void see_file(const char *label, const char *path)
{
	errno = 0;
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		see(label, "open: %s", errname(errno));
		return;
	}
	see_fd_data(label, fd);
	close(fd);
}

static void see_pread(const char *label, int fd, size_t len, off_t off)
{
	char buf[256], e[1100];
	if (len > sizeof(buf))
		len = sizeof(buf);
	errno = 0;
	ssize_t r = pread(fd, buf, len, off);
	if (r < 0) {
		see(label, "-1 %s", errname(errno));
		return;
	}
	obs_escape(e, sizeof(e), buf, (size_t)r);
	see(label, "%zd \"%s\"", r, e);
}

/* Checks that [off, off+len) reads back as zeros (a hole); records where it did not. */
static void see_zeros(const char *label, int fd, off_t off, size_t len)
{
	static unsigned char buf[1 << 20];
	size_t done = 0;
	while (done < len) {
		size_t want = len - done < sizeof(buf) ? len - done : sizeof(buf);
		errno = 0;
		ssize_t r = pread(fd, buf, want, off + (off_t)done);
		if (r < 0) {
			see(label, "read at +%zu: %s", done, errname(errno));
			return;
		}
		if (r == 0) {
			see(label, "EOF at +%zu", done);
			return;
		}
		for (ssize_t i = 0; i < r; i++)
			if (buf[i]) {
				see(label, "nonzero byte 0x%02x at +%zu", buf[i], done + (size_t)i);
				return;
			}
		done += (size_t)r;
	}
	see(label, "%zu zero bytes", len);
}

struct name_list {
	char **v;
	unsigned char *type;
	size_t n, cap;
};

static void names_add(struct name_list *l, const char *name, unsigned char type)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		l->type = realloc(l->type, l->cap);
		if (!l->v || !l->type)
			abort();
	}
	l->v[l->n] = strdup(name);
	if (!l->v[l->n])
		abort();
	l->type[l->n++] = type;
}

static void names_free(struct name_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	free(l->type);
	*l = (struct name_list){0};
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads a whole directory (without "." and ".."); returns -1 with errno on failure. */
static int read_names(const char *path, struct name_list *out)
{
	DIR *d = opendir(path);
	if (!d)
		return -1;
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		names_add(out, de->d_name, de->d_type);
	}
	int e = errno;
	closedir(d);
	errno = e;
	return e ? -1 : 0;
}

static const char *type_suffix(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFREG: return "";
	case S_IFDIR: return "/";
	case S_IFLNK: return "@";
	case S_IFIFO: return "|";
	case S_IFSOCK: return "=";
	case S_IFCHR: return "%c";
	case S_IFBLK: return "%b";
	}
	return "%?";
}

static unsigned char dtype_of(mode_t m)
{
	return (unsigned char)IFTODT(m);
}

/* Sorted listing.  With types, each name carries an ls -F style suffix taken from lstat (not
 * d_type: DT_UNKNOWN is a valid answer, see the readdir_dtype case).  Long listings are recorded
 * as count and hash. */
static void see_listing(const char *label, const char *path, int types)
{
	struct name_list l = {0};
	errno = 0;
	if (read_names(path, &l) < 0) {
		see(label, "-1 %s", errname(errno));
		names_free(&l);
		return;
	}
	int dfd = types ? open(path, O_RDONLY | O_DIRECTORY) : -1;
	char **keyed = malloc((l.n ? l.n : 1) * sizeof(*keyed));
	if (!keyed)
		abort();
	for (size_t i = 0; i < l.n; i++) {
		size_t len = strlen(l.v[i]) + 8;
		struct stat st;
		const char *suf = "";
		if (types)
			suf = fstatat(dfd, l.v[i], &st, AT_SYMLINK_NOFOLLOW) == 0 ? type_suffix(st.st_mode) : "%!";
		keyed[i] = malloc(len);
		if (!keyed[i])
			abort();
		snprintf(keyed[i], len, "%s%s", l.v[i], suf);
	}
	if (dfd >= 0)
		close(dfd);
	qsort(keyed, l.n, sizeof(*keyed), cmp_str);
	size_t cap = 2048, o = 0;
	char *s = malloc(cap);
	if (!s)
		abort();
	s[0] = '\0';
	uint64_t h = FNV_INIT;
	for (size_t i = 0; i < l.n; i++) {
		h = fnv1a(h, keyed[i], strlen(keyed[i]) + 1);
		if (o + strlen(keyed[i]) + 2 < cap)
			o += (size_t)snprintf(s + o, cap - o, "%s%s", i ? " " : "", keyed[i]);
		else
			o = cap; /* too long to show */
		free(keyed[i]);
	}
	if (o >= cap)
		see(label, "%zu entries fnv %016llx", l.n, (unsigned long long)h);
	else
		see(label, "[%s]", s);
	free(s);
	free(keyed);
	names_free(&l);
}

static void see_dir(const char *label, const char *path)
{
	see_listing(label, path, 1);
}

/* Creates (or truncates) a file holding data; records one observation. */
static void mkfile(const char *label, const char *path, const char *data, mode_t mode)
{
	errno = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0) {
		see(label, "open: %s", errname(errno));
		return;
	}
	size_t n = strlen(data);
	ssize_t w = write(fd, data, n);
	int e = errno;
	if (close(fd) < 0 && w == (ssize_t)n) {
		see(label, "close: %s", errname(errno));
		return;
	}
	if (w != (ssize_t)n)
		see(label, "write: %zd %s", w, w < 0 ? errname(e) : "short");
	else
		see(label, "ok");
}

/* Wait for a forked helper process; records how it ended. */
static void see_wait(const char *label, pid_t pid)
{
	int st = 0;
	if (pid < 0) {
		see(label, "fork failed");
		return;
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st))
		see(label, "exit %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		see(label, "signal %d", WTERMSIG(st));
	else
		see(label, "status %#x", st);
}

/* ---- timestamps: only ever checked for consistency inside one side ----------------------- */

#define OLD_SEC 1000000000 /* 2001-09-09: a time every later operation must move past */

static int ts_after(struct timespec a, struct timespec b)
{
	return a.tv_sec > b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec > b.tv_nsec);
}

/* Sets atime and mtime of path to OLD_SEC; records the result. */
static void set_old_times(const char *label, const char *path)
{
	struct timespec t[2] = {{OLD_SEC, 0}, {OLD_SEC, 0}};
	DO(label, utimensat(AT_FDCWD, path, t, AT_SYMLINK_NOFOLLOW));
}

/* Checks that the mtime of path (or of fd when path is NULL) moved past OLD_SEC.  (ctime cannot
 * be set, so there is nothing deterministic to compare it with.) */
static void check_mtime_moved(const char *label, const char *path, int fd)
{
	struct stat st;
	int r = path ? lstat(path, &st) : fstat(fd, &st);
	if (r < 0) {
		check(label, 0, "stat: %s", errname(errno));
		return;
	}
	check(label, ts_after(st.st_mtim, (struct timespec){OLD_SEC, 0}), "mtime %lld.%09ld, want after %d",
	      (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, OLD_SEC);
}

#endif
