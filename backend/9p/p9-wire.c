/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Bounded little-endian primitives and counted-string helpers.
 *
 * Readers and writers carry a sticky error flag instead of returning a
 * status from every call: a message is decoded with straight-line code and
 * checked once at the end.  After the first overrun every further read
 * returns zero and consumes nothing, and every further write is dropped, so
 * nothing is ever touched outside the bounds given at init time.
 */
#include <errno.h>
#include <string.h>

#include "9p/p9.h"

static bool rd_take(struct p9_rd *r, size_t n)
{
	if (r->err || p9_rd_left(r) < n) {
		r->err = true;
		return false;
	}
	return true;
}

uint8_t p9_get8(struct p9_rd *r)
{
	if (!rd_take(r, 1))
		return 0;
	return *r->p++;
}

uint16_t p9_get16(struct p9_rd *r)
{
	if (!rd_take(r, 2))
		return 0;
	uint16_t v = (uint16_t)(r->p[0] | (uint16_t)r->p[1] << 8);
	r->p += 2;
	return v;
}

uint32_t p9_get32(struct p9_rd *r)
{
	if (!rd_take(r, 4))
		return 0;
	uint32_t v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 |
		     (uint32_t)r->p[2] << 16 | (uint32_t)r->p[3] << 24;
	r->p += 4;
	return v;
}

uint64_t p9_get64(struct p9_rd *r)
{
	uint64_t lo = p9_get32(r);
	uint64_t hi = p9_get32(r);
	return lo | hi << 32;
}

struct p9_str p9_getstr(struct p9_rd *r)
{
	struct p9_str s = { "", 0 };
	uint16_t n = p9_get16(r);

	if (!rd_take(r, n))
		return s;
	/* A NUL inside a name would be silently truncated by every C API
	 * further down, turning "a\0/../x" into something else entirely. */
	if (n && memchr(r->p, 0, n)) {
		r->err = true;
		return s;
	}
	s.s = (const char *)r->p;
	s.len = n;
	r->p += n;
	return s;
}

struct p9_qid p9_getqid(struct p9_rd *r)
{
	struct p9_qid q;

	q.type = p9_get8(r);
	q.version = p9_get32(r);
	q.path = p9_get64(r);
	return q;
}

static uint8_t *wr_take(struct p9_wr *w, size_t n)
{
	if (w->err || p9_wr_left(w) < n) {
		w->err = true;
		return NULL;
	}
	uint8_t *p = w->p;
	w->p += n;
	return p;
}

void p9_put8(struct p9_wr *w, uint8_t v)
{
	uint8_t *p = wr_take(w, 1);
	if (p)
		p[0] = v;
}

void p9_put16(struct p9_wr *w, uint16_t v)
{
	uint8_t *p = wr_take(w, 2);
	if (p) {
		p[0] = (uint8_t)v;
		p[1] = (uint8_t)(v >> 8);
	}
}

void p9_put32(struct p9_wr *w, uint32_t v)
{
	uint8_t *p = wr_take(w, 4);
	if (p) {
		p[0] = (uint8_t)v;
		p[1] = (uint8_t)(v >> 8);
		p[2] = (uint8_t)(v >> 16);
		p[3] = (uint8_t)(v >> 24);
	}
}

void p9_put64(struct p9_wr *w, uint64_t v)
{
	p9_put32(w, (uint32_t)v);
	p9_put32(w, (uint32_t)(v >> 32));
}

void p9_putbytes(struct p9_wr *w, const void *data, size_t len)
{
	uint8_t *p = wr_take(w, len);
	if (p && len)
		memcpy(p, data, len);
}

void p9_putstr(struct p9_wr *w, struct p9_str s)
{
	if (s.len && !s.s) {
		w->err = true;
		return;
	}
	p9_put16(w, s.len);
	p9_putbytes(w, s.s, s.len);
}

void p9_putcstr(struct p9_wr *w, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	/* Truncating silently would put a different name on the wire. */
	if (n > 0xFFFF) {
		w->err = true;
		return;
	}
	p9_put16(w, (uint16_t)n);
	p9_putbytes(w, s, n);
}

void p9_putqid(struct p9_wr *w, const struct p9_qid *q)
{
	p9_put8(w, q->type);
	p9_put32(w, q->version);
	p9_put64(w, q->path);
}

bool p9_str_eq(struct p9_str a, const char *b)
{
	size_t n = b ? strlen(b) : 0;

	if (n != a.len)
		return false;
	return n == 0 || memcmp(a.s, b, n) == 0;
}

bool p9_str_copy(char *dst, size_t dstlen, struct p9_str s)
{
	if (!dst || dstlen == 0)
		return false;
	if ((size_t)s.len >= dstlen || (s.len && !s.s)) {
		dst[0] = '\0';
		return false;
	}
	if (s.len)
		memcpy(dst, s.s, s.len);
	dst[s.len] = '\0';
	return true;
}

uint32_t p9_frame_size(const void *buf)
{
	const uint8_t *p = buf;

	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

void p9_begin_frame(struct p9_wr *w, uint8_t type, uint16_t tag)
{
	/* The frame always starts at the writer's start: the size patch in
	 * p9_end_frame relies on it. */
	w->p = w->start;
	w->err = false;
	p9_put32(w, 0);
	p9_put8(w, type);
	p9_put16(w, tag);
}

int p9_end_frame(struct p9_wr *w)
{
	size_t len = p9_wr_len(w);

	if (w->err || len < P9_HDR_SIZE || len > 0x7FFFFFFFu)
		return -EMSGSIZE;
	w->start[0] = (uint8_t)len;
	w->start[1] = (uint8_t)(len >> 8);
	w->start[2] = (uint8_t)(len >> 16);
	w->start[3] = (uint8_t)(len >> 24);
	return (int)len;
}
