/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qids for the proxy driver.  The helper reports raw (device, inode)
 * pairs; the mapping to qid.path lives here, in the backend, so that it
 * survives helper restarts unchanged.
 *
 * multidevs=remap: the export's own device is index 0, every other device
 * gets the next index (1..0xfffe) when first seen; qid.path is
 * index << 48 | inode.  Inodes of 2^48 and above (and devices beyond the
 * indexes) get sequential numbers under index 0xffff instead.  Paths are
 * thus unique across the whole export.  forbid and warn use the inode
 * number alone, as QEMU does.
 */
#include <errno.h>
#include <sys/stat.h>

#include "fs/proxy-int.h"

#define INO_BITS 48
#define INO_MASK ((1ULL << INO_BITS) - 1)
#define FULL_INDEX 0xffffULL

void px_qid_init(struct px_qidmap *m, bool remap)
{
	g_mutex_init(&m->lock);
	m->remap = remap;
	m->devs = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
	m->full = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	m->next_index = 1;
	m->next_full = 1;
}

void px_qid_set_root(struct px_qidmap *m, uint64_t root_dev)
{
	g_mutex_lock(&m->lock);
	/* The first helper decides; the export's device cannot change under us. */
	if (!m->have_root) {
		m->root_dev = root_dev;
		m->have_root = true;
	}
	g_mutex_unlock(&m->lock);
}

void px_qid_free(struct px_qidmap *m)
{
	g_hash_table_destroy(m->devs);
	g_hash_table_destroy(m->full);
	g_mutex_clear(&m->lock);
}

/* lock held */
static uint64_t full_path(struct px_qidmap *m, uint64_t dev, uint64_t ino, int *err)
{
	char *key = g_strdup_printf("%llx:%llx", (unsigned long long)dev, (unsigned long long)ino);
	uint64_t *v = g_hash_table_lookup(m->full, key);

	if (v) {
		g_free(key);
		return *v;
	}
	if (m->next_full > INO_MASK) {
		g_free(key);
		*err = -ENFILE;
		return 0;
	}
	v = g_new(uint64_t, 1);
	*v = FULL_INDEX << INO_BITS | m->next_full++;
	g_hash_table_insert(m->full, key, v);
	return *v;
}

static uint64_t qid_path(struct px_qidmap *m, uint64_t dev, uint64_t ino, int *err)
{
	uint64_t idx, path;
	gpointer v;

	*err = 0;
	if (!m->remap)
		return ino;
	g_mutex_lock(&m->lock);
	if (dev == m->root_dev) {
		idx = 0;
	} else if ((v = g_hash_table_lookup(m->devs, &(gint64){ (gint64)dev }))) {
		idx = GPOINTER_TO_UINT(v);
	} else if (m->next_index < FULL_INDEX) {
		gint64 *k = g_new(gint64, 1);

		*k = (gint64)dev;
		idx = m->next_index++;
		g_hash_table_insert(m->devs, k, GUINT_TO_POINTER((guint)idx));
	} else {
		idx = FULL_INDEX;
	}
	if (idx != FULL_INDEX && ino <= INO_MASK)
		path = idx << INO_BITS | ino;
	else
		path = full_path(m, dev, ino, err);
	g_mutex_unlock(&m->lock);
	return path;
}

int px_qid_of(struct px_qidmap *m, const struct x9p_px_attr *a, struct p9_qid *q)
{
	int err;

	q->type = S_ISDIR(a->mode) ? P9_QTDIR : S_ISLNK(a->mode) ? P9_QTSYMLINK : P9_QTFILE;
	/* QEMU's choice: changes whenever mtime or size does. */
	q->version = (uint32_t)((uint64_t)a->mtime.tv_sec ^ (a->size << 8));
	q->path = qid_path(m, a->dev, a->ino, &err);
	return err;
}

int px_attr_to_fs(struct px_qidmap *m, const struct x9p_px_attr *in, struct x9p_attr *out)
{
	out->mode = in->mode;
	out->uid = in->uid;
	out->gid = in->gid;
	out->nlink = in->nlink;
	out->rdev = in->rdev;
	out->size = in->size;
	out->blksize = in->blksize;
	out->blocks = in->blocks;
	out->atime = in->atime;
	out->mtime = in->mtime;
	out->ctime = in->ctime;
	out->btime = in->btime;
	out->gen = in->gen;
	out->data_version = 0;
	return px_qid_of(m, in, &out->qid);
}
