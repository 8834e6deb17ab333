// SPDX-License-Identifier: GPL-2.0-or-later
/* The recording writer; the format is record.h's. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>

#include "record/record.h"

struct x9p_rec {
	GMutex lock;
	int fd[2];
	unsigned cur;                /* index into fd */
	uint32_t part;
	uint64_t size;               /* of the current part */
	uint64_t part_limit;
	bool redact, broken;
	uint8_t key[16];
	/* Repeated at the start of every part. */
	GByteArray *worker;
	GByteArray *rings[256];
};

/* The fields are the codec's little-endian ones (9p/p9.h). */
static struct p9_wr fields(uint8_t *p, size_t len)
{
	struct p9_wr w;

	p9_wr_init(&w, p, len);
	return w;
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* lock held.  Writes whole or marks the recording broken. */
static void put_all(struct x9p_rec *r, const struct iovec *iov, int n)
{
	size_t total = 0;
	ssize_t w;

	if (r->broken)
		return;
	for (int i = 0; i < n; i++)
		total += iov[i].iov_len;
	do
		w = writev(r->fd[r->cur], iov, n);
	while (w < 0 && errno == EINTR);
	if (w != (ssize_t)total) {
		g_warning("--record: writing failed (%s); the recording stops here",
			  w < 0 ? g_strerror(errno) : "short write");
		r->broken = true;
		return;
	}
	r->size += total;
}

static void part_header(struct x9p_rec *r)
{
	uint8_t h[X9P_REC_HDR] = { 0 };
	struct iovec iov = { h, sizeof(h) };
	struct p9_wr w = fields(h, sizeof(h));

	p9_putbytes(&w, X9P_REC_MAGIC, 8);
	p9_put16(&w, X9P_REC_VERSION);
	p9_put16(&w, r->redact ? X9P_REC_F_REDACTED : 0);
	p9_put32(&w, r->part);
	p9_put64(&w, clock_ns(CLOCK_REALTIME));
	put_all(r, &iov, 1);
}

/* lock held: the other file, emptied, under the next part number. */
static void rotate(struct x9p_rec *r)
{
	unsigned next = r->cur ^ 1;

	/* The offset too: the files need not have been opened to append. */
	if (ftruncate(r->fd[next], 0) < 0 || lseek(r->fd[next], 0, SEEK_SET) < 0) {
		g_warning("--record: cannot rotate (%s); the recording stops here",
			  g_strerror(errno));
		r->broken = true;
		return;
	}
	r->cur = next;
	r->part++;
	r->size = 0;
	part_header(r);
	if (r->worker) {
		struct iovec iov = { r->worker->data, r->worker->len };

		put_all(r, &iov, 1);
	}
	for (unsigned i = 0; i < G_N_ELEMENTS(r->rings); i++) {
		if (r->rings[i]) {
			struct iovec iov = { r->rings[i]->data, r->rings[i]->len };

			put_all(r, &iov, 1);
		}
	}
}

/* lock held.  head: X9P_REC_HEAD bytes, filled here. */
static void emit(struct x9p_rec *r, uint8_t *head, enum x9p_rec_type type, unsigned ring,
		 const struct iovec *body, int n)
{
	/* n: the engine's pieces of one message and a field or two. */
	struct iovec *iov = g_newa(struct iovec, n + 1);
	size_t len = X9P_REC_HEAD;
	struct p9_wr w;

	for (int i = 0; i < n; i++)
		len += body[i].iov_len;
	w = fields(head, X9P_REC_HEAD);
	p9_put32(&w, (uint32_t)len);
	p9_put8(&w, (uint8_t)type);
	p9_put8(&w, (uint8_t)ring);
	p9_put16(&w, 0);
	p9_put64(&w, clock_ns(CLOCK_MONOTONIC));
	iov[0] = (struct iovec){ head, X9P_REC_HEAD };
	memcpy(iov + 1, body, sizeof(*body) * (size_t)n);
	if (r->size + len > r->part_limit && r->size > X9P_REC_HDR)
		rotate(r);
	put_all(r, iov, n + 1);
}

/* Keeps a copy of a record to repeat in the next parts. */
static GByteArray *keep(GByteArray *old, const uint8_t *head, const struct iovec *body, int n)
{
	GByteArray *a = old ? old : g_byte_array_new();

	g_byte_array_set_size(a, 0);
	g_byte_array_append(a, head, X9P_REC_HEAD);
	for (int i = 0; i < n; i++)
		g_byte_array_append(a, body[i].iov_base, (guint)body[i].iov_len);
	return a;
}

/* Reads the part number and flags of a file; -1 when it has no valid
 * header. */
static int64_t part_of(int fd, uint16_t *flags)
{
	uint8_t h[X9P_REC_HDR];
	struct p9_rd rd;

	if (pread(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h) || memcmp(h, X9P_REC_MAGIC, 8))
		return -1;
	p9_rd_init(&rd, h + 8, sizeof(h) - 8);
	if (p9_get16(&rd) != X9P_REC_VERSION)
		return -1;
	*flags = p9_get16(&rd);
	return p9_get32(&rd);
}

/*
 * The end of a file's last whole record: a worker killed in the middle
 * of a write leaves a record cut short, which the next worker must not
 * append after (the reader would take its bytes for the next head).
 */
static off_t whole_end(int fd)
{
	struct stat st;
	off_t off = X9P_REC_HDR;
	uint8_t head[X9P_REC_HEAD];

	if (fstat(fd, &st) < 0)
		return -1;
	while (off + (off_t)X9P_REC_HEAD <= st.st_size &&
	       pread(fd, head, sizeof(head), off) == (ssize_t)sizeof(head)) {
		uint32_t len = p9_frame_size(head);   /* a record's first field, as a frame's */

		if (len < X9P_REC_HEAD || (off_t)len > st.st_size - off)
			break;
		off += len;
	}
	return off;
}

struct x9p_rec *x9p_rec_new(const int fd[2], uint64_t limit, bool redact)
{
	struct x9p_rec *r = g_new0(struct x9p_rec, 1);
	uint16_t f0 = 0, f1 = 0;
	int64_t p0 = part_of(fd[0], &f0), p1 = part_of(fd[1], &f1);
	uint16_t flags;
	off_t end;

	g_mutex_init(&r->lock);
	r->fd[0] = fd[0];
	r->fd[1] = fd[1];
	r->redact = redact;
	r->part_limit = MAX(limit / 2, (uint64_t)1 << 20);
	/* The pseudonyms' key: nobody reading the recording may find names back. */
	if (getrandom(r->key, sizeof(r->key), 0) != (ssize_t)sizeof(r->key))
		for (unsigned i = 0; i < sizeof(r->key); i++)
			r->key[i] = (uint8_t)g_random_int();
	g_mutex_lock(&r->lock);
	if (p0 < 0 && p1 < 0) {
		if (ftruncate(fd[0], 0) < 0 || lseek(fd[0], 0, SEEK_SET) < 0)
			r->broken = true;
		part_header(r);
	} else {
		/* A previous worker of the device wrote: go on where it did,
		 * after its last whole record. */
		r->cur = p1 > p0;
		r->part = (uint32_t)MAX(p0, p1);
		flags = r->cur ? f1 : f0;
		end = whole_end(r->fd[r->cur]);
		if (end < 0 || ftruncate(r->fd[r->cur], end) < 0 ||
		    lseek(r->fd[r->cur], 0, SEEK_END) < 0)
			r->broken = true;
		r->size = end > 0 ? (uint64_t)end : 0;
		/* Redacted or not, a part is all one or the other. */
		if ((bool)(flags & X9P_REC_F_REDACTED) != redact)
			rotate(r);
	}
	g_mutex_unlock(&r->lock);
	return r;
}

void x9p_rec_free(struct x9p_rec *r)
{
	if (!r)
		return;
	close(r->fd[0]);
	close(r->fd[1]);
	if (r->worker)
		g_byte_array_unref(r->worker);
	for (unsigned i = 0; i < G_N_ELEMENTS(r->rings); i++)
		if (r->rings[i])
			g_byte_array_unref(r->rings[i]);
	g_mutex_clear(&r->lock);
	g_free(r);
}

int x9p_rec_dir_check(const char *dir, char **why)
{
	struct stat st;

	if (stat(dir, &st) < 0) {
		*why = g_strdup_printf("%s: %s", dir, g_strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022)) {
		/* Someone else could put links there for the daemon to write through. */
		*why = g_strdup_printf("%s must be a directory of the daemon's user that no one "
				       "else may write to", dir);
		return -1;
	}
	return 0;
}

int x9p_rec_files(const char *dir, const char *label, bool append, int fd[2])
{
	char *name = g_strdelimit(g_strdup(label), "/", '-');
	int flags = O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW;
	int err = 0;

	fd[0] = fd[1] = -1;
	for (unsigned i = 0; i < 2 && !err; i++) {
		char *path = g_strdup_printf("%s/%s%s.x9prec", dir, name, i ? ".1" : "");
		struct stat st;

		/* A new connection: the previous one's recording is kept, under
		 * .prev, so that a guest cannot wipe what it did by reconnecting. */
		if (!append) {
			char *prev = g_strdup_printf("%s/%s.prev%s.x9prec", dir, name, i ? ".1" : "");

			if (rename(path, prev) < 0 && errno != ENOENT)
				err = -errno;
			g_free(prev);
		}

		/* Recordings hold file contents and names: the daemon's user only. */
		fd[i] = open(path, flags, 0600);
		if (fd[i] < 0)
			err = -errno;
		else if (fstat(fd[i], &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
			 st.st_uid != geteuid())
			err = -EPERM;   /* emptied only once known to be ours alone */
		else if (!append && ftruncate(fd[i], 0) < 0)
			err = -errno;
		g_free(path);
	}
	g_free(name);
	if (err) {
		for (unsigned i = 0; i < 2; i++)
			if (fd[i] >= 0)
				close(fd[i]);
		fd[0] = fd[1] = -1;
	}
	return err;
}

char *x9p_rec_options(const char *transport, unsigned nrings, const char *model,
		      bool readonly, unsigned max_files, unsigned max_space_mib,
		      bool auto_delete)
{
	return g_strdup_printf("transport=%s rings=%u model=%s readonly=%d max-files=%u "
			       "max-space-mib=%u auto-delete=%d", transport, nrings, model,
			       readonly, max_files, max_space_mib, auto_delete);
}

void x9p_rec_worker(struct x9p_rec *r, const char *label, const char *options, bool restored)
{
	uint8_t head[X9P_REC_HEAD], f[8];
	struct p9_wr w;
	char *text = g_strdup_printf("%s\n%s", label, options);
	struct iovec body[2] = { { f, sizeof(f) }, { text, strlen(text) } };

	w = fields(f, sizeof(f));
	p9_put32(&w, (uint32_t)getpid());
	p9_put32(&w, restored);
	g_mutex_lock(&r->lock);
	emit(r, head, X9P_REC_WORKER, 0, body, 2);
	r->worker = keep(r->worker, head, body, 2);
	g_mutex_unlock(&r->lock);
	g_free(text);
}

void x9p_rec_ring(struct x9p_rec *r, unsigned ring, unsigned order, uint32_t in_cons,
		  uint32_t in_prod, uint32_t out_cons, uint32_t out_prod)
{
	uint8_t head[X9P_REC_HEAD], f[20];
	struct iovec body = { f, sizeof(f) };
	struct p9_wr w = fields(f, sizeof(f));

	p9_put32(&w, order);
	p9_put32(&w, in_cons);
	p9_put32(&w, in_prod);
	p9_put32(&w, out_cons);
	p9_put32(&w, out_prod);
	g_mutex_lock(&r->lock);
	emit(r, head, X9P_REC_RING, ring, &body, 1);
	r->rings[ring & 255] = keep(r->rings[ring & 255], head, &body, 1);
	g_mutex_unlock(&r->lock);
}

void x9p_rec_frame(struct x9p_rec *r, enum x9p_rec_type type, unsigned ring, uint32_t at,
		   uint32_t prod, const struct iovec *iov, int iovcnt, enum p9_dialect d)
{
	uint8_t head[X9P_REC_HEAD], f[8];
	struct iovec *body = g_newa(struct iovec, iovcnt + 1);
	struct p9_wr w = fields(f, sizeof(f));
	uint8_t *copy = NULL;
	int n = 1;

	body[0] = (struct iovec){ f, sizeof(f) };
	p9_put32(&w, at);
	p9_put32(&w, prod);
	if (r->redact) {
		size_t len = 0;

		for (int i = 0; i < iovcnt; i++)
			len += iov[i].iov_len;
		copy = g_malloc(len);
		len = 0;
		for (int i = 0; i < iovcnt; i++) {
			memcpy(copy + len, iov[i].iov_base, iov[i].iov_len);
			len += iov[i].iov_len;
		}
		x9p_rec_redact(copy, len, d, r->key);
		body[n++] = (struct iovec){ copy, len };
	} else {
		for (int i = 0; i < iovcnt; i++)
			body[n++] = iov[i];
	}
	g_mutex_lock(&r->lock);
	emit(r, head, type, ring, body, n);
	g_mutex_unlock(&r->lock);
	g_free(copy);
}

static void fixed(struct x9p_rec *r, enum x9p_rec_type type, unsigned ring, const uint32_t *v,
		  int nv, const char *text)
{
	uint8_t head[X9P_REC_HEAD], f[8];
	struct iovec body[2] = { { f, 4u * (size_t)nv }, { (void *)text, text ? strlen(text) : 0 } };
	struct p9_wr w = fields(f, sizeof(f));

	for (int i = 0; i < nv; i++)
		p9_put32(&w, v[i]);
	g_mutex_lock(&r->lock);
	emit(r, head, type, ring, body, text ? 2 : 1);
	g_mutex_unlock(&r->lock);
}

void x9p_rec_event(struct x9p_rec *r, unsigned ring, uint32_t in_cons, uint32_t out_prod)
{
	fixed(r, X9P_REC_EVENT, ring, (uint32_t[]){ in_cons, out_prod }, 2, NULL);
}

void x9p_rec_notify(struct x9p_rec *r, unsigned ring, uint32_t in_prod, uint32_t out_cons)
{
	fixed(r, X9P_REC_NOTIFY, ring, (uint32_t[]){ in_prod, out_cons }, 2, NULL);
}

void x9p_rec_fault(struct x9p_rec *r, unsigned ring, enum x9p_rec_idx idx, uint32_t value,
		   const char *why)
{
	fixed(r, X9P_REC_FAULT, ring, (uint32_t[]){ idx, value }, 2, why);
}

void x9p_rec_end(struct x9p_rec *r, enum x9p_rec_end why)
{
	fixed(r, X9P_REC_END, 0, (uint32_t[]){ why }, 1, NULL);
}
