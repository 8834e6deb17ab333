// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzzes recordings (backend/record/): the writer, with rotation, read
 * back by the reader (every frame as written, the newest part ending with
 * the last record); the reader on mutated recordings (an error or entries
 * inside the file, never more); redaction of frames a guest sent (the
 * frame keeps its size and, if it decoded, decodes again as the same
 * message).  With X9P_FUZZ_CORPUS (test-fuzz.sh), the mutated recordings
 * are often real ones.
 */
#include <sys/mman.h>

#include "fuzz-common.h"
#include "record/record-read.h"
#include "record/record.h"

#define MAX_FRAME 5000

static GBytes *file_bytes(int fd)
{
	off_t size = lseek(fd, 0, SEEK_END);
	uint8_t *buf = g_malloc((size_t)size + 1);

	if (pread(fd, buf, (size_t)size, 0) != size)
		size = 0;
	return g_bytes_new_take(buf, (size_t)size);
}

static void random_frame(GRand *r, uint8_t *buf, uint32_t *len)
{
	*len = (uint32_t)g_rand_int_range(r, P9_HDR_SIZE, MAX_FRAME);
	for (uint32_t i = 0; i < *len; i++)
		buf[i] = (uint8_t)g_rand_int(r);
	buf[0] = (uint8_t)*len;
	buf[1] = (uint8_t)(*len >> 8);
	buf[2] = buf[3] = 0;
}

static int64_t part_no(int fd)
{
	uint8_t h[X9P_REC_HDR];

	if (pread(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h))
		return -1;
	return h[12] | h[13] << 8 | h[14] << 16 | (int64_t)h[15] << 24;
}

static unsigned appends;         /* recorders that took over a recording */

/* Writes random records through a recorder and reads both files back. */
static void writer_round(GRand *r)
{
	int fd[2] = { memfd_create("rec0", 0), memfd_create("rec1", 0) };
	int keep[2] = { dup(fd[0]), dup(fd[1]) };
	uint64_t limit = (uint64_t)g_rand_int_range(r, 1, 4) << 20;
	struct x9p_rec *rec = x9p_rec_new(fd, limit, false);
	unsigned appended = 0;
	unsigned n = (unsigned)g_rand_int_range(r, 1, 1500);
	GPtrArray *frames = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	uint32_t last_at = 0;
	struct x9p_rec_trace *t[2];

	x9p_rec_worker(rec, "dom1/9pfs/0", "transport=xen rings=2", false);
	x9p_rec_ring(rec, 0, 9, 0, 0, 0, 0);
	for (unsigned i = 0; i < n; i++) {
		uint8_t buf[MAX_FRAME];
		uint32_t len, cut;
		struct iovec iov[3];

		switch (g_rand_int_range(r, 0, 5)) {
		case 0:
			x9p_rec_event(rec, 0, g_rand_int(r), g_rand_int(r));
			break;
		case 1:
			x9p_rec_notify(rec, 1, g_rand_int(r), g_rand_int(r));
			break;
		case 2:
			if (g_rand_int_range(r, 0, 40))
				goto frame;
			/* The worker dies in the middle of a record; the next one
			 * appends to the same files. */
			x9p_rec_free(rec);
			{
				/* The current part: the one with the higher number. */
				int cur = part_no(keep[1]) > part_no(keep[0]);
				off_t size = lseek(keep[cur], 0, SEEK_END);

				if (size > X9P_REC_HDR + 1 && g_rand_boolean(r))
					CHECK(ftruncate(keep[cur], size - g_rand_int_range(r, 1,
						MIN(16, (gint32)(size - X9P_REC_HDR)))) == 0, "ftruncate");
			}
			fd[0] = dup(keep[0]);
			fd[1] = dup(keep[1]);
			rec = x9p_rec_new(fd, limit, false);
			/* As a new worker does first. */
			x9p_rec_worker(rec, "dom1/9pfs/0", "transport=xen rings=2", true);
			x9p_rec_ring(rec, 0, 9, 0, 0, 0, 0);
			appended++;
			break;
		default:
		frame:
			random_frame(r, buf, &len);
			cut = (uint32_t)g_rand_int_range(r, 0, (gint32)len + 1);
			iov[0] = (struct iovec){ buf, cut };
			iov[1] = (struct iovec){ buf + cut, len - cut };
			last_at = frames->len;
			g_ptr_array_add(frames, g_bytes_new(buf, len));
			x9p_rec_frame(rec, g_rand_boolean(r) ? X9P_REC_REQ : X9P_REC_REPLY, 0, last_at,
				      0, iov, 2, P9_DIALECT_2000L);
			break;
		}
	}
	x9p_rec_end(rec, X9P_REC_END_STOP);
	x9p_rec_free(rec);
	for (int i = 0; i < 2; i++) {
		GBytes *b = file_bytes(keep[i]);
		GError *err = NULL;

		t[i] = b && g_bytes_get_size(b) ? x9p_rec_parse(b, &err) : NULL;
		CHECK(t[i] || (i == 1 && g_bytes_get_size(b) == 0), "part file %d does not parse: %s",
		      i, err ? err->message : "empty");
		/* A record a dead writer cut short was cut off by the next one. */
		CHECK(!t[i] || !t[i]->cut_at, "part file %d has a record cut short at %zu after %u "
		      "appends", i, t[i]->cut_at, appended);
		g_clear_error(&err);
		g_bytes_unref(b);
		close(keep[i]);
	}
	for (int i = 0; i < 2 && !failure[0]; i++) {
		if (!t[i])
			continue;
		CHECK(g_array_index(t[i]->entries, struct x9p_rec_entry, 0).type == X9P_REC_WORKER,
		      "part %u does not start with WORKER", t[i]->part);
		for (guint k = 0; k < t[i]->entries->len; k++) {
			const struct x9p_rec_entry *e = &g_array_index(t[i]->entries,
								       struct x9p_rec_entry, k);
			GBytes *want;

			if (e->type != X9P_REC_REQ && e->type != X9P_REC_REPLY)
				continue;
			CHECK(e->f[0] < frames->len, "frame %u was never written", e->f[0]);
			if (e->f[0] >= frames->len)
				break;
			want = g_ptr_array_index(frames, e->f[0]);
			CHECK(e->len == g_bytes_get_size(want) &&
			      memcmp(e->data, g_bytes_get_data(want, NULL), e->len) == 0,
			      "frame %u comes back changed", e->f[0]);
		}
	}
	/* The newest part holds the end. */
	if (!failure[0]) {
		struct x9p_rec_trace *newest = !t[1] || t[0]->part > t[1]->part ? t[0] : t[1];
		const struct x9p_rec_entry *e = &g_array_index(newest->entries, struct x9p_rec_entry,
							       newest->entries->len - 1);

		CHECK(e->type == X9P_REC_END, "the newest part ends with %s, not END",
		      x9p_rec_type_name(e->type));
	}
	x9p_rec_trace_free(t[0]);
	x9p_rec_trace_free(t[1]);
	g_ptr_array_unref(frames);
	(void)last_at;
	appends += appended;
}

static GPtrArray *corpus;        /* GBytes of real recordings' first bytes */

static void load_corpus(void)
{
	const char *dir = g_getenv("X9P_FUZZ_CORPUS"), *name;
	GDir *d = dir && *dir ? g_dir_open(dir, 0, NULL) : NULL;

	corpus = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	while (d && (name = g_dir_read_name(d))) {
		char *path = g_build_filename(dir, name, NULL), *text = NULL;
		gsize len;

		if (g_file_get_contents(path, &text, &len, NULL))
			g_ptr_array_add(corpus, g_bytes_new(text, MIN(len, (gsize)8192)));
		g_free(text);
		g_free(path);
	}
	if (d)
		g_dir_close(d);
}

/* A recording's bytes, mutated: the reader stays inside them. */
static void reader_round(GRand *r)
{
	uint8_t buf[8192];
	int len = X9P_REC_HDR;

	memset(buf, 0, sizeof(buf));
	if (corpus->len && g_rand_boolean(r)) {
		gsize n;
		const void *p = g_bytes_get_data(g_ptr_array_index(corpus,
						 g_rand_int_range(r, 0, (gint32)corpus->len)), &n);

		memcpy(buf, p, n);
		len = (int)n;
		goto mutate;
	}
	memcpy(buf, X9P_REC_MAGIC, 8);
	buf[8] = X9P_REC_VERSION;
	while (len < 6000) {
		uint32_t rl = (uint32_t)g_rand_int_range(r, X9P_REC_HEAD, 600);

		buf[len] = (uint8_t)rl;
		buf[len + 1] = (uint8_t)(rl >> 8);
		buf[len + 4] = (uint8_t)g_rand_int_range(r, 1, X9P_REC_NTYPES);
		for (uint32_t i = X9P_REC_HEAD; i < rl; i++)
			buf[len + i] = (uint8_t)g_rand_int(r);
		len += (int)rl;
	}
mutate:
	for (int m = g_rand_int_range(r, 0, 4); m > 0; m--)
		fuzz_mutate_basic(r, g_rand_int_range(r, 0, FUZZ_BASIC_MUTATIONS), buf, &len,
				  sizeof(buf), 0);
	{
		/* Exactly len bytes, so that ASan sees a read past them. */
		GBytes *b = g_bytes_new(buf, (gsize)len);
		struct x9p_rec_trace *t = x9p_rec_parse(b, NULL);

		if (t) {
			for (guint k = 0; k < t->entries->len; k++) {
				const struct x9p_rec_entry *e = &g_array_index(t->entries,
									       struct x9p_rec_entry, k);
				const uint8_t *base = g_bytes_get_data(t->bytes, NULL);

				CHECK(e->data >= base && e->data + e->len <= base + len,
				      "entry %u lies outside the recording", k);
			}
		}
		x9p_rec_trace_free(t);
		g_bytes_unref(b);
	}
}

/* A well-formed message with names, to redact. */
static uint32_t named_frame(GRand *r, uint8_t *buf, size_t size, enum p9_dialect *d)
{
	static const char *const names[] = { "a", "..", ".", "secret", "x/y/z", "/abs/path",
					     "long-name-long-name-long-name-long-name-long-name" };
	struct p9_msg m = { .tag = (uint16_t)g_rand_int(r) };
	const char *n = names[g_rand_int_range(r, 0, G_N_ELEMENTS(names))];
	uint8_t data[300];
	int len;

	*d = g_rand_boolean(r) ? P9_DIALECT_2000L : P9_DIALECT_2000U;
	switch (g_rand_int_range(r, 0, 6)) {
	case 0:
		m.type = P9_TWALK;
		m.u.twalk.nwname = (uint16_t)g_rand_int_range(r, 0, P9_MAXWELEM + 1);
		for (unsigned i = 0; i < m.u.twalk.nwname; i++)
			m.u.twalk.wname[i] = p9_str_c(names[g_rand_int_range(r, 0, 5)]);
		break;
	case 1:
		*d = P9_DIALECT_2000L;
		m.type = P9_TSYMLINK;
		m.u.tsymlink.name = p9_str_c(n);
		m.u.tsymlink.symtgt = p9_str_c(names[g_rand_int_range(r, 0, 7)]);
		break;
	case 2:
		*d = P9_DIALECT_2000L;
		m.type = P9_TRENAMEAT;
		m.u.trenameat.oldname = p9_str_c(n);
		m.u.trenameat.newname = p9_str_c("new");
		break;
	case 3: {
		struct p9_wr w;
		struct p9_dirent de = { .name = p9_str_c(n), .offset = 7 };

		*d = P9_DIALECT_2000L;
		p9_wr_init(&w, data, sizeof(data));
		p9_putdirent(&w, &de);
		de.name = p9_str_c("..");
		p9_putdirent(&w, &de);
		m.type = P9_RREADDIR;
		m.u.rread.count = (uint32_t)p9_wr_len(&w);
		m.u.rread.data = data;
		break;
	}
	case 4:
		m.type = P9_TWRITE;
		memset(data, 'd', sizeof(data));
		m.u.twrite.count = (uint32_t)g_rand_int_range(r, 0, sizeof(data));
		m.u.twrite.data = data;
		break;
	default:
		*d = P9_DIALECT_2000L;
		m.type = P9_TLCREATE;
		m.u.tlcreate.name = p9_str_c(n);
		break;
	}
	len = p9_encode(buf, size, *d, &m);
	return len > 0 ? (uint32_t)len : 0;
}

static void redact_round(GRand *r)
{
	uint8_t key[16], buf[MAX_FRAME], orig[MAX_FRAME];
	enum p9_dialect d;
	uint32_t len = named_frame(r, buf, sizeof(buf), &d);
	struct p9_msg a, b;
	int la = (int)len, before;

	for (unsigned i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)g_rand_int(r);
	if (!len || g_rand_int_range(r, 0, 3) == 0) {
		random_frame(r, buf, &len);
		la = (int)len;
		d = (enum p9_dialect)g_rand_int_range(r, 0, 3);
	}
	if (g_rand_int_range(r, 0, 4) == 0) {
		fuzz_mutate_basic(r, g_rand_int_range(r, 0, FUZZ_BASIC_MUTATIONS), buf, &la,
				  sizeof(buf), P9_HDR_SIZE);
		len = (uint32_t)MAX(la, 0);
	}
	if (!len)
		return;
	memcpy(orig, buf, len);
	before = p9_decode(orig, len, d, &a);
	{
		/* Exactly len bytes for ASan. */
		uint8_t *f = g_memdup2(buf, len);

		x9p_rec_redact(f, len, d, key);
		CHECK(memcmp(f, orig, MIN(len, (uint32_t)P9_HDR_SIZE)) == 0,
		      "redaction changed the header");
		if (before == 0) {
			CHECK(p9_decode(f, len, d, &b) == 0 && b.type == a.type,
			      "a %s no longer decodes once redacted", p9_type_name(a.type));
			if (a.type == P9_TWRITE)
				CHECK(!memmem(f, len, "ddd", 3), "Twrite data survived redaction");
			if (a.type == P9_TLCREATE && a.u.tlcreate.name.len >= 6)
				CHECK(!memmem(f, len, "secret", 6) && !memmem(f, len, "long-name", 9),
				      "a name survived redaction");
		}
		g_free(f);
	}
}

int main(int argc, char **argv)
{
	gint seconds;
	gint64 seed;
	GRand *r;
	gint64 end;
	unsigned rounds[3] = { 0 };

	fuzz_begin(&argc, &argv, "fuzz-record", "- fuzz recordings: writer, reader, redaction",
		   NULL, &seconds, &seed);
	g_log_set_writer_func(g_log_writer_default, NULL, NULL);
	r = g_rand_new_with_seed((guint32)seed);
	load_corpus();
	end = g_get_monotonic_time() + (gint64)seconds * G_USEC_PER_SEC;
	while (!failure[0] && g_get_monotonic_time() < end) {
		int which = g_rand_int_range(r, 0, 20);

		if (which == 0) {
			writer_round(r);
			rounds[0]++;
		} else if (which < 8) {
			reader_round(r);
			rounds[1]++;
		} else {
			redact_round(r);
			rounds[2]++;
		}
	}
	g_rand_free(r);
	g_ptr_array_unref(corpus);
	if (failure[0])
		return fuzz_failed("fuzz-record", seed, "");
	printf("ok 1 - %u recordings written (%u times taken over by a new writer, perhaps "
	       "after a record cut short) and read back, %u mutated ones read, %u frames "
	       "redacted\n", rounds[0], appends, rounds[1], rounds[2]);
	return 0;
}
