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

#define ERR(...) g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL, __VA_ARGS__)

struct x9p_rec_trace *x9p_rec_parse(GBytes *bytes, GError **err)
{
	gsize size;
	const uint8_t *p = g_bytes_get_data(bytes, &size);
	struct x9p_rec_trace *t;
	size_t off = X9P_REC_HDR;
	struct p9_rd rd;
	uint16_t version;

	/* The fields are the codec's little-endian ones (9p/p9.h). */
	if (size < X9P_REC_HDR || memcmp(p, X9P_REC_MAGIC, 8) != 0) {
		ERR("not an x9p recording (no \"x9p-rec\" header)");
		return NULL;
	}
	p9_rd_init(&rd, p + 8, X9P_REC_HDR - 8);
	version = p9_get16(&rd);
	if (version != X9P_REC_VERSION) {
		ERR("recording format version %u; this build reads version %u", version,
		    X9P_REC_VERSION);
		return NULL;
	}
	t = g_new0(struct x9p_rec_trace, 1);
	t->version = X9P_REC_VERSION;
	t->flags = p9_get16(&rd);
	t->part = p9_get32(&rd);
	t->realtime_ns = p9_get64(&rd);
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
		p9_rd_init(&rd, p + off, X9P_REC_HEAD);
		len = p9_get32(&rd);
		e.type = p9_get8(&rd);
		e.ring = p9_get8(&rd);
		p9_get16(&rd);
		e.t_ns = p9_get64(&rd);
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
		p9_rd_init(&rd, p + off + X9P_REC_HEAD, 4 * nf);
		for (unsigned i = 0; i < nf; i++)
			e.f[i] = p9_get32(&rd);
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
