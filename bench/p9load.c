// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A 9P load generator for the benchmarks (not a test): K clients, each on
 * its own connection and thread, repeat one operation for a while against
 * a server, and the total rate is printed; and the same operations done
 * locally with plain system calls, as the references a ratio needs.
 *
 *   p9load --addr unix:PATH --op OP [--clients K] [--seconds S] [--file NAME]
 *          [--aname PATH] [--msize N]
 *     OP: walk-getattr-clunk (a stat from scratch), getattr (on a held
 *         fid), read4k, read64k, read1m (reads of NAME from its start,
 *         wrapping at its end),
 *         create-remove (Tlcreate, Tclunk, Twalk, Tremove of a new file),
 *         readdir (every entry of directory NAME, in 64 KiB Treaddirs),
 *         ls-l (readdir, then walk+getattr+clunk of every entry, as a
 *         client without a cache does for `ls -l`), idle (connect,
 *         attach, then send nothing: for measuring what an idle client
 *         costs the server)
 *   p9load --local DIR --op OP ...
 *     OP: fstatat, pread4k, pread64k, pread1m (of DIR/NAME), creat-unlink (openat
 *         O_CREAT, close, unlinkat), getdents (every entry of DIR/NAME),
 *         getdents-fstatat (the same, and an fstatat of each),
 *         getdents-getxattr (the same, and an lgetxattr of each entry's
 *         "user.virtfs.mode", where a mapped-xattr export keeps the type),
 *         echo (a 64-byte round trip to another process over a
 *         socketpair: the floor of any server), splice1m (1 MiB of
 *         DIR/NAME sent by another process over a socketpair with
 *         splice, file -> pipe -> socket, as asked: the floor of any
 *         server answering a 1 MiB read on a unix socket)
 *
 * Prints one line: "OP CLIENTS ops/s".
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <glib.h>

#include "p9client.h"

static char *addr, *local, *op, *file = "file", *aname = "";
static gint serial;
static int clients = 1, seconds = 3, msize_want = (1 << 20) + 4096;
static volatile int stop;

struct job {
	pthread_t t;
	unsigned long ops;
	int err;
};

/* The offset field of the last entry of an Rreaddir payload:
 * qid[13] offset[8] type[1] name[s]. */
static uint64_t last_offset(const char *buf, uint32_t len)
{
	uint64_t last = 0;
	uint32_t o = 0;

	while (o + 24 <= len) {
		uint16_t nl;

		memcpy(&last, buf + o + 13, 8);
		memcpy(&nl, buf + o + 22, 2);
		o += 24 + nl;
	}
	return last;
}

/* Walks to, stats and clunks each entry of an Rreaddir payload, as fid 4
 * from the directory's fid 5. */
static int stat_entries(struct p9c *c, const char *buf, uint32_t len, struct p9_getattr *ga)
{
	uint32_t o = 0;
	int r = 0;

	while (!r && o + 24 <= len) {
		char name[256];
		uint16_t nl;

		memcpy(&nl, buf + o + 22, 2);
		if (o + 24 + nl > len || nl >= sizeof(name))
			return -EPROTO;
		memcpy(name, buf + o + 24, nl);
		name[nl] = 0;
		o += 24 + nl;
		if (!strcmp(name, ".") || !strcmp(name, ".."))
			continue;
		r = p9c_walk_path(c, 5, 4, name, NULL);
		if (!r)
			r = p9c_getattr(c, 4, P9_GETATTR_BASIC, ga);
		if (!r)
			r = p9c_clunk(c, 4);
	}
	return r;
}

static void *remote(void *arg)
{
	struct job *j = arg;
	int e = 0;
	struct p9c *c = p9c_connect(addr, &e);
	uint32_t msize = 0, n;
	char *buf = g_malloc(1 << 20);
	uint64_t off = 0;
	struct p9_getattr ga;

	if (!c || p9c_version(c, (uint32_t)msize_want, "9P2000.L", &msize, NULL, 0) < 0 ||
	    p9c_attach(c, 1, P9_NOFID, "root", aname, 0, NULL) < 0) {
		j->err = e ? e : EPROTO;
		goto out;
	}
	if (strcmp(op, "walk-getattr-clunk") != 0 && strcmp(op, "create-remove") != 0 &&
	    (p9c_walk_path(c, 1, 2, file, NULL) < 0 ||
	     (strncmp(op, "read", 4) == 0 && p9c_lopen(c, 2, O_RDONLY, NULL, NULL) < 0))) {
		j->err = ENOENT;
		goto out;
	}
	while (!stop) {
		int r;

		if (strcmp(op, "idle") == 0) {
			g_usleep(20000);
			continue;
		}
		if (strcmp(op, "walk-getattr-clunk") == 0) {
			r = p9c_walk_path(c, 1, 3, file, NULL);
			if (!r)
				r = p9c_getattr(c, 3, P9_GETATTR_BASIC, &ga);
			if (!r)
				r = p9c_clunk(c, 3);
		} else if (strcmp(op, "getattr") == 0) {
			r = p9c_getattr(c, 2, P9_GETATTR_BASIC, &ga);
		} else if (strcmp(op, "create-remove") == 0) {
			char name[32];

			snprintf(name, sizeof(name), "p9load-%d", g_atomic_int_add(&serial, 1));
			r = p9c_walk_path(c, 1, 3, "", NULL);
			if (!r)
				r = p9c_lcreate(c, 3, name, O_RDWR, 0644, 0, NULL, NULL);
			if (!r)
				r = p9c_clunk(c, 3);
			if (!r)
				r = p9c_walk_path(c, 1, 4, name, NULL);
			if (!r)
				r = p9c_remove(c, 4);
		} else if (strcmp(op, "readdir") == 0 || strcmp(op, "ls-l") == 0) {
			bool stat_each = strcmp(op, "ls-l") == 0;
			uint64_t doff = 0;
			uint32_t got;

			r = p9c_walk_path(c, 1, 3, file, NULL);
			if (!r && stat_each)
				r = p9c_walk_path(c, 1, 5, file, NULL);
			if (!r)
				r = p9c_lopen(c, 3, O_RDONLY | O_DIRECTORY, NULL, NULL);
			while (!r) {
				r = p9c_readdir(c, 3, doff, MIN(65536, msize - P9_IOHDR_SIZE), buf, &got);
				if (r || got == 0)
					break;
				doff = last_offset(buf, got);
				if (stat_each)
					r = stat_entries(c, buf, got, &ga);
			}
			if (!r)
				r = p9c_clunk(c, 3);
			if (!r && stat_each)
				r = p9c_clunk(c, 5);
		} else {
			uint32_t count = strcmp(op, "read4k") == 0 ? 4096 :
					 strcmp(op, "read64k") == 0 ? 65536 : 1 << 20;

			/* Some servers refuse counts beyond what msize carries. */
			count = MIN(count, msize - P9_IOHDR_SIZE);

			r = p9c_read(c, 2, off, count, buf, &n);
			off = r == 0 && n == count ? off + n : 0;
		}
		if (r < 0) {
			j->err = -r;
			break;
		}
		j->ops++;
	}
out:
	p9c_free(c);
	g_free(buf);
	return NULL;
}

/* splice1m's server: 1 MiB of the file at each offset asked for. */
static void splice_serve(int fd, int filefd)
{
	int p[2];
	off_t off;

	if (pipe(p) < 0 || fcntl(p[1], F_SETPIPE_SZ, 1 << 20) < (1 << 20))
		_exit(1);
	while (read(fd, &off, sizeof(off)) == (ssize_t)sizeof(off)) {
		size_t in = 0, out = 0;

		while (in < (1u << 20)) {
			ssize_t k = splice(filefd, &off, p[1], NULL, (1u << 20) - in, SPLICE_F_MOVE);

			if (k <= 0)
				_exit(1);
			in += (size_t)k;
		}
		while (out < in) {
			ssize_t k = splice(p[0], NULL, fd, NULL, in - out, SPLICE_F_MOVE);

			if (k <= 0)
				_exit(1);
			out += (size_t)k;
		}
	}
}

/* The other end of an echo or a splice1m: a process of its own, as a
 * server is. */
static pid_t peer(int fd, int filefd)
{
	pid_t pid = fork();
	char b[64];

	if (pid != 0)
		return pid;
	/* Only our ends stay open: the parent's closes (of this pair and of
	 * the other clients' pairs) must reach each peer as EOF. */
	if (dup2(fd, 3) < 0 || dup2(filefd, 4) < 0)
		_exit(1);
	fd = 3;
	syscall(SYS_close_range, 5, ~0U, 0);
	if (strcmp(op, "splice1m") == 0)
		splice_serve(fd, 4);
	else
		while (read(fd, b, sizeof(b)) == (ssize_t)sizeof(b) && write(fd, b, sizeof(b)) > 0)
			;
	_exit(0);
}

static void *localjob(void *arg)
{
	struct job *j = arg;
	char *path = g_build_filename(local, file, NULL);
	int dfd = open(local, O_PATH | O_DIRECTORY), fd = open(path, O_RDONLY), sv[2];
	char *buf = g_malloc(1 << 20);
	off_t off = 0;
	pid_t server = -1;
	struct stat st;

	bool paired = strcmp(op, "echo") == 0 || strcmp(op, "splice1m") == 0;

	if (paired) {
		socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
		server = peer(sv[1], fd);
	}
	while (!stop) {
		if (strcmp(op, "fstatat") == 0) {
			if (fstatat(dfd, file, &st, AT_SYMLINK_NOFOLLOW) < 0)
				break;
		} else if (strcmp(op, "creat-unlink") == 0) {
			char name[32];
			int nf;

			snprintf(name, sizeof(name), "local-%d", g_atomic_int_add(&serial, 1));
			nf = openat(dfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
			if (nf < 0 || close(nf) < 0 || unlinkat(dfd, name, 0) < 0)
				break;
		} else if (g_str_has_prefix(op, "getdents")) {
			int d = openat(dfd, file, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			bool xattr = strcmp(op, "getdents-getxattr") == 0;
			char p[PATH_MAX], v[16];
			long n, pos;

			if (d < 0)
				break;
			while ((n = syscall(SYS_getdents64, d, buf, 65536)) > 0) {
				for (pos = 0; op[8] && pos < n;) {
					/* struct linux_dirent64: ino[8] off[8] reclen[2] type[1] name */
					unsigned short reclen;
					const char *name = buf + pos + 19;

					memcpy(&reclen, buf + pos + 16, 2);
					pos += reclen;
					if (!xattr) {
						if (fstatat(d, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
							n = -1;
						continue;
					}
					snprintf(p, sizeof(p), "%s/%s/%s", local, file, name);
					if (lgetxattr(p, "user.virtfs.mode", v, sizeof(v)) < 0 &&
					    errno != ENODATA)
						n = -1;
				}
			}
			close(d);
			if (n < 0)
				break;
		} else if (strcmp(op, "echo") == 0) {
			if (write(sv[0], buf, 64) != 64 || read(sv[0], buf, 64) != 64)
				break;
		} else if (strcmp(op, "splice1m") == 0) {
			size_t got = 0;
			ssize_t k = 1;

			if (write(sv[0], &off, sizeof(off)) != sizeof(off))
				break;
			while (got < (1u << 20) && (k = read(sv[0], buf, (1u << 20) - got)) > 0)
				got += (size_t)k;
			if (k <= 0)
				break;
			off = fstat(fd, &st) == 0 && off + (2 << 20) <= st.st_size ? off + (1 << 20) : 0;
		} else {
			size_t count = strcmp(op, "pread4k") == 0 ? 4096 :
				       strcmp(op, "pread64k") == 0 ? 65536 : 1 << 20;
			ssize_t n = pread(fd, buf, count, off);

			if (n < 0)
				break;
			off = (size_t)n == count ? off + n : 0;
		}
		j->ops++;
	}
	if (paired) {
		close(sv[0]);
		if (server > 0)
			waitpid(server, NULL, 0);
		close(sv[1]);
	}
	close(dfd);
	close(fd);
	g_free(path);
	g_free(buf);
	return NULL;
}

int main(int argc, char **argv)
{
	GOptionEntry opts[] = {
		{ "addr", 0, 0, G_OPTION_ARG_STRING, &addr, "server address", "ADDR" },
		{ "local", 0, 0, G_OPTION_ARG_STRING, &local, "reference: this directory", "DIR" },
		{ "op", 0, 0, G_OPTION_ARG_STRING, &op, "operation", "OP" },
		{ "file", 0, 0, G_OPTION_ARG_STRING, &file, "file (default: file)", "NAME" },
		{ "clients", 0, 0, G_OPTION_ARG_INT, &clients, "clients (default 1)", "K" },
		{ "seconds", 0, 0, G_OPTION_ARG_INT, &seconds, "duration (default 3)", "S" },
		{ "aname", 0, 0, G_OPTION_ARG_STRING, &aname, "attach name (default empty)", "PATH" },
		{ "msize", 0, 0, G_OPTION_ARG_INT, &msize_want, "msize asked (default 1 MiB + 4 KiB)",
		  "N" },
		{ NULL },
	};
	GOptionContext *ctx = g_option_context_new("- 9P load generator");
	GError *err = NULL;
	struct job *jobs;
	unsigned long total = 0;
	gint64 t0, t1;

	g_option_context_add_main_entries(ctx, opts, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &err) || !op || !addr == !local ||
	    clients < 1 || clients > 256) {
		fprintf(stderr, "p9load: %s\n", err ? err->message : "give --op and --addr or --local");
		return 2;
	}
	jobs = g_new0(struct job, clients);
	t0 = g_get_monotonic_time();
	for (int i = 0; i < clients; i++)
		pthread_create(&jobs[i].t, NULL, addr ? remote : localjob, &jobs[i]);
	g_usleep((gulong)seconds * G_USEC_PER_SEC);
	stop = 1;
	for (int i = 0; i < clients; i++) {
		pthread_join(jobs[i].t, NULL);
		if (jobs[i].err) {
			fprintf(stderr, "p9load: %s: %s\n", op, g_strerror(jobs[i].err));
			return 1;
		}
		total += jobs[i].ops;
	}
	t1 = g_get_monotonic_time();
	printf("%s %d %.0f\n", op, clients, (double)total * G_USEC_PER_SEC / (double)(t1 - t0));
	return 0;
}
