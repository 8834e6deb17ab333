// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Comparing a recorded reply with a replayed one (replay.h).
 *
 * Two runs of the same requests on two hosts may differ, without either
 * being wrong, in: qid paths (inode numbers) and versions; times; block
 * counts and block sizes; the size of a directory; free space and
 * filesystem ids; the offsets a directory listing hands out.  Paths are
 * compared through a mapping learnt as they appear (a path the recording
 * saw must always come back as the same replayed path, and a created file
 * starts a new pairing: inode numbers are reused differently); offsets are
 * mapped per fid and the replay's own are sent back (replay_rewrite).
 * Everything else must be equal.
 */
#include <string.h>

#include "replay.h"

struct replay_map {
	GHashTable *fwd, *back;      /* qid path: recorded <-> replayed */
	GHashTable *offsets;         /* "fid:recorded offset" -> replayed offset */
};

struct replay_map *replay_map_new(void)
{
	struct replay_map *m = g_new0(struct replay_map, 1);

	m->fwd = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
	m->back = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
	m->offsets = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	return m;
}

void replay_map_free(struct replay_map *m)
{
	if (!m)
		return;
	g_hash_table_unref(m->fwd);
	g_hash_table_unref(m->back);
	g_hash_table_unref(m->offsets);
	g_free(m);
}

static void bind(GHashTable *t, uint64_t k, uint64_t v)
{
	g_hash_table_insert(t, g_memdup2(&k, sizeof(k)), g_memdup2(&v, sizeof(v)));
}

/* fresh: the reply made the object (a create): any old pairing ends. */
static char *qmap(struct replay_map *m, const char *what, const struct p9_qid *rec,
		  const struct p9_qid *rep, bool fresh)
{
	uint64_t *f = g_hash_table_lookup(m->fwd, &rec->path);
	uint64_t *b = g_hash_table_lookup(m->back, &rep->path);

	if (rec->type != rep->type)
		return g_strdup_printf("%s: qid type 0x%x recorded, 0x%x replayed", what,
				       rec->type, rep->type);
	if (fresh) {
		if (f)
			g_hash_table_remove(m->back, f);
		if (b)
			g_hash_table_remove(m->fwd, b);
	} else if (f || b) {
		if (f && *f == rep->path)
			return NULL;
		return g_strdup_printf("%s: recorded qid path 0x%llx was replayed as 0x%llx "
				       "before, now 0x%llx", what, (unsigned long long)rec->path,
				       f ? (unsigned long long)*f : 0ull,
				       (unsigned long long)rep->path);
	}
	bind(m->fwd, rec->path, rep->path);
	bind(m->back, rep->path, rec->path);
	return NULL;
}

#define FIELD(x, name)                                                                \
	do {                                                                          \
		if ((a->x) != (b->x))                                                 \
			return g_strdup_printf("%s: recorded %llu, replayed %llu", name, \
					       (unsigned long long)(a->x),             \
					       (unsigned long long)(b->x));            \
	} while (0)

static char *cmp_str(const char *what, struct p9_str a, struct p9_str b)
{
	if (a.len == b.len && (a.len == 0 || memcmp(a.s, b.s, a.len) == 0))
		return NULL;
	return g_strdup_printf("%s: recorded \"%.*s\", replayed \"%.*s\"", what, (int)a.len,
			       a.s ? a.s : "", (int)b.len, b.s ? b.s : "");
}

static char *cmp_getattr(struct replay_map *m, const struct p9_getattr *a,
			 const struct p9_getattr *b)
{
	char *why = qmap(m, "qid", &a->qid, &b->qid, false);

	if (why)
		return why;
	FIELD(valid, "valid");
	if (a->mode != b->mode)
		return g_strdup_printf("mode: recorded 0%o, replayed 0%o", a->mode, b->mode);
	FIELD(uid, "uid");
	FIELD(gid, "gid");
	FIELD(nlink, "nlink");
	FIELD(rdev, "rdev");
	/* A directory's size is the filesystem's business. */
	if (!(a->qid.type & P9_QTDIR))
		FIELD(size, "size");
	return NULL;
}

static char *cmp_stat(struct replay_map *m, const struct p9_stat *a, const struct p9_stat *b)
{
	char *why = qmap(m, "qid", &a->qid, &b->qid, false);

	if (why || (why = cmp_str("name", a->name, b->name)) ||
	    (why = cmp_str("uid", a->uid, b->uid)) || (why = cmp_str("gid", a->gid, b->gid)) ||
	    (why = cmp_str("extension", a->extension, b->extension)))
		return why;
	FIELD(mode, "mode");
	FIELD(n_uid, "n_uid");
	FIELD(n_gid, "n_gid");
	if (!(a->qid.type & P9_QTDIR))
		FIELD(length, "length");
	return NULL;
}

static char *off_key(uint32_t fid, uint64_t off)
{
	return g_strdup_printf("%u:%llu", fid, (unsigned long long)off);
}

static gint by_name(gconstpointer pa, gconstpointer pb)
{
	const struct p9_dirent *a = pa, *b = pb;
	int c = memcmp(a->name.s, b->name.s, MIN(a->name.len, b->name.len));

	return c ? c : (int)a->name.len - (int)b->name.len;
}

/* The entries of one Rreaddir, or NULL if they do not parse. */
static GArray *dirents(const uint8_t *data, uint32_t n)
{
	GArray *a = g_array_new(FALSE, FALSE, sizeof(struct p9_dirent));
	struct p9_rd rd;

	p9_rd_init(&rd, data, n);
	while (p9_rd_left(&rd)) {
		struct p9_dirent de = p9_getdirent(&rd);

		if (rd.err) {
			g_array_unref(a);
			return NULL;
		}
		g_array_append_val(a, de);
	}
	return a;
}

/*
 * One Rreaddir: the same entries, in any order (a directory's order is
 * its filesystem's: ext4's depends on a hash seed of its own).  The next
 * Treaddir continues from the offset of the last entry, whichever it is:
 * the recorded last offset maps to the replayed last one.  A listing that
 * takes several Rreaddirs must come in the same batches.
 */
static char *cmp_dirents(struct replay_map *m, uint32_t fid, const uint8_t *da, uint32_t na,
			 const uint8_t *db, uint32_t nb)
{
	GArray *a = dirents(da, na), *b = dirents(db, nb);
	char *why = NULL;

	if (!a || !b) {
		why = g_strdup("an entry does not parse");
		goto out;
	}
	if (a->len != b->len) {
		why = g_strdup_printf("%u entries recorded, %u replayed", a->len, b->len);
		goto out;
	}
	if (a->len) {
		uint64_t last = g_array_index(b, struct p9_dirent, b->len - 1).offset;
		uint64_t rec_last = g_array_index(a, struct p9_dirent, a->len - 1).offset;

		g_array_sort(a, by_name);
		g_array_sort(b, by_name);
		for (guint i = 0; i < a->len && !why; i++) {
			struct p9_dirent *x = &g_array_index(a, struct p9_dirent, i);
			struct p9_dirent *y = &g_array_index(b, struct p9_dirent, i);
			char *what = g_strdup_printf("entry %.*s", (int)x->name.len, x->name.s);

			why = cmp_str("entry name", x->name, y->name);
			if (!why && x->type != y->type)
				why = g_strdup_printf("%s: type %u recorded, %u replayed", what, x->type,
						      y->type);
			if (!why)
				why = qmap(m, what, &x->qid, &y->qid, false);
			g_free(what);
			g_hash_table_insert(m->offsets, off_key(fid, x->offset),
					    g_memdup2(&y->offset, sizeof(y->offset)));
		}
		g_hash_table_insert(m->offsets, off_key(fid, rec_last),
				    g_memdup2(&last, sizeof(last)));
	}
out:
	if (a)
		g_array_unref(a);
	if (b)
		g_array_unref(b);
	return why;
}

static gint stat_by_name(gconstpointer pa, gconstpointer pb)
{
	const struct p9_stat *a = pa, *b = pb;
	int c = memcmp(a->name.s, b->name.s, MIN(a->name.len, b->name.len));

	return c ? c : (int)a->name.len - (int)b->name.len;
}

static GArray *ustats(const uint8_t *data, uint32_t n)
{
	GArray *a = g_array_new(FALSE, FALSE, sizeof(struct p9_stat));
	struct p9_rd rd;

	p9_rd_init(&rd, data, n);
	while (p9_rd_left(&rd)) {
		struct p9_stat st = p9_getstat(&rd, P9_DIALECT_2000U);

		if (rd.err) {
			g_array_unref(a);
			return NULL;
		}
		g_array_append_val(a, st);
	}
	return a;
}

/* A 9P2000.u directory read: the same stat records in any order, as
 * cmp_dirents. */
static char *cmp_ustats(struct replay_map *m, const uint8_t *da, uint32_t na,
			const uint8_t *db, uint32_t nb)
{
	GArray *a = ustats(da, na), *b = ustats(db, nb);
	char *why = NULL;

	if (!a || !b)
		why = g_strdup("a stat record does not parse");
	else if (a->len != b->len)
		why = g_strdup_printf("%u stat records recorded, %u replayed", a->len, b->len);
	if (!why) {
		g_array_sort(a, stat_by_name);
		g_array_sort(b, stat_by_name);
	}
	for (guint i = 0; !why && i < a->len; i++) {
		why = cmp_stat(m, &g_array_index(a, struct p9_stat, i),
			       &g_array_index(b, struct p9_stat, i));
		if (why) {
			const struct p9_stat *st = &g_array_index(a, struct p9_stat, i);
			char *w = g_strdup_printf("stat of %.*s: %s", (int)st->name.len, st->name.s,
						  why);

			g_free(why);
			why = w;
		}
	}
	if (a)
		g_array_unref(a);
	if (b)
		g_array_unref(b);
	return why;
}

char *replay_compare(struct replay_map *m, const uint8_t *req, size_t reqlen,
		     const uint8_t *rec, size_t reclen, const uint8_t *rep, size_t replen,
		     enum p9_dialect d, bool u_dir)
{
	struct p9_msg q, x, y;
	const struct p9_msg *a = &x, *b = &y;

	if (p9_decode(rec, reclen, d, &x) < 0)
		return g_strdup("the recorded reply does not decode");
	if (p9_decode(rep, replen, d, &y) < 0)
		return g_strdup("the replayed reply does not decode");
	if (x.type != y.type)
		return g_strdup_printf("%s recorded, %s replayed", p9_type_name(x.type),
				       p9_type_name(y.type));
	if (p9_decode(req, reqlen, d, &q) < 0)
		memset(&q, 0, sizeof(q));
	switch (x.type) {
	case P9_RATTACH:
	case P9_RAUTH:
		return qmap(m, "qid", &a->u.rattach.qid, &b->u.rattach.qid, false);
	case P9_RWALK:
		FIELD(u.rwalk.nwqid, "nwqid");
		for (unsigned i = 0; i < a->u.rwalk.nwqid && i < P9_MAXWELEM; i++) {
			char *why = qmap(m, "wqid", &a->u.rwalk.wqid[i], &b->u.rwalk.wqid[i], false);

			if (why)
				return why;
		}
		return NULL;
	case P9_ROPEN:
	case P9_RLOPEN:
	case P9_RCREATE:
	case P9_RLCREATE:
		FIELD(u.ropen.iounit, "iounit");
		return qmap(m, "qid", &a->u.ropen.qid, &b->u.ropen.qid,
			    x.type == P9_RCREATE || x.type == P9_RLCREATE);
	case P9_RMKDIR:
	case P9_RSYMLINK:
	case P9_RMKNOD:
		return qmap(m, "qid", &a->u.rqid.qid, &b->u.rqid.qid, true);
	case P9_RGETATTR:
		return cmp_getattr(m, &a->u.rgetattr, &b->u.rgetattr);
	case P9_RSTAT:
		return cmp_stat(m, &a->u.rstat.stat, &b->u.rstat.stat);
	case P9_RSTATFS:
		FIELD(u.rstatfs.st.namelen, "namelen");
		return NULL;
	case P9_RREADDIR:
		FIELD(u.rread.count ? 1 : 0, "whether entries came");
		return cmp_dirents(m, q.type == P9_TREADDIR ? q.u.tread.fid : 0, a->u.rread.data,
				   a->u.rread.count, b->u.rread.data, b->u.rread.count);
	case P9_RREAD:
		if (u_dir)
			return cmp_ustats(m, a->u.rread.data, a->u.rread.count, b->u.rread.data,
					  b->u.rread.count);
		break;
	default:
		break;
	}
	if (reclen != replen || memcmp(rec, rep, reclen) != 0)
		return g_strdup("the replies differ");
	return NULL;
}

void replay_rewrite(struct replay_map *m, uint8_t *req, size_t len)
{
	/* Treaddir: size[4] type[1] tag[2] fid[4] offset[8] count[4] */
	uint32_t fid;
	uint64_t off = 0, *rep;
	char *k;

	if (len < 23 || req[4] != P9_TREADDIR)
		return;
	fid = req[7] | req[8] << 8 | req[9] << 16 | (uint32_t)req[10] << 24;
	for (int i = 7; i >= 0; i--)
		off = off << 8 | req[11 + i];
	if (off == 0)
		return;
	k = off_key(fid, off);
	rep = g_hash_table_lookup(m->offsets, k);
	g_free(k);
	if (!rep)
		return;
	for (int i = 0; i < 8; i++)
		req[11 + i] = (uint8_t)(*rep >> (8 * i));
}
