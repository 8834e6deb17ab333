// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Engine fuzzer: random and hostile 9P traffic, in both dialects, into the
 * real engine (worker pool, tag table, Tflush, every handler) over the
 * synthetic driver, in process.  Built with ASan and UBSan and with
 * answered requests poisoned (X9P_POISON), so a handler that touches a
 * request after answering it stops the run.
 *
 * What goes in: every T-message type of 9P2000.L, .u and 9P2000 and a few
 * that exist in none; fids that are unknown, clunked, open, NOFID; names
 * that are empty, ".", "..", with '/', overlong; truncated frames (size
 * field consistent, body short) and inflated counts; byte flips; reused
 * and duplicated in-flight tags; Tflush storms (several flushes of one
 * tag, flushes of flushes, of unknown tags); Tversion in the middle of
 * traffic; Twrite payloads left in "transport buffers".
 *
 * What is checked, besides the sanitizers: every reply is a well-formed
 * frame whose size field matches its bytes and which decodes in the
 * session's dialect; a Tflush is answered Rflush (or EBUSY when its own
 * tag is in flight), never another error; no tag gets more replies than
 * it had requests, and every request gets one unless a Tflush or a
 * Tversion named it; each batch drains; every Twrite payload is given back
 * exactly once; a g_critical from the engine (second reply, handler
 * without reply) is fatal.
 *
 * With X9P_FUZZ_CORPUS naming a directory of recordings (x9p-backend
 * --record; tests/replay/corpus, unpacked by test-fuzz.sh), a quarter of
 * the batches replay a real client's requests, from a session's start or
 * from anywhere in it, some of them damaged.
 *
 *   fuzz-engine [--seconds N] [--seed S] [--batches N]
 *
 * Prints TAP (one result) and, on failure, the seed and batch to replay.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include <stdarg.h>

#include <glib.h>

#include "fuzz-common.h"
#include "9p/p9.h"
#include "core/server.h"
#include "fs/synth.h"
#include "record/record-read.h"
#include "split-fill.h"

/* ---- deterministic randomness ------------------------------------------ */

static uint64_t rng;

static uint64_t rnd(void)
{
	/* xorshift64*: reproducible from the seed alone. */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545F4914F6CDD1DULL;
}

static uint32_t below(uint32_t n)
{
	return n ? (uint32_t)(rnd() % n) : 0;
}

static bool chance(unsigned percent)
{
	return below(100) < percent;
}

/* ---- the capturing transport ---------------------------------------------- */

#define NTAGS 65536
/* Tflush requests use tags of their own, so their replies can be checked. */
#define FLUSH_TAG0 60000u

struct cap {
	GMutex m;
	enum p9_dialect dialect;     /* what replies decode in */
	unsigned replies[NTAGS];
	unsigned errors;
	char first_error[256];
	bool use_fill;
};

static void cap_fail(struct cap *c, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void cap_fail(struct cap *c, const char *fmt, ...)
{
	va_list ap;

	/* Called with c->m held. */
	if (c->errors++ == 0) {
		va_start(ap, fmt);
		g_vsnprintf(c->first_error, sizeof(c->first_error), fmt, ap);
		va_end(ap);
	}
}

static uint16_t tag_of(const uint8_t *b)
{
	return (uint16_t)(b[5] | b[6] << 8);
}

static int cap_send(void *o, const struct iovec *iov, int n)
{
	struct cap *c = o;
	GByteArray *a = g_byte_array_new();
	struct p9_msg m;
	int err;

	for (int i = 0; i < n; i++)
		g_byte_array_append(a, iov[i].iov_base, (guint)iov[i].iov_len);
	g_mutex_lock(&c->m);
	if (a->len < P9_HDR_SIZE || p9_frame_size(a->data) != a->len) {
		cap_fail(c, "reply of %u bytes with size field %u", a->len,
			 a->len >= 4 ? p9_frame_size(a->data) : 0);
	} else {
		uint8_t type = a->data[4];

		err = p9_decode(a->data, a->len,
				type == P9_RVERSION ? P9_DIALECT_2000 : c->dialect, &m);
		/* A Tversion may change the dialect while replies of the old one
		 * are still being produced: accept either layout. */
		if (err < 0)
			for (int d = P9_DIALECT_2000; d <= P9_DIALECT_2000L && err < 0; d++)
				err = p9_decode(a->data, a->len, (enum p9_dialect)d, &m);
		if (err < 0)
			cap_fail(c, "undecodable %s reply (%u bytes): %s", p9_type_name(type),
				 a->len, g_strerror(-err));
		else if (type % 2 == 0)
			cap_fail(c, "reply of T-message type %s", p9_type_name(type));
		else if (tag_of(a->data) >= FLUSH_TAG0 && tag_of(a->data) != P9_NOTAG &&
			 type != P9_RFLUSH && !((type == P9_RLERROR && m.u.rlerror.ecode == EBUSY) ||
						(type == P9_RERROR && m.u.rerror.ecode == EBUSY)))
			cap_fail(c, "Tflush (tag %u) answered %s", tag_of(a->data), p9_type_name(type));
		c->replies[tag_of(a->data)]++;
	}
	g_mutex_unlock(&c->m);
	g_byte_array_free(a, TRUE);
	return 0;
}

/* Like a ring: the payload lands in two segments of the transport's own. */
static int cap_send_fill(void *o, uint8_t *hdr, size_t hdrlen, size_t max,
			 x9p_fill_fn fill, void *arg)
{
	return x9p_test_send_fill_split(hdr, hdrlen, max, fill, arg, 3, cap_send, o);
}

static const struct x9p_transport_ops plain_ops = { .send = cap_send };
static const struct x9p_transport_ops fill_ops = { .send = cap_send, .send_fill = cap_send_fill };

/* ---- the request generator ------------------------------------------------- */

static const char *const names[] = {
	"file", "dir", "big", "blocker", "w00", "ctl", "release", "new", "n2", "x",
	"", ".", "..", "a/b", "/", "entry-00001", "w01",
};

static char longname[300];

static struct p9_str pick_name(void)
{
	if (chance(3))
		return (struct p9_str){ longname, (uint16_t)(1 + below(sizeof(longname) - 1)) };
	return p9_str_c(names[below(G_N_ELEMENTS(names))]);
}

static uint32_t pick_fid(void)
{
	switch (below(20)) {
	case 0: return P9_NOFID;
	case 1: return (uint32_t)rnd();
	case 2: return 1000 + below(50000);
	default: return below(8);
	}
}

static uint64_t pick_u64(void)
{
	switch (below(8)) {
	case 0: return 0;
	case 1: return UINT64_MAX;
	case 2: return (uint64_t)INT64_MAX + below(3);
	case 3: return rnd();
	default: return below(70000);
	}
}

static uint32_t pick_count(void)
{
	switch (below(6)) {
	case 0: return 0;
	case 1: return UINT32_MAX;
	case 2: return (uint32_t)rnd();
	default: return below(9000);
	}
}

static const uint8_t ttypes[] = {
	P9_TSTATFS, P9_TLOPEN, P9_TLCREATE, P9_TSYMLINK, P9_TMKNOD, P9_TRENAME,
	P9_TREADLINK, P9_TGETATTR, P9_TSETATTR, P9_TXATTRWALK, P9_TXATTRCREATE,
	P9_TREADDIR, P9_TFSYNC, P9_TLOCK, P9_TGETLOCK, P9_TLINK, P9_TMKDIR,
	P9_TRENAMEAT, P9_TUNLINKAT, P9_TAUTH, P9_TATTACH, P9_TWALK, P9_TOPEN,
	P9_TCREATE, P9_TREAD, P9_TWRITE, P9_TCLUNK, P9_TREMOVE, P9_TSTAT, P9_TWSTAT,
};

static uint8_t payload[9000];

/* Fills m with a random T-message of `type`. */
static void gen(struct p9_msg *m, uint8_t type)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	switch (type) {
	case P9_TVERSION: {
		static const char *const v[] = { "9P2000.L", "9P2000.u", "9P2000", "9P2000.x", "9P", "" };
		static const uint32_t ms[] = { 0, 100, 512, 4096, 8192, 65536, 1u << 20, UINT32_MAX };
		m->u.version.version = p9_str_c(v[below(G_N_ELEMENTS(v))]);
		m->u.version.msize = ms[below(G_N_ELEMENTS(ms))];
		break;
	}
	case P9_TAUTH:
		m->u.tauth.afid = pick_fid();
		m->u.tauth.uname = pick_name();
		m->u.tauth.aname = pick_name();
		m->u.tauth.n_uname = chance(50) ? P9_NONUNAME : below(2000);
		break;
	case P9_TATTACH:
		m->u.tattach.fid = pick_fid();
		m->u.tattach.afid = chance(80) ? P9_NOFID : pick_fid();
		m->u.tattach.uname = p9_str_c(chance(50) ? "root" : "nobody");
		m->u.tattach.aname = chance(80) ? p9_str_c("") : pick_name();
		m->u.tattach.n_uname = chance(50) ? 0 : (chance(50) ? P9_NONUNAME : below(70000));
		break;
	case P9_TWALK:
		m->u.twalk.fid = pick_fid();
		m->u.twalk.newfid = pick_fid();
		m->u.twalk.nwname = (uint16_t)below(chance(90) ? 4 : P9_MAXWELEM + 1);
		for (unsigned i = 0; i < m->u.twalk.nwname; i++)
			m->u.twalk.wname[i] = pick_name();
		break;
	case P9_TOPEN:
		m->u.topen.fid = pick_fid();
		m->u.topen.mode = (uint8_t)rnd();
		break;
	case P9_TCREATE:
		m->u.tcreate.fid = pick_fid();
		m->u.tcreate.name = pick_name();
		m->u.tcreate.perm = chance(50) ? 0644 : (uint32_t)rnd();
		m->u.tcreate.mode = (uint8_t)rnd();
		m->u.tcreate.extension = chance(70) ? p9_str_c("") : pick_name();
		break;
	case P9_TREAD:
	case P9_TREADDIR:
		m->u.tread.fid = pick_fid();
		m->u.tread.offset = pick_u64();
		m->u.tread.count = pick_count();
		break;
	case P9_TWRITE:
		m->u.twrite.fid = pick_fid();
		m->u.twrite.offset = pick_u64();
		m->u.twrite.count = below(sizeof(payload));
		m->u.twrite.data = payload;
		break;
	case P9_TCLUNK:
	case P9_TREMOVE:
	case P9_TSTAT:
	case P9_TSTATFS:
	case P9_TREADLINK:
		m->u.tfid.fid = pick_fid();
		break;
	case P9_TWSTAT: {
		struct p9_stat *st = &m->u.twstat.stat;

		m->u.twstat.fid = pick_fid();
		st->type = chance(80) ? 0xFFFF : (uint16_t)rnd();
		st->dev = chance(80) ? UINT32_MAX : (uint32_t)rnd();
		st->qid.type = 0xFF;
		st->qid.version = UINT32_MAX;
		st->qid.path = UINT64_MAX;
		st->mode = chance(60) ? UINT32_MAX : (uint32_t)rnd();
		st->atime = chance(70) ? UINT32_MAX : (uint32_t)rnd();
		st->mtime = chance(70) ? UINT32_MAX : (uint32_t)rnd();
		st->length = chance(70) ? UINT64_MAX : pick_u64();
		st->name = chance(60) ? p9_str_c("") : pick_name();
		st->uid = p9_str_c("");
		st->gid = p9_str_c("");
		st->muid = p9_str_c("");
		st->extension = p9_str_c("");
		st->n_uid = chance(70) ? UINT32_MAX : below(2000);
		st->n_gid = chance(70) ? UINT32_MAX : below(2000);
		st->n_muid = UINT32_MAX;
		break;
	}
	case P9_TLOPEN:
		m->u.tlopen.fid = pick_fid();
		m->u.tlopen.flags = chance(70) ? below(3) : (uint32_t)rnd();
		break;
	case P9_TLCREATE:
		m->u.tlcreate.fid = pick_fid();
		m->u.tlcreate.name = pick_name();
		m->u.tlcreate.flags = chance(70) ? 2 : (uint32_t)rnd();
		m->u.tlcreate.mode = chance(70) ? 0644 : (uint32_t)rnd();
		m->u.tlcreate.gid = below(3);
		break;
	case P9_TSYMLINK:
		m->u.tsymlink.fid = pick_fid();
		m->u.tsymlink.name = pick_name();
		m->u.tsymlink.symtgt = pick_name();
		m->u.tsymlink.gid = below(3);
		break;
	case P9_TMKNOD:
		m->u.tmknod.dfid = pick_fid();
		m->u.tmknod.name = pick_name();
		m->u.tmknod.mode = chance(50) ? 010644 : (uint32_t)rnd();
		m->u.tmknod.major = below(300);
		m->u.tmknod.minor = below(300);
		break;
	case P9_TRENAME:
		m->u.trename.fid = pick_fid();
		m->u.trename.dfid = pick_fid();
		m->u.trename.name = pick_name();
		break;
	case P9_TGETATTR:
		m->u.tgetattr.fid = pick_fid();
		m->u.tgetattr.request_mask = chance(50) ? 0x3fff : rnd();
		break;
	case P9_TSETATTR: {
		struct p9_setattr *a = &m->u.tsetattr.attr;

		m->u.tsetattr.fid = pick_fid();
		a->valid = (uint32_t)rnd() & (chance(50) ? 0x1ff : UINT32_MAX);
		a->mode = chance(50) ? 0644 : (uint32_t)rnd();
		a->uid = below(3);
		a->gid = below(3);
		a->size = pick_u64();
		a->atime_sec = pick_u64();
		a->atime_nsec = pick_u64();
		a->mtime_sec = pick_u64();
		a->mtime_nsec = pick_u64();
		break;
	}
	case P9_TXATTRWALK:
		m->u.txattrwalk.fid = pick_fid();
		m->u.txattrwalk.newfid = pick_fid();
		m->u.txattrwalk.name = chance(50) ? p9_str_c("user.x") : pick_name();
		break;
	case P9_TXATTRCREATE:
		m->u.txattrcreate.fid = pick_fid();
		m->u.txattrcreate.name = chance(50) ? p9_str_c("user.x") : pick_name();
		m->u.txattrcreate.attr_size = chance(70) ? below(100) : pick_u64();
		m->u.txattrcreate.flags = below(4);
		break;
	case P9_TFSYNC:
		m->u.tfsync.fid = pick_fid();
		m->u.tfsync.datasync = below(2);
		break;
	case P9_TLOCK:
	case P9_TGETLOCK:
		m->u.tlock.fid = pick_fid();
		m->u.tlock.lock.type = (uint8_t)below(4);
		m->u.tlock.lock.flags = below(3);
		m->u.tlock.lock.start = pick_u64();
		m->u.tlock.lock.length = pick_u64();
		m->u.tlock.lock.proc_id = below(4);
		m->u.tlock.lock.client_id = chance(80) ? p9_str_c("guest") : pick_name();
		break;
	case P9_TLINK:
		m->u.tlink.dfid = pick_fid();
		m->u.tlink.fid = pick_fid();
		m->u.tlink.name = pick_name();
		break;
	case P9_TMKDIR:
		m->u.tmkdir.dfid = pick_fid();
		m->u.tmkdir.name = pick_name();
		m->u.tmkdir.mode = chance(70) ? 0755 : (uint32_t)rnd();
		m->u.tmkdir.gid = below(3);
		break;
	case P9_TRENAMEAT:
		m->u.trenameat.olddirfid = pick_fid();
		m->u.trenameat.oldname = pick_name();
		m->u.trenameat.newdirfid = pick_fid();
		m->u.trenameat.newname = pick_name();
		break;
	case P9_TUNLINKAT:
		m->u.tunlinkat.dirfd = pick_fid();
		m->u.tunlinkat.name = pick_name();
		m->u.tunlinkat.flags = chance(70) ? (chance(50) ? 0 : 0x200) : (uint32_t)rnd();
		break;
	default:
		break;
	}
}

/* ---- a batch ---------------------------------------------------------------- */

struct batch {
	struct cap *cap;
	struct x9p_session *s;
	struct x9p_fs *fs;
	GPtrArray *payloads;         /* Twrite data left in "transport buffers" */
	unsigned sent[NTAGS];        /* requests per tag */
	bool may_lack[NTAGS];        /* named by a Tflush or overtaken by a Tversion */
	uint16_t tag, flush_tag;
	enum p9_dialect dialect;
	unsigned messages;
};

static gint releases_due, releases_done;

static void release_payload(void *arg)
{
	(void)arg;
	g_atomic_int_inc(&releases_done);
}

static void submit_frame(struct batch *b, uint8_t *frame, size_t len)
{
	uint16_t tag = tag_of(frame);
	uint8_t type = frame[4];
	bool whole = p9_frame_size(frame) == len;

	b->messages++;
	/* A frame larger than the negotiated msize is a transport fault: the
	 * transport closes the connection instead of submitting it. */
	if (len > x9p_session_max_frame(b->s))
		return;
	/* A frame whose size field disagrees with its length is dropped
	 * unanswered (transports close the connection on it, too). */
	if (whole) {
		b->sent[tag]++;
		if (type == P9_TVERSION) {
			/* What is in flight may be cancelled without a reply. */
			for (unsigned t = 0; t < NTAGS; t++)
				if (b->sent[t])
					b->may_lack[t] = true;
		}
		if (type == P9_TFLUSH && len >= P9_HDR_SIZE + 2)
			b->may_lack[frame[7] | frame[8] << 8] = true;
	}
	if (type == P9_TWRITE && whole && len >= 23 && chance(40)) {
		/* size type tag fid offset count: 23 bytes, then the payload,
		 * which stays in the "transport's" buffers, in two pieces. */
		size_t rest = len - 23, cut = rest ? below((uint32_t)rest) : 0;
		uint8_t *copy = g_memdup2(frame + 23, rest + 1);
		struct iovec d[2] = { { copy, cut }, { copy + cut, rest - cut } };

		g_ptr_array_add(b->payloads, copy);
		g_atomic_int_inc(&releases_due);
		x9p_session_submit_data(b->s, g_memdup2(frame, 23), 23, d, 2, release_payload, NULL,
					chance(50));
		return;
	}
	/* Half the time as a transport that runs a lone request itself. */
	x9p_session_submit_inline(b->s, g_memdup2(frame, len), len, chance(50));
}

/* Damages an encoded frame in one of the ways a hostile client would. */
static size_t mutate(uint8_t *f, size_t len, size_t cap)
{
	switch (below(5)) {
	case 0: /* truncated, size field consistent: the body is short */
		len = P9_HDR_SIZE + below((uint32_t)(len - P9_HDR_SIZE + 1));
		x9p_test_put_le32(f, (uint32_t)len);
		break;
	case 1: /* size field inflated or shrunk: a transport fault, dropped */
		x9p_test_put_le32(f, (uint32_t)rnd());
		break;
	case 2: /* bytes flipped in the body (counts, lengths, fids) */
		for (unsigned i = 0, n = 1 + below(4); i < n && len > P9_HDR_SIZE; i++)
			f[P9_HDR_SIZE + below((uint32_t)(len - P9_HDR_SIZE))] ^= (uint8_t)(1u << below(8));
		break;
	case 3: /* trailing garbage, size field consistent */
		for (unsigned n = 1 + below(64); n-- && len < cap;)
			f[len++] = (uint8_t)rnd();
		x9p_test_put_le32(f, (uint32_t)len);
		break;
	default: /* a 16-bit length inside the body made huge */
		if (len > P9_HDR_SIZE + 6) {
			size_t at = P9_HDR_SIZE + below((uint32_t)(len - P9_HDR_SIZE - 1));
			f[at] = 0xff;
			f[at + 1] = 0xff;
		}
		break;
	}
	return len;
}

static enum p9_dialect asked_dialect(const struct p9_msg *m, enum p9_dialect cur)
{
	struct p9_str v = m->u.version.version;

	if (m->u.version.msize < 512)
		return cur;
	if (v.len == 8 && !memcmp(v.s, "9P2000.L", 8))
		return P9_DIALECT_2000L;
	if (v.len == 8 && !memcmp(v.s, "9P2000.u", 8))
		return P9_DIALECT_2000U;
	if (v.len >= 6 && !memcmp(v.s, "9P2000", 6) && (v.len == 6 || v.s[6] == '.'))
		return P9_DIALECT_2000;
	return cur;
}

static uint16_t next_tag(struct batch *b)
{
	if (chance(4))
		return (uint16_t)below(b->tag + 1u);     /* reused, maybe in flight */
	if (++b->tag >= FLUSH_TAG0)
		b->tag = 0;
	return b->tag;
}

static void send_msg(struct batch *b, struct p9_msg *m, uint16_t tag, bool may_mutate)
{
	static uint8_t frame[16384];
	enum p9_dialect d = chance(97) ? b->dialect : (enum p9_dialect)below(3);
	int n;

	m->tag = tag;
	n = p9_encode(frame, sizeof(frame) - 64, d, m);
	if (n < 0)
		return;
	if (may_mutate && chance(8))
		n = (int)mutate(frame, (size_t)n, sizeof(frame));
	if (m->type == P9_TVERSION && p9_frame_size(frame) == (uint32_t)n) {
		b->dialect = asked_dialect(m, b->dialect);
		submit_frame(b, frame, (size_t)n);
		g_mutex_lock(&b->cap->m);
		b->cap->dialect = b->dialect;
		g_mutex_unlock(&b->cap->m);
		return;
	}
	submit_frame(b, frame, (size_t)n);
}

static void send_raw_unknown(struct batch *b)
{
	static const uint8_t types[] = { 0, 1, 6, 7, 101, 106, 107, 109, 200, 255 };
	uint8_t f[64];
	size_t len = P9_HDR_SIZE + below(40);
	uint16_t tag = next_tag(b);

	for (size_t i = P9_HDR_SIZE; i < len; i++)
		f[i] = (uint8_t)rnd();
	x9p_test_put_le32(f, (uint32_t)len);
	f[4] = types[below(G_N_ELEMENTS(types))];
	f[5] = (uint8_t)tag;
	f[6] = (uint8_t)(tag >> 8);
	submit_frame(b, f, len);
}

static void send_flushes(struct batch *b)
{
	struct p9_msg m = { .type = P9_TFLUSH };
	unsigned n = chance(10) ? 2 + below(6) : 1;   /* a storm now and then */
	uint16_t old;

	switch (below(6)) {
	case 0: old = P9_NOTAG; break;
	case 1: old = (uint16_t)(FLUSH_TAG0 + below(NTAGS - FLUSH_TAG0 - 1)); break; /* a flush */
	case 2: old = (uint16_t)rnd(); break;
	default: old = b->tag; break;                 /* the latest request */
	}
	for (unsigned i = 0; i < n; i++) {
		uint16_t tag = (uint16_t)(FLUSH_TAG0 + b->flush_tag++ % (NTAGS - FLUSH_TAG0 - 1));

		m.u.tflush.oldtag = chance(5) ? tag : old;  /* itself, sometimes */
		send_msg(b, &m, tag, false);
	}
}

/* Attach and walk fids 1..7 to real files, so handlers get past lookups. */
static void send_setup(struct batch *b)
{
	static const char *const paths[] = { "file", "dir", "big", "w00", "blocker", "ctl" };
	struct p9_msg m;

	if (chance(30)) {
		memset(&m, 0, sizeof(m));
		m.type = P9_TATTACH;
		m.u.tattach.fid = 0;
		m.u.tattach.afid = P9_NOFID;
		m.u.tattach.uname = p9_str_c("root");
		m.u.tattach.aname = p9_str_c("");
		m.u.tattach.n_uname = 0;
		send_msg(b, &m, next_tag(b), false);
		return;
	}
	memset(&m, 0, sizeof(m));
	m.type = P9_TWALK;
	m.u.twalk.fid = 0;
	m.u.twalk.newfid = 1 + below(7);
	m.u.twalk.nwname = (uint16_t)below(2);
	m.u.twalk.wname[0] = p9_str_c(paths[below(G_N_ELEMENTS(paths))]);
	send_msg(b, &m, next_tag(b), false);
	if (chance(50)) {
		memset(&m, 0, sizeof(m));
		m.type = b->dialect == P9_DIALECT_2000L ? P9_TLOPEN : P9_TOPEN;
		if (m.type == P9_TLOPEN) {
			m.u.tlopen.fid = 1 + below(7);
			m.u.tlopen.flags = below(3) | (chance(30) ? 0x10000 : 0); /* O_DIRECTORY */
		} else {
			m.u.topen.fid = 1 + below(7);
			m.u.topen.mode = (uint8_t)below(3);
		}
		send_msg(b, &m, next_tag(b), false);
	}
}

/* The requests of the corpus's recordings, each recording's in order. */
static GPtrArray *corpus;        /* GPtrArray of GBytes, per recording */

static void load_corpus(void)
{
	const char *dir = g_getenv("X9P_FUZZ_CORPUS"), *name;
	GDir *d = dir && *dir ? g_dir_open(dir, 0, NULL) : NULL;

	corpus = g_ptr_array_new_with_free_func((GDestroyNotify)g_ptr_array_unref);
	while (d && (name = g_dir_read_name(d))) {
		char *path = g_build_filename(dir, name, NULL);
		struct x9p_rec_trace *t = g_str_has_suffix(name, ".x9prec") ?
					  x9p_rec_load(path, NULL) : NULL;
		GPtrArray *reqs = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);

		for (guint i = 0; t && i < t->entries->len; i++) {
			const struct x9p_rec_entry *e = &g_array_index(t->entries, struct x9p_rec_entry, i);

			if (e->type == X9P_REC_REQ && e->len >= P9_HDR_SIZE)
				g_ptr_array_add(reqs, g_bytes_new(e->data, e->len));
		}
		if (reqs->len)
			g_ptr_array_add(corpus, reqs);
		else
			g_ptr_array_unref(reqs);
		x9p_rec_trace_free(t);
		g_free(path);
	}
	if (d)
		g_dir_close(d);
}

/* A stretch of a recorded session, a few requests damaged. */
static void send_recorded(struct batch *b, unsigned nmsg)
{
	GPtrArray *reqs = g_ptr_array_index(corpus, below(corpus->len));
	guint from = chance(50) ? 0 : below(reqs->len);

	for (guint i = from; i < reqs->len && i < from + nmsg; i++) {
		GBytes *req = g_ptr_array_index(reqs, i);
		gsize len;
		const uint8_t *f = g_bytes_get_data(req, &len);
		/* submit_frame() may read one byte past a frame (as past
		 * send_msg's buffer). */
		uint8_t *copy = g_malloc(len + 65);

		memcpy(copy, f, len);
		if (chance(5))
			len = mutate(copy, len, len + 64);
		if (len >= P9_HDR_SIZE && copy[4] == P9_TVERSION &&
		    p9_frame_size(copy) == len) {
			struct p9_msg m;

			/* As send_msg: replies are checked in the asked dialect. */
			if (p9_decode(copy, len, b->dialect, &m) == 0) {
				b->dialect = asked_dialect(&m, b->dialect);
				submit_frame(b, copy, len);
				g_mutex_lock(&b->cap->m);
				b->cap->dialect = b->dialect;
				g_mutex_unlock(&b->cap->m);
				g_free(copy);
				continue;
			}
		}
		if (len >= P9_HDR_SIZE)
			submit_frame(b, copy, len);
		g_free(copy);
	}
}

static bool run_batch(unsigned nmsg, char *why, size_t whylen)
{
	static const uint32_t msizes[] = { 4096, 8192, 65536, 1u << 20 };
	struct cap *cap = g_new0(struct cap, 1);
	struct batch *b = g_new0(struct batch, 1);
	GError *err = NULL;
	struct x9p_server_cfg cfg = { 0 };
	struct x9p_server *srv;
	struct p9_msg m;
	bool ok = true;

	g_mutex_init(&cap->m);
	cap->dialect = P9_DIALECT_2000L;
	b->cap = cap;
	b->dialect = P9_DIALECT_2000L;
	b->payloads = g_ptr_array_new_with_free_func(g_free);
	b->fs = x9p_synth_new(chance(20) ? "bigdir=300,ro" : "bigdir=300", &err);
	g_assert_no_error(err);
	cfg.fs = b->fs;
	cfg.workers = 1 + below(8);
	cfg.max_fids = chance(20) ? 1 + below(8) : 0;
	cfg.max_open_files = chance(20) ? 1 + below(4) : 0;
	cfg.max_locks = chance(20) ? 1 + below(8) : 0;
	cfg.max_xattr_bytes = chance(20) ? 1 + below(2000) : 0;
	cfg.keep_fids_on_version = chance(20);
	srv = x9p_server_new(&cfg);
	b->s = x9p_session_new(srv, chance(50) ? &fill_ops : &plain_ops, cap,
			       msizes[below(G_N_ELEMENTS(msizes))], "fuzz");

	if (corpus->len && chance(25)) {
		/* A real client's session: it brings its own Tversion. */
		send_recorded(b, nmsg);
		nmsg = 0;
	} else if (chance(95)) {
		/* Mostly a proper start; sometimes none at all. */
		memset(&m, 0, sizeof(m));
		m.type = P9_TVERSION;
		m.u.version.version = p9_str_c(chance(60) ? "9P2000.L" : chance(70) ? "9P2000.u" : "9P2000");
		m.u.version.msize = 65536;
		send_msg(b, &m, P9_NOTAG, false);
		send_setup(b);
	}
	for (unsigned i = 0; i < nmsg; i++) {
		unsigned what = below(100);

		if (what < 2) {
			gen(&m, P9_TVERSION);
			send_msg(b, &m, chance(50) ? P9_NOTAG : next_tag(b), true);
		} else if (what < 10) {
			send_flushes(b);
		} else if (what < 22) {
			send_setup(b);
		} else if (what < 24) {
			send_raw_unknown(b);
		} else {
			gen(&m, ttypes[below(G_N_ELEMENTS(ttypes))]);
			send_msg(b, &m, next_tag(b), true);
		}
		if (chance(2))
			x9p_synth_release(b->fs);
	}

	x9p_synth_release(b->fs);
	if (!x9p_session_drain(b->s, 2 * G_USEC_PER_SEC, 10 * G_USEC_PER_SEC)) {
		g_snprintf(why, whylen, "the session did not drain");
		ok = false;
	}
	x9p_session_close(b->s);
	x9p_server_free(srv);

	g_mutex_lock(&cap->m);
	if (ok && cap->errors) {
		g_snprintf(why, whylen, "%u bad replies; first: %s", cap->errors, cap->first_error);
		ok = false;
	}
	for (unsigned t = 0; ok && t < NTAGS; t++) {
		if (cap->replies[t] > b->sent[t]) {
			g_snprintf(why, whylen, "tag %u: %u replies to %u requests", t,
				   cap->replies[t], b->sent[t]);
			ok = false;
		} else if (cap->replies[t] < b->sent[t] && !b->may_lack[t]) {
			g_snprintf(why, whylen, "tag %u: %u replies to %u requests, none flushed", t,
				   cap->replies[t], b->sent[t]);
			ok = false;
		}
	}
	g_mutex_unlock(&cap->m);
	if (ok && g_atomic_int_get(&releases_due) != g_atomic_int_get(&releases_done)) {
		g_snprintf(why, whylen, "%d Twrite payloads given, %d given back",
			   g_atomic_int_get(&releases_due), g_atomic_int_get(&releases_done));
		ok = false;
	}
	g_ptr_array_free(b->payloads, TRUE);
	g_mutex_clear(&cap->m);
	g_free(cap);
	g_free(b);
	return ok;
}

/* ---- main ---------------------------------------------------------------------- */

static GLogWriterOutput quiet_writer(GLogLevelFlags level, const GLogField *fields, gsize n,
				     gpointer user)
{
	/* The engine logs every malformed message; only its own bugs matter here. */
	if (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR)) {
		for (gsize i = 0; i < n; i++)
			if (!strcmp(fields[i].key, "MESSAGE"))
				fprintf(stderr, "fuzz-engine: engine bug: %s\n", (const char *)fields[i].value);
		fflush(stderr);
		abort();
	}
	return G_LOG_WRITER_HANDLED;
}

static uint64_t splitmix(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ULL;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
	return (x ^ (x >> 31)) | 1;
}

int main(int argc, char **argv)
{
	gint seconds, batches = 0, first = 0, per_batch = 400;
	gint64 seed;
	GOptionEntry opts[] = {
		{ "batches", 0, 0, G_OPTION_ARG_INT, &batches, "run N batches instead", "N" },
		{ "first-batch", 0, 0, G_OPTION_ARG_INT, &first, "start at batch N (replay)", "N" },
		{ "messages", 0, 0, G_OPTION_ARG_INT, &per_batch, "messages per batch (default 400)", "N" },
		{ NULL },
	};
	gint64 end;
	char why[sizeof(failure) - 32] = "", replay[64];
	int i;

	fuzz_begin(&argc, &argv, "fuzz-engine", "- fuzz the 9P engine in process", opts, &seconds,
		   &seed);
	g_log_set_writer_func(quiet_writer, NULL, NULL);
	memset(longname, 'n', sizeof(longname));
	load_corpus();
	for (size_t k = 0; k < sizeof(payload); k++)
		payload[k] = (uint8_t)k;

	end = g_get_monotonic_time() + (gint64)seconds * G_USEC_PER_SEC;
	unsigned long msgs = 0;
	for (i = first; batches ? i < first + batches : g_get_monotonic_time() < end; i++) {
		rng = splitmix((uint64_t)seed + (uint64_t)i);
		if (!run_batch((unsigned)per_batch, why, sizeof(why))) {
			snprintf(failure, sizeof(failure), "engine fuzz: batch %d: %s", i, why);
			snprintf(replay, sizeof(replay), " --first-batch %d --batches 1", i);
			return fuzz_failed("fuzz-engine", seed, replay);
		}
		msgs += (unsigned long)per_batch;
	}
	printf("ok 1 - engine fuzz: %d batches, about %lu messages (%u recorded sessions among the "
	       "seeds), every reply well-formed and accounted for\n", i - first, msgs, corpus->len);
	return 0;
}
