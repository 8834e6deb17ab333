/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * stress: randomized data-integrity stress for one directory.
 *
 *   stress DIR [--seed N] [--steps N] [--seconds N] [--files N] [--max-size BYTES] [--verbose]
 *
 * Works in a fresh subdirectory DIR/stress.PID over a few file names f0..fN-1.  Each step is
 * one random operation (write at a random offset, some past EOF; write with O_APPEND;
 * truncate/ftruncate; read; rename, also over an existing name; hard link; unlink and later
 * re-create; open/close of a long-lived descriptor, so unlinked files stay in use; fsync),
 * applied to the files and to an in-memory model.  After EVERY step everything is checked
 * against the model: the directory listing, and for every name its size, link count and full
 * content, and for every open but unlinked file its size and content through its descriptor.
 *
 * --seconds N stops after the step that ends N seconds in (or at --steps, whichever comes
 * first).  The slowest step (the operation and its verification) is printed at the end, so a
 * server that stalls shows even when everything checks out.
 *
 * The seed is printed first; the same seed replays the same sequence.  On a mismatch it prints
 * the step, the operation and the first differing offset, keeps the directory and exits 1.
 * Exit 0 when all steps passed, 2 on usage errors.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_FILES 16
#define MAX_OBJS (MAX_FILES * 4)

/* One file (inode) of the model: its bytes, and the long-lived descriptor if open. */
struct obj {
	int used;
	unsigned char *data;
	size_t size, cap;
	int fd;
};

static struct obj objs[MAX_OBJS];
static int slot_obj[MAX_FILES]; /* name fI -> object index, or -1 */
static unsigned nfiles = 4;
static size_t max_size = 128 * 1024;
static int verbose;
static unsigned long step;
static char op[256]; /* description of the current step, for failure reports */
static char workdir[PATH_MAX];
static unsigned char *rbuf;

static uint64_t rng;

static uint64_t next(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static size_t below(size_t n)
{
	return n ? (size_t)(next() % n) : 0;
}

static void __attribute__((noreturn, format(printf, 1, 2))) fail(const char *fmt, ...)
{
	va_list ap;
	printf("stress: FAIL at step %lu (%s): ", step, op);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\nstress: directory kept: %s\n", workdir);
	fflush(stdout);
	exit(1);
}

static void name_of(char *buf, size_t n, unsigned slot)
{
	snprintf(buf, n, "f%u", slot);
}

static unsigned links_of(int o)
{
	unsigned n = 0;
	for (unsigned s = 0; s < nfiles; s++)
		n += slot_obj[s] == o;
	return n;
}

static void obj_resize(struct obj *ob, size_t size)
{
	if (size > ob->cap) {
		size_t cap = ob->cap ? ob->cap : 4096;
		while (cap < size)
			cap *= 2;
		ob->data = realloc(ob->data, cap);
		if (!ob->data) {
			perror("stress: realloc");
			exit(2);
		}
		ob->cap = cap;
	}
	if (size > ob->size)
		memset(ob->data + ob->size, 0, size - ob->size);
	ob->size = size;
}

static int obj_new(void)
{
	for (int i = 0; i < MAX_OBJS; i++)
		if (!objs[i].used) {
			objs[i] = (struct obj){.used = 1, .fd = -1};
			return i;
		}
	fprintf(stderr, "stress: model full\n");
	exit(2);
}

/* Drops an object nobody can reach any more (no name, no descriptor). */
static void obj_maybe_drop(int o)
{
	if (o < 0 || !objs[o].used || objs[o].fd >= 0 || links_of(o))
		return;
	free(objs[o].data);
	objs[o] = (struct obj){0};
}

/* Bytes that are never zero, so data can never be mistaken for a hole. */
static void fill(unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(next() % 255 + 1);
}

/* ---- verification ------------------------------------------------------------------------ */

static void verify_content(const char *what, int fd, const struct obj *ob)
{
	size_t off = 0;
	for (;;) {
		ssize_t r = pread(fd, rbuf, max_size + 1, (off_t)off);
		if (r < 0)
			fail("%s: read at %zu: %s", what, off, strerror(errno));
		if (r == 0)
			break;
		size_t n = (size_t)r;
		if (off + n > ob->size)
			fail("%s: data beyond the model's size %zu (read %zu bytes at %zu)", what, ob->size, n, off);
		for (size_t i = 0; i < n; i++)
			if (rbuf[i] != ob->data[off + i])
				fail("%s: first differing offset %zu: model 0x%02x, file 0x%02x (size %zu)", what, off + i,
				     ob->data[off + i], rbuf[i], ob->size);
		off += n;
	}
	if (off != ob->size)
		fail("%s: short content: read %zu bytes, model size %zu", what, off, ob->size);
}

static void verify_all(void)
{
	char name[32];
	struct stat st;
	for (unsigned s = 0; s < nfiles; s++) {
		name_of(name, sizeof(name), s);
		int o = slot_obj[s];
		if (o < 0) {
			if (lstat(name, &st) == 0 || errno != ENOENT)
				fail("%s: should not exist (lstat: %s)", name, errno ? strerror(errno) : "exists");
			continue;
		}
		const struct obj *ob = &objs[o];
		if (stat(name, &st) < 0)
			fail("%s: stat: %s", name, strerror(errno));
		if ((size_t)st.st_size != ob->size)
			fail("%s: size: model %zu, file %lld", name, ob->size, (long long)st.st_size);
		if (st.st_nlink != links_of(o))
			fail("%s: link count: model %u, file %lu", name, links_of(o), (unsigned long)st.st_nlink);
		int fd = open(name, O_RDONLY);
		if (fd < 0)
			fail("%s: open: %s", name, strerror(errno));
		verify_content(name, fd, ob);
		close(fd);
	}
	for (int o = 0; o < MAX_OBJS; o++) {
		const struct obj *ob = &objs[o];
		if (!ob->used || ob->fd < 0)
			continue;
		if (fstat(ob->fd, &st) < 0)
			fail("object %d: fstat: %s", o, strerror(errno));
		if ((size_t)st.st_size != ob->size)
			fail("object %d (open fd): size: model %zu, fstat %lld", o, ob->size, (long long)st.st_size);
		if (st.st_nlink != links_of(o))
			fail("object %d (open fd): link count: model %u, fstat %lu", o, links_of(o),
			     (unsigned long)st.st_nlink);
		if (!links_of(o)) /* named ones were read above */
			verify_content("unlinked open file", ob->fd, ob);
	}
	/* The listing holds exactly the names in use. */
	DIR *d = opendir(".");
	if (!d)
		fail("opendir: %s", strerror(errno));
	unsigned seen[MAX_FILES] = {0};
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		unsigned s;
		char tail;
		if (sscanf(de->d_name, "f%u%c", &s, &tail) != 1 || s >= nfiles)
			fail("listing: unexpected entry \"%s\"", de->d_name);
		name_of(name, sizeof(name), s);
		if (strcmp(name, de->d_name))
			fail("listing: unexpected entry \"%s\"", de->d_name);
		seen[s]++;
	}
	closedir(d);
	for (unsigned s = 0; s < nfiles; s++)
		if (seen[s] != (slot_obj[s] >= 0))
			fail("listing: f%u listed %u times, model says %s", s, seen[s], slot_obj[s] >= 0 ? "present" : "absent");
}

/* ---- operations -------------------------------------------------------------------------- */

static int open_slot(unsigned s, int flags)
{
	char name[32];
	name_of(name, sizeof(name), s);
	int fd = open(name, flags, 0644);
	if (fd < 0)
		fail("open %s: %s", name, strerror(errno));
	return fd;
}

static void op_write(unsigned s, int append)
{
	char name[32];
	name_of(name, sizeof(name), s);
	int o = slot_obj[s];
	if (o < 0) {
		o = obj_new();
		int fd = open_slot(s, O_CREAT | O_EXCL | O_WRONLY);
		close(fd);
		slot_obj[s] = o;
	}
	struct obj *ob = &objs[o];
	size_t off;
	if (ob->size >= max_size)
		append = 0; /* the file is as large as allowed: overwrite instead */
	if (append)
		off = ob->size;
	else if (below(10) < 3)
		off = ob->size + below(max_size / 4 + 1); /* past EOF: leaves a hole */
	else
		off = below(ob->size + 1);
	if (off >= max_size)
		off = below(max_size);
	size_t len = 1 + below(16384);
	if (off + len > max_size)
		len = max_size - off;
	unsigned char *buf = malloc(len);
	if (!buf)
		exit(2);
	fill(buf, len);
	int own = ob->fd < 0 || append || below(4) == 0;
	int fd = own ? open_slot(s, O_WRONLY | (append ? O_APPEND : 0)) : ob->fd;
	snprintf(op, sizeof(op), "%s %s: %zu bytes at %zu (size %zu)%s", append ? "append" : "write", name, len, off,
		 ob->size, own ? "" : " via long-lived fd");
	ssize_t w;
	if (append) {
		w = write(fd, buf, len);
	} else if (below(2)) {
		w = pwrite(fd, buf, len, (off_t)off);
	} else {
		w = lseek(fd, (off_t)off, SEEK_SET) == (off_t)off ? write(fd, buf, len) : -1;
	}
	if (w != (ssize_t)len)
		fail("write returned %zd (%s)", w, w < 0 ? strerror(errno) : "short");
	if (off + len > ob->size)
		obj_resize(ob, off + len);
	memcpy(ob->data + off, buf, len);
	if (own && close(fd) < 0)
		fail("close: %s", strerror(errno));
	free(buf);
}

static void op_truncate(unsigned s)
{
	char name[32];
	name_of(name, sizeof(name), s);
	int o = slot_obj[s];
	if (o < 0) {
		snprintf(op, sizeof(op), "truncate missing %s", name);
		if (truncate(name, 0) == 0 || errno != ENOENT)
			fail("truncate of a missing file: %s", errno ? strerror(errno) : "succeeded");
		return;
	}
	struct obj *ob = &objs[o];
	size_t to = below(3) ? below(ob->size + 1) : below(max_size + 1);
	int viafd = ob->fd >= 0 && below(2);
	snprintf(op, sizeof(op), "%s %s to %zu (size %zu)", viafd ? "ftruncate" : "truncate", name, to, ob->size);
	if ((viafd ? ftruncate(ob->fd, (off_t)to) : truncate(name, (off_t)to)) < 0)
		fail("%s", strerror(errno));
	obj_resize(ob, to);
}

static void op_read(unsigned s)
{
	char name[32];
	name_of(name, sizeof(name), s);
	int o = slot_obj[s];
	if (o < 0) {
		snprintf(op, sizeof(op), "read missing %s", name);
		int fd = open(name, O_RDONLY);
		if (fd >= 0 || errno != ENOENT)
			fail("open of a missing file: %s", fd >= 0 ? "succeeded" : strerror(errno));
		return;
	}
	const struct obj *ob = &objs[o];
	size_t off = below(ob->size + 100), len = 1 + below(32768);
	snprintf(op, sizeof(op), "read %s: %zu bytes at %zu (size %zu)", name, len, off, ob->size);
	int fd = ob->fd >= 0 && below(2) ? dup(ob->fd) : open_slot(s, O_RDONLY);
	if (fd < 0)
		fail("dup: %s", strerror(errno));
	ssize_t r = pread(fd, rbuf, len, (off_t)off);
	close(fd);
	size_t want = off >= ob->size ? 0 : (ob->size - off < len ? ob->size - off : len);
	if (r != (ssize_t)want)
		fail("pread returned %zd, model says %zu", r, want);
	for (size_t i = 0; i < want; i++)
		if (rbuf[i] != ob->data[off + i])
			fail("first differing offset %zu: model 0x%02x, file 0x%02x", off + i, ob->data[off + i], rbuf[i]);
}

static void op_rename(unsigned a, unsigned b)
{
	char na[32], nb[32];
	name_of(na, sizeof(na), a);
	name_of(nb, sizeof(nb), b);
	snprintf(op, sizeof(op), "rename %s -> %s%s", na, nb, slot_obj[b] >= 0 ? " (replaces)" : "");
	int r = rename(na, nb);
	if (slot_obj[a] < 0) {
		if (r == 0 || errno != ENOENT)
			fail("rename of a missing file: %s", r == 0 ? "succeeded" : strerror(errno));
		return;
	}
	if (r < 0)
		fail("%s", strerror(errno));
	if (slot_obj[a] == slot_obj[b]) /* same inode: POSIX says do nothing */
		return;
	int old = slot_obj[b];
	slot_obj[b] = slot_obj[a];
	slot_obj[a] = -1;
	obj_maybe_drop(old);
}

static void op_link(unsigned a, unsigned b)
{
	char na[32], nb[32];
	name_of(na, sizeof(na), a);
	name_of(nb, sizeof(nb), b);
	snprintf(op, sizeof(op), "link %s -> %s", na, nb);
	int r = link(na, nb);
	if (slot_obj[a] < 0 || slot_obj[b] >= 0) {
		int want = slot_obj[a] < 0 ? ENOENT : EEXIST;
		if (r == 0 || errno != want)
			fail("expected %s, got %s", strerror(want), r == 0 ? "success" : strerror(errno));
		return;
	}
	if (r < 0)
		fail("%s", strerror(errno));
	slot_obj[b] = slot_obj[a];
}

static void op_unlink(unsigned s)
{
	char name[32];
	name_of(name, sizeof(name), s);
	int o = slot_obj[s];
	snprintf(op, sizeof(op), "unlink %s%s", name, o >= 0 && objs[o].fd >= 0 ? " (still open)" : "");
	int r = unlink(name);
	if (o < 0) {
		if (r == 0 || errno != ENOENT)
			fail("unlink of a missing file: %s", r == 0 ? "succeeded" : strerror(errno));
		return;
	}
	if (r < 0)
		fail("%s", strerror(errno));
	slot_obj[s] = -1;
	obj_maybe_drop(o);
}

/* Opens a long-lived descriptor on a named file, or closes one (possibly of an unlinked file). */
static void op_openclose(unsigned s)
{
	char name[32];
	name_of(name, sizeof(name), s);
	/* Sometimes close an unlinked open file instead, always when several have piled up. */
	int orphans = 0;
	for (int o = 0; o < MAX_OBJS; o++)
		orphans += objs[o].used && objs[o].fd >= 0 && !links_of(o);
	for (int o = 0; o < MAX_OBJS; o++)
		if (objs[o].used && objs[o].fd >= 0 && !links_of(o) && (orphans > 4 || below(2))) {
			snprintf(op, sizeof(op), "close unlinked object %d", o);
			if (close(objs[o].fd) < 0)
				fail("%s", strerror(errno));
			objs[o].fd = -1;
			obj_maybe_drop(o);
			return;
		}
	int o = slot_obj[s];
	if (o < 0) {
		snprintf(op, sizeof(op), "open/close: %s missing, nothing to do", name);
		return;
	}
	if (objs[o].fd >= 0) {
		snprintf(op, sizeof(op), "close long-lived fd of %s", name);
		if (close(objs[o].fd) < 0)
			fail("%s", strerror(errno));
		objs[o].fd = -1;
	} else {
		snprintf(op, sizeof(op), "open long-lived fd of %s", name);
		objs[o].fd = open_slot(s, O_RDWR);
	}
}

static void op_fsync(unsigned s)
{
	int o = slot_obj[s];
	snprintf(op, sizeof(op), "fsync f%u", s);
	if (o < 0 || objs[o].fd < 0)
		return;
	if ((below(2) ? fsync(objs[o].fd) : fdatasync(objs[o].fd)) < 0)
		fail("%s", strerror(errno));
}

static void do_step(void)
{
	unsigned a = (unsigned)below(nfiles), b = (unsigned)below(nfiles);
	unsigned r = (unsigned)below(100);
	if (r < 30)
		op_write(a, 0);
	else if (r < 37)
		op_write(a, 1);
	else if (r < 49)
		op_truncate(a);
	else if (r < 62)
		op_read(a);
	else if (r < 71)
		op_rename(a, b);
	else if (r < 75)
		op_link(a, b);
	else if (r < 84)
		op_unlink(a);
	else if (r < 96)
		op_openclose(a);
	else
		op_fsync(a);
}

/* ---- main -------------------------------------------------------------------------------- */

static void cleanup(void)
{
	char name[32];
	for (int o = 0; o < MAX_OBJS; o++)
		if (objs[o].used && objs[o].fd >= 0)
			close(objs[o].fd);
	for (unsigned s = 0; s < nfiles; s++) {
		name_of(name, sizeof(name), s);
		unlink(name);
	}
	if (chdir("..") == 0)
		rmdir(workdir);
}

static unsigned long num(const char *s, const char *what)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 0);
	if (errno || *end || end == s) {
		fprintf(stderr, "stress: bad %s: %s\n", what, s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"seed", required_argument, NULL, 's'},	 {"steps", required_argument, NULL, 'n'},
		{"files", required_argument, NULL, 'f'},    {"max-size", required_argument, NULL, 'm'},
		{"verbose", no_argument, NULL, 'v'},	 {"seconds", required_argument, NULL, 't'},
		{0},
	};
	unsigned long seed = 1, steps = 400, seconds = 0, slowest = 0, slowest_step = 0;
	struct timespec t0, t1, t2;
	int ch;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 's': seed = num(optarg, "seed"); break;
		case 'n': steps = num(optarg, "steps"); break;
		case 'f': nfiles = (unsigned)num(optarg, "files"); break;
		case 'm': max_size = num(optarg, "max-size"); break;
		case 'v': verbose = 1; break;
		case 't': seconds = num(optarg, "seconds"); break;
		default: goto usage;
		}
	}
	if (argc - optind != 1 || nfiles < 1 || nfiles > MAX_FILES || max_size < 16 || max_size > (256u << 20)) {
	usage:
		fprintf(stderr, "usage: stress DIR [--seed N] [--steps N] [--seconds N] [--files 1..%d] [--max-size BYTES] [--verbose]\n",
			MAX_FILES);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(workdir, sizeof(workdir), "%s/stress.%ld", argv[optind], (long)getpid());
	if (mkdir(workdir, 0755) < 0 || chdir(workdir) < 0) {
		fprintf(stderr, "stress: %s: %s\n", workdir, strerror(errno));
		return 2;
	}
	rbuf = malloc(max_size + 32768 + 1);
	if (!rbuf)
		return 2;
	for (unsigned s = 0; s < MAX_FILES; s++)
		slot_obj[s] = -1;
	rng = seed;
	printf("stress: seed %lu steps %lu files %u max-size %zu dir %s\n", seed, steps, nfiles, max_size, workdir);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (step = 1; step <= steps; step++) {
		unsigned long ms;

		clock_gettime(CLOCK_MONOTONIC, &t1);
		op[0] = '\0';
		do_step();
		if (verbose)
			printf("stress: step %lu: %s\n", step, op);
		verify_all();
		clock_gettime(CLOCK_MONOTONIC, &t2);
		ms = (unsigned long)((t2.tv_sec - t1.tv_sec) * 1000 + (t2.tv_nsec - t1.tv_nsec) / 1000000);
		if (ms > slowest)
			slowest = ms, slowest_step = step;
		if (seconds && (unsigned long)(t2.tv_sec - t0.tv_sec) >= seconds) {
			steps = step;
			break;
		}
	}
	cleanup();
	printf("stress: slowest step %lu ms (step %lu)\n", slowest, slowest_step);
	printf("stress: ok, %lu steps verified (seed %lu)\n", steps, seed);
	return 0;
}
