/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Variable-length records that live inside messages: 9P2000(.u) stat
 * records (Rstat, Twstat, directory reads in 9P2000/.u) and 9P2000.L
 * Rreaddir entries.
 *
 * A stat record carries its own size[2].  The decoder reads exactly that
 * many bytes through a sub-reader, so a record whose fields do not add up
 * to its size (too short or with slack at the end) is rejected rather than
 * letting the next record start at a guessed offset.
 */
#include "9p/p9.h"

/* .L is a superset of .u in the four places the layouts differ. */
static inline bool has_dotu(enum p9_dialect d)
{
	return d != P9_DIALECT_2000;
}

size_t p9_stat_size(enum p9_dialect d, const struct p9_stat *st)
{
	/* size type dev qid mode atime mtime length */
	size_t n = 2 + 2 + 4 + 13 + 4 + 4 + 4 + 8;

	n += 2 + (size_t)st->name.len + 2 + (size_t)st->uid.len +
	     2 + (size_t)st->gid.len + 2 + (size_t)st->muid.len;
	if (has_dotu(d))
		n += 2 + (size_t)st->extension.len + 4 + 4 + 4;
	return n;
}

void p9_putstat(struct p9_wr *w, enum p9_dialect d, const struct p9_stat *st)
{
	size_t total = p9_stat_size(d, st);

	if (total - 2 > 0xFFFF) {
		w->err = true;
		return;
	}
	p9_put16(w, (uint16_t)(total - 2));
	p9_put16(w, st->type);
	p9_put32(w, st->dev);
	p9_putqid(w, &st->qid);
	p9_put32(w, st->mode);
	p9_put32(w, st->atime);
	p9_put32(w, st->mtime);
	p9_put64(w, st->length);
	p9_putstr(w, st->name);
	p9_putstr(w, st->uid);
	p9_putstr(w, st->gid);
	p9_putstr(w, st->muid);
	if (has_dotu(d)) {
		p9_putstr(w, st->extension);
		p9_put32(w, st->n_uid);
		p9_put32(w, st->n_gid);
		p9_put32(w, st->n_muid);
	}
}

struct p9_stat p9_getstat(struct p9_rd *r, enum p9_dialect d)
{
	struct p9_stat st = { 0 };
	struct p9_rd sub;
	uint16_t size = p9_get16(r);

	st.name = st.uid = st.gid = st.muid = st.extension = (struct p9_str){ "", 0 };
	st.n_uid = st.n_gid = st.n_muid = P9_NONUNAME;
	if (r->err || p9_rd_left(r) < size) {
		r->err = true;
		return st;
	}
	p9_rd_init(&sub, r->p, size);
	r->p += size;

	st.type = p9_get16(&sub);
	st.dev = p9_get32(&sub);
	st.qid = p9_getqid(&sub);
	st.mode = p9_get32(&sub);
	st.atime = p9_get32(&sub);
	st.mtime = p9_get32(&sub);
	st.length = p9_get64(&sub);
	st.name = p9_getstr(&sub);
	st.uid = p9_getstr(&sub);
	st.gid = p9_getstr(&sub);
	st.muid = p9_getstr(&sub);
	if (has_dotu(d)) {
		st.extension = p9_getstr(&sub);
		st.n_uid = p9_get32(&sub);
		st.n_gid = p9_get32(&sub);
		st.n_muid = p9_get32(&sub);
	}
	if (sub.err || p9_rd_left(&sub) != 0)
		r->err = true;
	return st;
}

void p9_putdirent(struct p9_wr *w, const struct p9_dirent *de)
{
	p9_putqid(w, &de->qid);
	p9_put64(w, de->offset);
	p9_put8(w, de->type);
	p9_putstr(w, de->name);
}

struct p9_dirent p9_getdirent(struct p9_rd *r)
{
	struct p9_dirent de;

	de.qid = p9_getqid(r);
	de.offset = p9_get64(r);
	de.type = p9_get8(r);
	de.name = p9_getstr(r);
	return de;
}
