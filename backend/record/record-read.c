// SPDX-License-Identifier: GPL-2.0-or-later
/* Reading a recording back; see record-read.h. */
#include <string.h>

#include "record/record-read.h"

static const struct {
	const char *name;
	unsigned nfixed;
} types[X9P_REC_NTYPES] = {
	[X9P_REC_WORKER] = { "WORKER", 2 },
	[X9P_REC_RING] = { "RING", 5 },
	[X9P_REC_REQ] = { "REQ", 2 },
	[X9P_REC_REPLY] = { "REPLY", 2 },
	[X9P_REC_EVENT] = { "EVENT", 2 },
	[X9P_REC_NOTIFY] = { "NOTIFY", 2 },
	[X9P_REC_FAULT] = { "FAULT", 2 },
	[X9P_REC_END] = { "END", 1 },
	[X9P_REC_SEED] = { "SEED", 0 },
};

unsigned x9p_rec_nfixed(unsigned type)
{
	return type < X9P_REC_NTYPES ? types[type].nfixed : 0;
}

const char *x9p_rec_type_name(unsigned type)
{
	return type < X9P_REC_NTYPES && types[type].name ? types[type].name : "unknown";
}

static uint32_t get32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return get32(p) | (uint64_t)get32(p + 4) << 32;
}

#define ERR(...) g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL, __VA_ARGS__)

struct x9p_rec_trace *x9p_rec_parse(GBytes *bytes, GError **err)
{
	gsize size;
	const uint8_t *p = g_bytes_get_data(bytes, &size);
	struct x9p_rec_trace *t;
	size_t off = X9P_REC_HDR;

	if (size < X9P_REC_HDR || memcmp(p, X9P_REC_MAGIC, 8) != 0) {
		ERR("not an x9p recording (no \"x9p-rec\" header)");
		return NULL;
	}
	if ((p[8] | p[9] << 8) != X9P_REC_VERSION) {
		ERR("recording format version %u; this build reads version %u", p[8] | p[9] << 8,
		    X9P_REC_VERSION);
		return NULL;
	}
	t = g_new0(struct x9p_rec_trace, 1);
	t->version = X9P_REC_VERSION;
	t->flags = (uint16_t)(p[10] | p[11] << 8);
	t->part = get32(p + 12);
	t->realtime_ns = get64(p + 16);
	t->entries = g_array_new(FALSE, TRUE, sizeof(struct x9p_rec_entry));
	t->bytes = g_bytes_ref(bytes);
	while (off < size) {
		struct x9p_rec_entry e = { .offset = off };
		uint32_t len;
		unsigned nf;

		if (size - off < X9P_REC_HEAD) {
			t->cut_at = off;
			break;
		}
		len = get32(p + off);
		e.type = p[off + 4];
		e.ring = p[off + 5];
		e.t_ns = get64(p + off + 8);
		nf = x9p_rec_nfixed(e.type);
		if (e.type == 0 || e.type >= X9P_REC_NTYPES) {
			ERR("offset %zu: unknown record type %u", off, e.type);
			goto fail;
		}
		if (len > size - off && len >= X9P_REC_HEAD + 4 * nf) {
			t->cut_at = off;
			break;
		}
		if (len < X9P_REC_HEAD + 4 * nf || len > size - off) {
			ERR("offset %zu: %s record of %u bytes (%zu left in the file, at least %u "
			    "needed)", off, x9p_rec_type_name(e.type), len, size - off,
			    X9P_REC_HEAD + 4 * nf);
			goto fail;
		}
		for (unsigned i = 0; i < nf; i++)
			e.f[i] = get32(p + off + X9P_REC_HEAD + 4 * i);
		e.data = p + off + X9P_REC_HEAD + 4 * nf;
		e.len = len - X9P_REC_HEAD - 4 * nf;
		g_array_append_val(t->entries, e);
		off += len;
	}
	return t;
fail:
	x9p_rec_trace_free(t);
	return NULL;
}

struct x9p_rec_trace *x9p_rec_load(const char *path, GError **err)
{
	GMappedFile *mf = g_mapped_file_new(path, FALSE, err);
	struct x9p_rec_trace *t;
	GBytes *b;

	if (!mf)
		return NULL;
	b = g_mapped_file_get_bytes(mf);
	g_mapped_file_unref(mf);
	t = x9p_rec_parse(b, err);
	g_bytes_unref(b);
	if (!t)
		g_prefix_error(err, "%s: ", path);
	return t;
}

void x9p_rec_trace_free(struct x9p_rec_trace *t)
{
	if (!t)
		return;
	g_array_unref(t->entries);
	g_bytes_unref(t->bytes);
	g_free(t);
}
