/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * p9client: directory listings.  9P2000.L returns dirent records through
 * Treaddir with opaque offset cookies; 9P2000(.u) returns stat records
 * through Tread on an opened directory with byte offsets.  Both parsers
 * validate a whole batch before the first callback, so a callback never
 * sees half of a malformed reply.
 */
#include <errno.h>

#include "p9client-impl.h"

#define MAX_BATCHES (1u << 20)  /* a listing this long is a looping server */

int p9c_parse_dirents(const void *buf, size_t len, p9c_dirent_cb cb, void *opaque)
{
	struct p9_rd r;

	p9_rd_init(&r, buf, len);
	while (p9_rd_left(&r)) {
		(void)p9_getdirent(&r);
		if (r.err)
			return -EPROTO;
	}
	p9_rd_init(&r, buf, len);
	while (p9_rd_left(&r)) {
		struct p9_dirent de = p9_getdirent(&r);
		int rc = cb ? cb(&de, opaque) : 0;
		if (rc)
			return rc;
	}
	return 0;
}

struct dirent_pass {
	p9c_dirent_cb cb;
	void *opaque;
	uint64_t last;
};

static int note_offset(const struct p9_dirent *de, void *opaque)
{
	struct dirent_pass *p = opaque;

	p->last = de->offset;
	return p->cb ? p->cb(de, p->opaque) : 0;
}

int p9c_readdir_all(struct p9c *c, uint32_t fid, uint32_t count,
		    p9c_dirent_cb cb, void *opaque)
{
	struct dirent_pass pass = { cb, opaque, 0 };
	uint8_t *buf = g_malloc(count ? count : 1);
	uint64_t offset = 0;
	int rc = -ELOOP;

	for (unsigned batch = 0; batch < MAX_BATCHES; batch++) {
		uint32_t n;
		rc = p9c_readdir(c, fid, offset, count, buf, &n);
		if (rc || n == 0)
			break;
		rc = p9c_parse_dirents(buf, n, note_offset, &pass);
		if (rc)
			break;
		/* The next batch starts after the last entry; a cookie that
		 * does not move would read the same entries forever. */
		if (pass.last == offset) {
			rc = -EPROTO;
			break;
		}
		offset = pass.last;
		rc = -ELOOP;
	}
	g_free(buf);
	return rc;
}

int p9c_parse_stats(const void *buf, size_t len, enum p9_dialect d,
		    p9c_stat_cb cb, void *opaque)
{
	struct p9_rd r;

	p9_rd_init(&r, buf, len);
	while (p9_rd_left(&r)) {
		(void)p9_getstat(&r, d);
		if (r.err)
			return -EPROTO;
	}
	p9_rd_init(&r, buf, len);
	while (p9_rd_left(&r)) {
		struct p9_stat st = p9_getstat(&r, d);
		int rc = cb ? cb(&st, opaque) : 0;
		if (rc)
			return rc;
	}
	return 0;
}

int p9c_read_stats(struct p9c *c, uint32_t fid, uint32_t count,
		   p9c_stat_cb cb, void *opaque)
{
	uint8_t *buf = g_malloc(count ? count : 1);
	uint64_t offset = 0;
	int rc = -ELOOP;

	for (unsigned batch = 0; batch < MAX_BATCHES; batch++) {
		uint32_t n;
		rc = p9c_read(c, fid, offset, count, buf, &n);
		if (rc || n == 0)
			break;
		rc = p9c_parse_stats(buf, n, c->dialect, cb, opaque);
		if (rc)
			break;
		offset += n;
		rc = -ELOOP;
	}
	g_free(buf);
	return rc;
}
