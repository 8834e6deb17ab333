// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * x9p-replay: replays recordings (x9p-backend --record) against the build.
 *
 *   x9p-replay [--verbose] RECORDING...   replay each; the last line is
 *       "replay: N traces, M requests, all matched" or the divergences
 *   x9p-replay --dump RECORDING           list its records
 *   x9p-replay --seed DIR RECORDING       store DIR (the export as it was
 *       when the recording began) in the recording
 *   x9p-replay --mutate SECONDS [--seed-rng S] RECORDING...
 *       the ring fuzzer: replays the recordings over and over with some
 *       requests damaged at the ring level (bytes, size fields, producer
 *       and consumer indexes, requests published in part); replies are
 *       not compared, but the daemon must live and the device's worker
 *       must either go on or close the device with a fault, never die
 *
 * A replay starts the build's x9p-backend (X9P_BUILD, default build/) on
 * the simulated hypervisor (tests/xen-sim), gives it a device on a fresh
 * export (the recording's seed unpacked, or empty) with the recorded
 * options, and plays the frontend: the recorded requests go on the rings
 * in the recorded order and with the recorded window (a request goes out
 * once every reply the frontend had before it has come back), at the same
 * ring positions, and a broken index is broken again.  Each reply is
 * compared with the recorded one (compare.c); the first divergence is
 * shown with the requests before it.  A recording that ends in a fault
 * must end in the same fault.
 *
 * A recording of x9p-vhost's virtqueue (transport=vhost-user or
 * vfio-user) replays the same way against the build's x9p-vhost, played
 * over vhost-user (replay-vq.h); the ring fuzzer leaves those out.
 *
 * Exit status: 0 all matched, 1 a divergence, 2 a recording unusable.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "record/record-read.h"
#include "replay-vq.h"
#include "replay.h"
#include "tests/xen-sim/sim.h"

#define WAIT_MS 20000            /* a reply that does not come: a divergence */
#define VQ_MAX_FRAME (4u << 20)  /* a virtqueue request's largest: room for it in guest memory */

struct req {
	const struct x9p_rec_entry *e;
	const struct x9p_rec_entry *reply;  /* recorded; NULL: none (flushed, cut) */
	uint16_t tag;
	bool sent, answered;
	bool recheck;                /* its reply differed; asked again once its
				      * concurrent changes are done (below) */
	GArray *changes;             /* with recheck: those requests (indexes) */
	uint8_t *got;                /* with recheck: the reply it had */
	size_t got_len;
	uint8_t *frame;              /* as sent */
};

struct run {
	const char *name;
	struct x9p_rec_trace *t;
	GArray *reqs;                /* struct req */
	struct sim *s;
	struct fe *fe;
	struct replay_vq *vq;        /* a virtqueue recording's (x9p-vhost) */
	unsigned nrings, domid;
	uint32_t ring_size;          /* bytes per direction of the recorded rings */
	enum p9_dialect dialect;
	struct replay_map *map;
	GHashTable *fid_dir;         /* fid -> 1 when it names a directory (9P2000.u reads) */
	int inflight[65536];         /* tag -> index into reqs, or -1 */
	uint32_t rec_in_prod[256];   /* the recording's reply producer, per ring */
	bool broken[256];            /* we broke the ring's in_cons: read no more */
	char *divergence;
	unsigned last_sent;
	bool verbose;
	GRand *mutate;               /* --mutate: damage requests, compare nothing */
	unsigned damaged, budget;
	GArray *outstanding;         /* indexes of requests sent, not answered */
	int *req_of;                 /* entry index -> request index, or -1 */
	GArray *rechecks;            /* requests to ask again */
	unsigned rechecked, concurrent;
	int extra_tag;               /* an extra request's tag in flight, or -1 */
	uint8_t *extra_reply;
	size_t extra_len;
};

static gboolean opt_verbose, opt_dump;
static char *opt_seed;
static gint opt_mutate;
static gint64 opt_rng_seed;

static const GOptionEntry entries[] = {
	{ "verbose", 'v', 0, G_OPTION_ARG_NONE, &opt_verbose, "Show every request", NULL },
	{ "dump", 0, 0, G_OPTION_ARG_NONE, &opt_dump, "List the records of a recording", NULL },
	{ "seed", 0, 0, G_OPTION_ARG_FILENAME, &opt_seed,
	  "Store DIR, the export as the recording began, in the recording", "DIR" },
	{ "mutate", 0, 0, G_OPTION_ARG_INT, &opt_mutate,
	  "Fuzz the rings for SECONDS, seeded by the recordings", "SECONDS" },
	{ "seed-rng", 0, 0, G_OPTION_ARG_INT64, &opt_rng_seed,
	  "--mutate's seed (default: from the clock)", "S" },
	G_OPTION_ENTRY_NULL
};

static uint16_t tag_of(const uint8_t *f)
{
	return (uint16_t)(f[5] | f[6] << 8);
}

static void put_bytes(struct fe_ring *ring, uint32_t at, const uint8_t *p, uint32_t len)
{
	uint8_t *out = ring->data + ring->size;

	for (uint32_t b = 0; b < len; b++)
		out[(at + b) & (ring->size - 1)] = p[b];
}

/* ---- the recording ---------------------------------------------------- */

/* The value of key in a WORKER record's options, or def. */
static unsigned option(const struct x9p_rec_entry *w, const char *key, unsigned def)
{
	char *text = g_strndup((const char *)w->data, w->len);
	char *nl = strchr(text, '\n');
	char **kv = g_strsplit(nl ? nl + 1 : "", " ", -1);
	unsigned v = def;

	for (char **p = kv; *p; p++) {
		size_t n = strlen(key);

		if (strncmp(*p, key, n) == 0 && (*p)[n] == '=')
			v = (unsigned)strtoul(*p + n + 1, NULL, 10);
	}
	g_strfreev(kv);
	g_free(text);
	return v;
}

static char *option_str(const struct x9p_rec_entry *w, const char *key)
{
	char *text = g_strndup((const char *)w->data, w->len);
	char *nl = strchr(text, '\n');
	char **kv = g_strsplit(nl ? nl + 1 : "", " ", -1);
	char *v = NULL;

	for (char **p = kv; *p && !v; p++)
		if (g_str_has_prefix(*p, key) && (*p)[strlen(key)] == '=')
			v = g_strdup(*p + strlen(key) + 1);
	g_strfreev(kv);
	g_free(text);
	return v;
}

/* Pairs each request with its recorded reply. */
static bool index_requests(struct run *r, GError **err)
{
	int open_tag[65536];
	guint n = r->t->entries->len;
	bool seen_worker = false;

	memset(open_tag, -1, sizeof(open_tag));
	r->reqs = g_array_new(FALSE, TRUE, sizeof(struct req));
	r->req_of = g_new(int, n);
	for (guint i = 0; i < n; i++)
		r->req_of[i] = -1;
	for (guint i = 0; i < n; i++) {
		const struct x9p_rec_entry *e = &g_array_index(r->t->entries, struct x9p_rec_entry, i);

		if (e->type == X9P_REC_WORKER && seen_worker)
			break;          /* a next worker: not replayed */
		seen_worker |= e->type == X9P_REC_WORKER;
		if ((e->type == X9P_REC_REQ || e->type == X9P_REC_FAULT) && e->ring >= r->nrings) {
			g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL,
				    "offset %zu: a %s on ring %u of %u", e->offset,
				    x9p_rec_type_name(e->type), e->ring, r->nrings);
			return false;
		}
		if (e->type == X9P_REC_REQ) {
			struct req q = { .e = e };

			if (e->len > r->ring_size) {
				g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL,
					    "offset %zu: a request of %u bytes on a ring of %u",
					    e->offset, e->len, r->ring_size);
				return false;
			}
			if (e->len < P9_HDR_SIZE) {
				g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL,
					    "offset %zu: a request of %u bytes", e->offset, e->len);
				return false;
			}
			q.tag = tag_of(e->data);
			open_tag[q.tag] = (int)r->reqs->len;
			r->req_of[i] = (int)r->reqs->len;
			g_array_append_val(r->reqs, q);
		} else if (e->type == X9P_REC_REPLY && e->len >= P9_HDR_SIZE) {
			int k = open_tag[tag_of(e->data)];

			if (k >= 0) {
				g_array_index(r->reqs, struct req, k).reply = e;
				open_tag[tag_of(e->data)] = -1;
			}
		}
	}
	return true;
}

/* ---- the frontend ----------------------------------------------------- */

static void diverge(struct run *r, char *why)
{
	if (!r->divergence)
		r->divergence = why;
	else
		g_free(why);
}

static bool u_dir_read(struct run *r, const uint8_t *req, size_t len)
{
	struct p9_rd rd;

	if (r->dialect != P9_DIALECT_2000U || len < 11 || req[4] != P9_TREAD)
		return false;
	/* Tread: size[4] type[1] tag[2] fid[4] */
	p9_rd_init(&rd, req + P9_HDR_SIZE, 4);
	return g_hash_table_contains(r->fid_dir, GUINT_TO_POINTER(p9_get32(&rd)));
}

/* Learns which fids name directories, from the recorded replies. */
static void learn_fid(struct run *r, const uint8_t *req, size_t reqlen, const uint8_t *rep,
		      size_t replen)
{
	struct p9_msg q, a;
	const struct p9_qid *qid = NULL;
	uint32_t fid = 0;

	if (p9_decode(req, reqlen, r->dialect, &q) < 0 || p9_decode(rep, replen, r->dialect, &a) < 0)
		return;
	if (q.type == P9_TATTACH && a.type == P9_RATTACH) {
		fid = q.u.tattach.fid;
		qid = &a.u.rattach.qid;
	} else if (q.type == P9_TWALK && a.type == P9_RWALK) {
		fid = q.u.twalk.newfid;
		if (a.u.rwalk.nwqid && a.u.rwalk.nwqid == q.u.twalk.nwname)
			qid = &a.u.rwalk.wqid[a.u.rwalk.nwqid - 1];
		else if (!q.u.twalk.nwname && g_hash_table_contains(r->fid_dir,
					GUINT_TO_POINTER(q.u.twalk.fid)))
			g_hash_table_add(r->fid_dir, GUINT_TO_POINTER(fid));
	} else if (q.type == P9_TCREATE && a.type == P9_RCREATE) {
		fid = q.u.tcreate.fid;
		qid = &a.u.ropen.qid;
	}
	if (qid) {
		if (qid->type & P9_QTDIR)
			g_hash_table_add(r->fid_dir, GUINT_TO_POINTER(fid));
		else
			g_hash_table_remove(r->fid_dir, GUINT_TO_POINTER(fid));
	}
}

static void dialect_from(struct run *r, const uint8_t *rep, size_t len)
{
	struct p9_msg m;
	enum p9_dialect d;

	if (len > P9_HDR_SIZE && rep[4] == P9_RVERSION &&
	    p9_decode(rep, len, P9_DIALECT_2000L, &m) == 0 &&
	    p9_dialect_parse(m.u.version.version, &d))
		r->dialect = d;
}

static void show_context(struct run *r, int k)
{
	for (int i = MAX(0, k - 5); i <= k; i++) {
		struct req *q = &g_array_index(r->reqs, struct req, i);
		char *s = replay_show(q->frame ? q->frame : q->e->data, q->e->len, r->dialect);

		fprintf(stderr, "    %s #%d ring %u: %s\n", i == k ? "->" : "  ", i, q->e->ring, s);
		g_free(s);
	}
}

/* Whether a request of this type changes the filesystem or the session. */
static bool changes(uint8_t type)
{
	switch (type) {
	case P9_TGETATTR: case P9_TSTATFS: case P9_TREADLINK: case P9_TREAD: case P9_TREADDIR:
	case P9_TSTAT: case P9_TGETLOCK: case P9_TWALK: case P9_TXATTRWALK: case P9_TLOPEN:
	case P9_TOPEN: case P9_TFLUSH: case P9_TFSYNC: case P9_TVERSION: case P9_TATTACH:
		return false;
	default:
		return true;
	}
}

/*
 * A request that was in flight in the recording together with requests
 * that change things may have seen them done or not, and so may its
 * replay, either way.  Which ones (requests that change things whose
 * recorded lifetimes overlap k's) go into q->changes; false if none.
 */
static bool concurrent_changes(struct run *r, int k, struct req *q)
{
	const struct x9p_rec_entry *end = q->reply ? q->reply : q->e;

	/* A client has a few hundred requests in flight at most. */
	for (int j = k - 1; j >= 0 && j >= k - 1024; j--) {
		struct req *o = &g_array_index(r->reqs, struct req, j);

		if (o->reply && o->reply < q->e)
			continue;       /* answered before k went */
		if (changes(o->e->data[4])) {
			if (!q->changes)
				q->changes = g_array_new(FALSE, FALSE, sizeof(int));
			g_array_append_val(q->changes, j);
		}
	}
	for (guint j = (guint)k + 1; j < r->reqs->len; j++) {
		struct req *o = &g_array_index(r->reqs, struct req, j);

		if (o->e > end)
			break;
		if (changes(o->e->data[4])) {
			if (!q->changes)
				q->changes = g_array_new(FALSE, FALSE, sizeof(int));
			g_array_append_val(q->changes, j);
		}
	}
	return q->changes != NULL;
}

/* Request k is over: its tag is free, it is out of the window. */
static void answered(struct run *r, int k)
{
	struct req *q = &g_array_index(r->reqs, struct req, k);

	r->inflight[q->tag] = -1;
	q->answered = true;
	for (guint i = 0; i < r->outstanding->len; i++) {
		if (g_array_index(r->outstanding, int, i) == k) {
			g_array_remove_index_fast(r->outstanding, i);
			break;
		}
	}
}

static void got_reply(struct run *r, const uint8_t *f, size_t len)
{
	int k = r->inflight[tag_of(f)];
	struct req *q;
	char *why;

	if (r->extra_tag >= 0 && tag_of(f) == r->extra_tag) {
		r->extra_reply = g_memdup2(f, len);
		r->extra_len = len;
		r->extra_tag = -1;
		return;
	}
	if (k < 0) {
		char *s = replay_show(f, len, r->dialect);

		if (!r->mutate)
			diverge(r, g_strdup_printf("a reply to no request in flight: %s", s));
		g_free(s);
		return;
	}
	q = &g_array_index(r->reqs, struct req, k);
	answered(r, k);
	if (!q->reply || r->mutate)
		return;                 /* flushed in the recording: any answer will do */
	dialect_from(r, q->reply->data, q->reply->len);
	why = replay_compare(r->map, q->frame, q->e->len, q->reply->data, q->reply->len, f, len,
			     r->dialect, u_dir_read(r, q->frame, q->e->len));
	learn_fid(r, q->frame, q->e->len, q->reply->data, q->reply->len);
	if (why && concurrent_changes(r, k, q)) {
		/* Not compared yet: see process_rechecks(). */
		q->got = g_memdup2(f, len);
		q->got_len = len;
		q->recheck = true;
		g_array_append_val(r->rechecks, k);
		g_free(why);
		return;
	}
	if (why && !r->divergence) {
		char *a = replay_show(q->reply->data, q->reply->len, r->dialect);
		char *b = replay_show(f, len, r->dialect);

		fprintf(stderr, "%s: divergence at request #%d: %s\n", r->name, k, why);
		show_context(r, k);
		fprintf(stderr, "    recorded: %s\n    replayed: %s\n", a, b);
		g_free(a);
		g_free(b);
	}
	if (why)
		diverge(r, why);
}

/* A chain the device gave back: its reply, or empty. */
static void got_chain(struct run *r, uint8_t *f, uint32_t len, uint16_t tag)
{
	int k;

	if (len == UINT32_MAX) {
		diverge(r, g_strdup("the device completed a chain it was never given"));
	} else if (len >= P9_HDR_SIZE) {
		got_reply(r, f, len);
	} else if ((k = r->inflight[tag]) >= 0) {
		struct req *q = &g_array_index(r->reqs, struct req, k);

		/* Given back empty: refused or flushed, no reply of its own. */
		answered(r, k);
		if (q->reply && !r->mutate) {
			char *a = replay_show(q->reply->data, q->reply->len, r->dialect);

			diverge(r, g_strdup_printf("request #%d came back without a reply; recorded: %s",
						   k, a));
			g_free(a);
		}
	}
	g_free(f);
}

/* Takes every whole reply on every ring; true if one came. */
static bool take_replies(struct run *r)
{
	bool any = false;

	if (r->vq) {
		uint8_t *f;
		uint32_t len;
		uint16_t tag;

		while ((f = replay_vq_take(r->vq, &len, &tag))) {
			got_chain(r, f, len, tag);
			any = true;
		}
		return any;
	}

	for (unsigned i = 0; i < r->nrings; i++) {
		struct fe_ring *ring = fe_ring(r->fe, i);

		while (!r->broken[i]) {
			uint32_t prod = fe_load(ring->intf, FE_IN_PROD);
			uint32_t cons = fe_load(ring->intf, FE_IN_CONS);
			uint8_t hdr[P9_HDR_SIZE], *f;
			uint32_t sz;

			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			if (prod - cons < P9_HDR_SIZE)
				break;
			for (unsigned b = 0; b < P9_HDR_SIZE; b++)
				hdr[b] = ring->data[(cons + b) & (ring->size - 1)];
			sz = p9_frame_size(hdr);
			if (sz < P9_HDR_SIZE || sz > ring->size) {
				diverge(r, g_strdup_printf("ring %u: a reply of %u bytes", i, sz));
				return false;
			}
			if (prod - cons < sz || prod - cons > ring->size)
				break;
			f = g_malloc(sz);
			for (uint32_t b = 0; b < sz; b++)
				f[b] = ring->data[(cons + b) & (ring->size - 1)];
			__atomic_thread_fence(__ATOMIC_RELEASE);
			fe_store(ring->intf, FE_IN_CONS, cons + sz);
			got_reply(r, f, sz);
			g_free(f);
			any = true;
		}
	}
	return any;
}

/* Waits until done(r, arg) or WAIT_MS without progress. */
static bool wait_for(struct run *r, bool (*done)(struct run *, const void *), const void *arg)
{
	gint64 idle_since = g_get_monotonic_time();

	while (!done(r, arg)) {
		gint64 now;

		if (r->divergence)
			return false;
		if (take_replies(r)) {
			idle_since = g_get_monotonic_time();
			continue;
		}
		/* A reply takes the backend some tens of microseconds: look
		 * again at once for a while before sleeping on the events. */
		now = g_get_monotonic_time();
		if (now - idle_since < 2000) {
			g_thread_yield();
			continue;
		}
		if (r->vq)
			replay_vq_wait(r->vq, 1);
		for (unsigned i = 0; i < r->nrings && !r->vq; i++)
			fe_wait_event(r->fe, i, 1);
		/* Damaged rings leave the backend waiting for bytes that never come. */
		if (g_get_monotonic_time() - idle_since >
		    (r->mutate ? 300 : WAIT_MS) * G_TIME_SPAN_MILLISECOND)
			return false;
	}
	return true;
}

/*
 * Request k may go: every request whose recorded reply came before k was
 * sent has its replayed one (the recorded window), and so has every one
 * in flight with k whose recorded reply came before k's, for the server
 * to see them in the order it saw them (a Tgetattr of a directory in
 * flight with a Tmkdir in it would otherwise find either link count).
 * A Tflush waits for nothing it may be there to cut short.
 */
static bool before_answered(struct run *r, const void *arg)
{
	const struct req *k = arg;
	bool flush = k->e->data[4] == P9_TFLUSH;

	for (guint i = 0; i < r->outstanding->len; i++) {
		struct req *q = &g_array_index(r->reqs, struct req,
					       g_array_index(r->outstanding, int, i));

		if (!q->reply || q->answered)
			continue;
		if (q->reply < k->e || (!flush && k->reply && q->reply < k->reply))
			return false;
	}
	return true;
}

static bool room_for(struct run *r, const void *arg)
{
	const struct x9p_rec_entry *e = arg;
	struct fe_ring *ring;
	uint32_t cons, prod;

	if (r->vq)
		return replay_vq_room(r->vq, e->len, e->f[1]);
	ring = fe_ring(r->fe, e->ring);
	cons = fe_load(ring->intf, FE_OUT_CONS);
	prod = fe_load(ring->intf, FE_OUT_PROD);
	return prod - cons + e->len <= ring->size;
}

static bool all_answered(struct run *r, const void *arg)
{
	for (guint i = 0; i < r->outstanding->len; i++) {
		struct req *q = &g_array_index(r->reqs, struct req,
					       g_array_index(r->outstanding, int, i));

		if (q->reply && !q->answered)
			return false;
	}
	return true;
}

static bool extra_done(struct run *r, const void *arg)
{
	return r->extra_tag < 0;
}

/* An extra request of the replay's own (a request asked again, a Tclunk
 * that undoes a fid the recording never had): sent on ring 0 under a tag
 * nothing in flight has, its reply waited for.  NULL if none came. */
static uint8_t *extra_rpc(struct run *r, const uint8_t *frame, size_t len, uint32_t room,
			  size_t *rlen)
{
	struct fe_ring *ring = r->vq ? NULL : fe_ring(r->fe, 0);
	gint64 end = g_get_monotonic_time() + WAIT_MS * G_TIME_SPAN_MILLISECOND;
	uint8_t *f = g_memdup2(frame, len), *reply;
	uint32_t prod = 0;
	int tag = 0xfffe;

	while (tag > 0 && r->inflight[tag] >= 0)
		tag--;
	f[5] = (uint8_t)tag;
	f[6] = (uint8_t)(tag >> 8);
	while (r->vq) {
		if (replay_vq_room(r->vq, (uint32_t)len, room)) {
			r->extra_tag = tag;
			replay_vq_send(r->vq, f, (uint32_t)len, room);
			break;
		}
		if (g_get_monotonic_time() > end) {
			g_free(f);
			return NULL;
		}
		take_replies(r);
		replay_vq_wait(r->vq, 1);
	}
	for (; !r->vq;) {
		uint32_t cons = fe_load(ring->intf, FE_OUT_CONS);

		prod = fe_load(ring->intf, FE_OUT_PROD);
		if (prod - cons + len <= ring->size || g_get_monotonic_time() > end)
			break;
		take_replies(r);
		fe_wait_event(r->fe, 0, 1);
	}
	if (!r->vq) {
		r->extra_tag = tag;
		put_bytes(ring, prod, f, (uint32_t)len);
		__atomic_thread_fence(__ATOMIC_RELEASE);
		fe_store(ring->intf, FE_OUT_PROD, prod + (uint32_t)len);
		fe_kick(r->fe, 0);
	}
	g_free(f);
	if (!wait_for(r, extra_done, NULL)) {
		r->extra_tag = -1;
		return NULL;
	}
	reply = r->extra_reply;
	*rlen = r->extra_len;
	r->extra_reply = NULL;
	/* Answers go back under the recorded tag, for the comparison. */
	reply[5] = frame[5];
	reply[6] = frame[6];
	return reply;
}

static bool rereadable(uint8_t type)
{
	return type == P9_TGETATTR || type == P9_TSTATFS || type == P9_TREADLINK ||
	       type == P9_TREAD || type == P9_TREADDIR || type == P9_TSTAT ||
	       type == P9_TGETLOCK;
}

/*
 * A reply that differed from the recording's while requests that change
 * things were in flight with it (concurrent_changes): once those are done,
 * a request that only reads is asked again and must then match (the
 * recording saw them done); a Twalk the recording saw succeed is walked
 * again; one the recording saw fail that made a fid here has it clunked.
 * What still differs, or cannot be asked again, is counted as concurrent:
 * the protocol leaves its outcome open.  final: the replay is over.
 */
static void process_rechecks(struct run *r, bool final)
{
	for (guint i = 0; i < r->rechecks->len;) {
		int k = g_array_index(r->rechecks, int, i);
		struct req *q = &g_array_index(r->reqs, struct req, k);
		uint8_t type = q->frame[4], got = q->got[4], *again = NULL;
		bool ready = true;
		size_t alen = 0;
		char *why;

		for (guint c = 0; c < q->changes->len && ready; c++) {
			struct req *o = &g_array_index(r->reqs, struct req,
						       g_array_index(q->changes, int, c));

			ready = o->sent && (o->answered || !o->reply);
		}
		if (!ready && !final) {
			i++;
			continue;
		}
		g_array_remove_index(r->rechecks, i);
		if (rereadable(type) ||
		    (type == P9_TWALK && got == P9_RLERROR && q->reply->data[4] == P9_RWALK)) {
			again = extra_rpc(r, q->frame, q->e->len, q->e->f[1], &alen);
		} else if (type == P9_TWALK && got == P9_RWALK && q->reply->data[4] == P9_RLERROR &&
			   q->e->len >= 15) {
			/* Twalk: size type tag fid[4] newfid[4] */
			uint8_t clunk[11] = { 11, 0, 0, 0, P9_TCLUNK, 0, 0 };
			size_t clen;

			memcpy(clunk + 7, q->frame + 11, 4);
			if (memcmp(q->frame + 7, q->frame + 11, 4) != 0)
				g_free(extra_rpc(r, clunk, sizeof(clunk), 4096, &clen));
		}
		why = again ? replay_compare(r->map, q->frame, q->e->len, q->reply->data,
					     q->reply->len, again, alen, r->dialect,
					     u_dir_read(r, q->frame, q->e->len)) : g_strdup("");
		if (!why) {
			r->rechecked++;
		} else {
			r->concurrent++;
			if (r->verbose) {
				char *a = replay_show(q->reply->data, q->reply->len, r->dialect);
				char *b = replay_show(q->got, q->got_len, r->dialect);

				fprintf(stderr, "  #%d concurrent with changes, not compared: %s\n"
					"    recorded: %s\n    replayed: %s\n", k, why, a, b);
				g_free(a);
				g_free(b);
			}
		}
		g_free(why);
		g_free(again);
	}
}


/* --mutate: request q goes on the ring damaged, one way of a hostile
 * frontend's (its reply, if any, is not waited for). */
static void damage(struct run *r, struct fe_ring *ring, uint32_t prod, struct req *q)
{
	GRand *g = r->mutate;
	uint32_t len = q->e->len, pub = len;
	uint8_t *f = q->frame;

	r->damaged++;
	switch (g_rand_int_range(g, 0, 6)) {
	case 0: /* bytes of the body */
		for (int i = g_rand_int_range(g, 1, 5); i > 0 && len > P9_HDR_SIZE; i--)
			f[g_rand_int_range(g, P9_HDR_SIZE, (gint32)len)] ^=
				(uint8_t)g_rand_int_range(g, 1, 256);
		break;
	case 1: /* the size field */
		f[g_rand_int_range(g, 0, 4)] = (uint8_t)g_rand_int(g);
		break;
	case 2: /* a body cut short, the size field agreeing */
		pub = len = (uint32_t)g_rand_int_range(g, P9_HDR_SIZE, (gint32)len + 1);
		f[0] = (uint8_t)len;
		f[1] = (uint8_t)(len >> 8);
		f[2] = (uint8_t)(len >> 16);
		f[3] = (uint8_t)(len >> 24);
		break;
	case 3: /* published in part, the rest never */
		pub = (uint32_t)g_rand_int_range(g, 0, (gint32)len);
		break;
	case 4: /* the producer index past what was written */
		pub = len + (uint32_t)g_rand_int_range(g, 1, (gint32)ring->size * 2);
		break;
	default: /* the reply consumer index anywhere */
		fe_store(ring->intf, FE_IN_CONS, fe_load(ring->intf, FE_IN_PROD) +
						 (uint32_t)g_rand_int_range(g, -4096, 1 << 21));
		r->broken[q->e->ring] = true;
		break;
	}
	put_bytes(ring, prod, f, MIN(len, ring->size));
	__atomic_thread_fence(__ATOMIC_RELEASE);
	fe_store(ring->intf, FE_OUT_PROD, prod + pub);
	fe_kick(r->fe, q->e->ring);
}

static void send_request(struct run *r, struct req *q, int k)
{
	struct fe_ring *ring = r->vq ? NULL : fe_ring(r->fe, q->e->ring);
	uint32_t prod = ring ? fe_load(ring->intf, FE_OUT_PROD) : 0;
	uint32_t whole = p9_frame_size(q->e->data);

	q->frame = g_memdup2(q->e->data, q->e->len);
	replay_rewrite(r->map, q->frame, q->e->len);
	if (r->verbose) {
		char *s = replay_show(q->frame, q->e->len, r->dialect);

		fprintf(stderr, "  #%d ring %u: %s\n", k, q->e->ring, s);
		g_free(s);
	}
	if (r->vq) {
		/* A request the device refused goes as it was seen (its header). */
		replay_vq_send(r->vq, q->frame, q->e->len, q->e->f[1]);
	} else if (r->mutate && g_rand_int_range(r->mutate, 0, 60) == 0) {
		damage(r, ring, prod, q);
		q->sent = true;
		r->last_sent = (unsigned)k;
		return;
	} else {
		put_bytes(ring, prod, q->frame, q->e->len);
		__atomic_thread_fence(__ATOMIC_RELEASE);
		/* A request the backend refused whole is published as it was seen. */
		fe_store(ring->intf, FE_OUT_PROD, whole == q->e->len ? prod + q->e->len :
						  prod + (q->e->f[1] - q->e->f[0]));
		fe_kick(r->fe, q->e->ring);
	}
	q->sent = true;
	r->last_sent = (unsigned)k;
	if (whole == q->e->len && r->inflight[q->tag] < 0) {
		r->inflight[q->tag] = k;
		g_array_append_val(r->outstanding, k);
	}
}

/*
 * A frontend that broke its reply consumer index did it before the request
 * whose reply found it: when the recording's fault follows request entry
 * i on its ring, the index is broken as far past the replay's producer as
 * it was past the recording's.
 */
static void break_in_cons(struct run *r, guint i)
{
	const struct x9p_rec_entry *req = &g_array_index(r->t->entries, struct x9p_rec_entry, i);

	if (r->vq)
		return;         /* a virtqueue's faults carry no index */
	for (guint j = i + 1; j < r->t->entries->len; j++) {
		const struct x9p_rec_entry *e = &g_array_index(r->t->entries, struct x9p_rec_entry, j);
		struct fe_ring *ring;

		if (e->ring != req->ring)
			continue;
		if (e->type == X9P_REC_REPLY || e->type == X9P_REC_REQ)
			return;
		if (e->type != X9P_REC_FAULT || e->f[0] != X9P_REC_IDX_IN_CONS)
			continue;
		ring = fe_ring(r->fe, e->ring);
		take_replies(r);
		r->broken[e->ring] = true;
		fe_store(ring->intf, FE_IN_CONS, fe_load(ring->intf, FE_IN_PROD) +
						 (e->f[1] - r->rec_in_prod[e->ring]));
		return;
	}
}

/* The recording ends with the frontend breaking a ring: it must break it
 * here too, and only its own device. */
/* s with every run of digits made one '#' (in place); s. */
static char *numbers_masked(char *s)
{
	char *w = s;

	for (const char *p = s; *p; p++) {
		if (g_ascii_isdigit(*p)) {
			if (w == s || w[-1] != '#')
				*w++ = '#';
		} else {
			*w++ = *p;
		}
	}
	*w = 0;
	return s;
}

static void replay_fault(struct run *r, const struct x9p_rec_entry *e)
{
	struct fe_ring *ring;
	char *err, *rec;

	if (r->vq) {
		/* The device says only that it broke the queue. */
		if (!replay_vq_faulted(r->vq, 5000))
			diverge(r, g_strdup_printf("the recording ends in a fault (%.*s); the device "
						   "did not break the queue", (int)e->len,
						   (const char *)e->data));
		return;
	}
	ring = fe_ring(r->fe, e->ring);
	if (e->f[0] == X9P_REC_IDX_OUT_PROD) {
		fe_store(ring->intf, FE_OUT_PROD, fe_load(ring->intf, FE_OUT_CONS) +
				     (e->f[1] - fe_load(ring->intf, FE_OUT_CONS)));
		fe_kick(r->fe, e->ring);
	}
	if (!sim_wait_be_closing(r->s, "9pfs", r->domid, 0)) {
		diverge(r, g_strdup_printf("the recording ends in a fault (%.*s); the device did not "
					   "close", (int)e->len, (const char *)e->data));
		return;
	}
	err = sim_be_read(r->s, "9pfs", r->domid, 0, "error");
	rec = g_strndup((const char *)e->data, e->len);
	/* The same broken rule: the texts equal but for their numbers. */
	if (!err || strcmp(numbers_masked(err), numbers_masked(rec)) != 0)
		diverge(r, g_strdup_printf("fault: recorded \"%s\", replayed \"%s\"", rec,
					   err ? err : "(none)"));
	g_free(rec);
	g_free(err);
}

/* The device's worker still the one it was; a build without workers
 * (pid 0) serves the rings in the daemon itself. */
static bool worker_alive(struct run *r, pid_t pid)
{
	if (r->vq)
		return replay_vq_alive(r->vq);
	if (pid <= 0)
		return sim_backend_alive(r->s);
	return kill(pid, 0) == 0 && sim_worker_pid(r->s, "dom5/9pfs/0") == pid;
}

/* The first request sent whose recorded reply has not come back. */
static char *missing_reply(struct run *r)
{
	for (guint i = 0; i < r->reqs->len; i++) {
		struct req *q = &g_array_index(r->reqs, struct req, i);

		if (q->sent && q->reply && !q->answered) {
			char *s = replay_show(q->frame, q->e->len, r->dialect);
			char *why = g_strdup_printf("no reply to request #%u (%s)", i, s);

			if (!r->divergence) {
				fprintf(stderr, "%s: %s\n", r->name, why);
				show_context(r, (int)i);
			}
			g_free(s);
			return why;
		}
	}
	return g_strdup("no reply came");
}

/* ---- one recording ------------------------------------------------------ */

static bool unpack_seed(const struct x9p_rec_trace *t, const char *dir, GError **err)
{
	for (guint i = 0; i < t->entries->len; i++) {
		const struct x9p_rec_entry *e = &g_array_index(t->entries, struct x9p_rec_entry, i);
		char *tar, *argv[] = { "tar", "--numeric-owner", "-xpf", NULL, "-C", (char *)dir, NULL };
		int status;
		bool ok;

		if (e->type != X9P_REC_SEED)
			continue;
		tar = g_build_filename(dir, "..", "seed.tar", NULL);
		if (!g_file_set_contents(tar, (const char *)e->data, e->len, err)) {
			g_free(tar);
			return false;
		}
		argv[3] = tar;
		ok = g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
				  &status, err) && g_spawn_check_wait_status(status, err);
		g_unlink(tar);
		g_free(tar);
		return ok;
	}
	return true;
}

/* --mutate: after a round, the daemon must live, and the worker must
 * live or have closed the device with a fault.  NULL, or what failed. */
static char *survived(struct run *r, pid_t worker)
{
	char *err;

	if (r->vq)
		return replay_vq_alive(r->vq) ? NULL : g_strdup("x9p-vhost died");
	if (!sim_backend_alive(r->s))
		return g_strdup("x9p-backend died");
	if (worker_alive(r, worker))
		return NULL;
	/* The monitor may not have closed the device yet: it writes the
	 * error first, then the state. */
	sim_wait_be_closing(r->s, "9pfs", r->domid, 0);
	err = sim_be_read(r->s, "9pfs", r->domid, 0, "error");
	if (err) {
		g_free(err);
		return NULL;
	}
	return g_strdup("the worker died and the device was not closed with a fault");
}

static unsigned total_concurrent;

static double since(gint64 t0)
{
	return (double)(g_get_monotonic_time() - t0) / G_USEC_PER_SEC;
}

static int replay_one(const char *path, unsigned *nreq, GRand *mutate)
{
	gint64 t0 = g_get_monotonic_time();
	struct run r = { .name = path, .verbose = opt_verbose, .domid = 5, .mutate = mutate };
	const struct x9p_rec_entry *w;
	const struct x9p_rec_entry *ring0 = NULL;
	GError *err = NULL;
	char *top = NULL, *dir = NULL, *model = NULL, *transport = NULL;
	bool vq;
	struct sim_dev d = { .kind = "9pfs", .domid = 5, .devid = 0 };
	/* Rings read until the replay notices the device closed. */
	struct fe_opts o = { .kind = FE_LINUX, .raw = true, .domid = 5, .devid = 0,
			     .keep_rings = true };
	char *extra[9] = { 0 };
	unsigned nextra = 0;
	pid_t worker;
	guint first = 0;
	bool faulted = false;
	int status = 2;

	memset(r.inflight, -1, sizeof(r.inflight));
	r.outstanding = g_array_new(FALSE, FALSE, sizeof(int));
	r.rechecks = g_array_new(FALSE, FALSE, sizeof(int));
	r.extra_tag = -1;
	r.t = x9p_rec_load(path, &err);
	if (!r.t)
		goto out;
	if (r.t->cut_at)
		fprintf(stderr, "%s: a record cut short at offset %zu (its writer died in the "
			"middle of it): what comes before it is replayed\n", path, r.t->cut_at);
	while (first < r.t->entries->len &&
	       g_array_index(r.t->entries, struct x9p_rec_entry, first).type == X9P_REC_SEED)
		first++;
	if (r.t->part != 0 || first >= r.t->entries->len ||
	    g_array_index(r.t->entries, struct x9p_rec_entry, first).type != X9P_REC_WORKER) {
		g_set_error(&err, G_FILE_ERROR, G_FILE_ERROR_INVAL, "part %u of a rotated recording "
			    "does not start at the session's beginning: it cannot be replayed",
			    r.t->part);
		goto out;
	}
	if (r.t->flags & X9P_REC_F_REDACTED) {
		g_set_error(&err, G_FILE_ERROR, G_FILE_ERROR_INVAL,
			    "a redacted recording cannot be replayed (its data are gone)");
		goto out;
	}
	w = &g_array_index(r.t->entries, struct x9p_rec_entry, first);
	transport = option_str(w, "transport");
	vq = transport && strcmp(transport, "xen") != 0;
	r.nrings = option(w, "rings", 1);
	for (guint i = first + 1; i < r.t->entries->len; i++) {
		const struct x9p_rec_entry *e = &g_array_index(r.t->entries, struct x9p_rec_entry, i);

		if (e->type == X9P_REC_WORKER)
			break;
		if (e->type == X9P_REC_RING && e->ring == 0)
			ring0 = e;
		if (e->type == X9P_REC_RING)
			r.rec_in_prod[e->ring] = e->f[2];
	}
	/* A queue's size is a power of two (virtio 1.x, split queues). */
	if (ring0 && (vq ? ring0->f[0] < 2 || ring0->f[0] > 32768 || (ring0->f[0] & (ring0->f[0] - 1)) :
		      ring0->f[0] < 1 || ring0->f[0] > 9)) {
		g_set_error(&err, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s %u",
			    vq ? "queue size" : "ring order", ring0->f[0]);
		goto out;
	}
	if (vq && mutate) {
		status = 3;     /* the ring fuzzer is Xen's */
		goto out;
	}
	if (w->f[1]) {
		g_set_error(&err, G_FILE_ERROR, G_FILE_ERROR_INVAL, "it begins with a worker that "
			    "took a session over: the session's beginning is not in it");
		goto out;
	}
	if (ring0)
		r.ring_size = vq ? VQ_MAX_FRAME : 1u << (ring0->f[0] + 11);
	if (!ring0 || !r.nrings || r.nrings > 8 || !index_requests(&r, &err)) {
		if (!err)
			g_set_error(&err, G_FILE_ERROR, G_FILE_ERROR_INVAL, "no ring set-up recorded");
		goto out;
	}
	top = g_dir_make_tmp("x9p-replay-XXXXXX", &err);
	if (!top)
		goto out;
	dir = g_build_filename(top, "export", NULL);
	g_mkdir(dir, 0755);
	if (!unpack_seed(r.t, dir, &err))
		goto out;
	model = option_str(w, "model");
	r.map = replay_map_new();
	r.fid_dir = g_hash_table_new(g_direct_hash, g_direct_equal);
	r.dialect = P9_DIALECT_2000L;
	if (vq) {
		const char *args[] = { "--export", dir, "--security-model", model ? model : "none",
				       "--tag", "x9p", option(w, "readonly", 0) ? "--readonly" : NULL,
				       NULL };

		r.vq = replay_vq_start(args, ring0->f[0], &err);
		if (!r.vq)
			goto out;
		worker = 0;
		goto replay;
	}
	d.path = dir;
	d.secmodel = model ? model : "none";
	{
		static const char *const keys[] = { "max-files", "max-space-mib", "auto-delete" };
		static const char *const xs[] = { "max-files", "max-space", "auto-delete" };

		for (unsigned i = 0; i < G_N_ELEMENTS(keys); i++) {
			unsigned v = option(w, keys[i], 0);

			if (v) {
				extra[nextra++] = g_strdup(xs[i]);
				extra[nextra++] = g_strdup_printf("%u", v);
			}
		}
		d.extra = (const char *const *)extra;
	}
	o.force_rings = (int)r.nrings;
	o.max_order = ring0->f[0];
	o.start_index = ring0->f[3];
	r.s = sim_new();
	if (!sim_backend_start(r.s, (const char *const[]){ NULL })) {
		g_set_error(&err, G_FILE_ERROR, G_FILE_ERROR_FAILED, "x9p-backend did not start");
		goto out;
	}
	hv_domain_create(r.s->hv, 5, "replay");
	sim_add_device(r.s, &d);
	r.fe = sim_frontend_with(r.s, &o);
	if (!r.fe || fe_ring(r.fe, 0)->order != ring0->f[0]) {
		g_set_error(&err, G_FILE_ERROR, G_FILE_ERROR_FAILED, "the replay's rings differ from "
			    "the recording's (order %u)", ring0->f[0]);
		goto out;
	}
	worker = sim_worker_pid(r.s, "dom5/9pfs/0");
replay:
	r.budget = mutate ? (unsigned)g_rand_int_range(mutate, 20, 3000) : G_MAXUINT;
	for (guint i = first + 1; i < r.t->entries->len && !r.divergence && r.budget; i++) {
		const struct x9p_rec_entry *e = &g_array_index(r.t->entries, struct x9p_rec_entry, i);
		int k = -1;

		if (e->type == X9P_REC_WORKER || e->type == X9P_REC_END)
			break;
		if (e->type == X9P_REC_FAULT) {
			replay_fault(&r, e);
			faulted = true;
			break;
		}
		if (e->type == X9P_REC_REPLY)
			r.rec_in_prod[e->ring] = e->f[0] + e->len;
		if (e->type != X9P_REC_REQ)
			continue;
		k = r.req_of[i];
		if (k < 0)
			break;          /* past the first worker */
		if (r.rechecks->len)
			process_rechecks(&r, false);
		if (!wait_for(&r, before_answered, &g_array_index(r.reqs, struct req, k)) ||
		    !wait_for(&r, room_for, e)) {
			char *why;

			if (mutate)
				break;  /* the damage stopped the session: what the round is for */
			why = missing_reply(&r);

			diverge(&r, g_strdup_printf("%s%s", why, worker_alive(&r, worker) ? "" :
						    worker ? "; the worker died" : "; x9p-backend died"));
			g_free(why);
			break;
		}
		break_in_cons(&r, i);
		send_request(&r, &g_array_index(r.reqs, struct req, k), k);
		(*nreq)++;
		r.budget--;
	}
	if (mutate) {
		r.divergence = survived(&r, worker);
		status = r.divergence ? 1 : 0;
		if (r.divergence)
			fprintf(stderr, "%s: after %u requests, %u of them damaged: %s\n", path,
				r.last_sent + 1, r.damaged, r.divergence);
		goto out;
	}
	if (!r.divergence && !faulted && wait_for(&r, all_answered, NULL))
		process_rechecks(&r, true);
	if (!r.divergence && !faulted && !wait_for(&r, all_answered, NULL)) {
		char *why = missing_reply(&r);

		diverge(&r, g_strdup_printf("%s%s", why, worker_alive(&r, worker) ? "" :
					    worker ? "; the worker died" : "; x9p-backend died"));
		g_free(why);
	}
	/* After a fault the monitor ends the worker: that is no crash. */
	if (!faulted && !worker_alive(&r, worker) && !r.divergence)
		diverge(&r, g_strdup("the worker died"));
	if (r.divergence && r.s && !sim_backend_alive(r.s) &&
	    !strstr(r.divergence, "x9p-backend died")) {
		char *w2 = g_strdup_printf("%s (and x9p-backend died)", r.divergence);

		g_free(r.divergence);
		r.divergence = w2;
	}
	status = r.divergence ? 1 : 0;
	total_concurrent += r.concurrent;
	if (r.divergence)
		fprintf(stderr, "%s: DIVERGED after %u requests: %s\n", path, r.last_sent + 1,
			r.divergence);
	else if (r.concurrent || r.rechecked)
		printf("%s: %u requests matched (%u of them when asked again after the changes in "
		       "flight with them; %u concurrent with changes, not compared) in %.1f s\n", path,
		       r.reqs->len - r.concurrent, r.rechecked, r.concurrent, since(t0));
	else
		printf("%s: %u requests matched in %.1f s\n", path, r.reqs->len, since(t0));
out:
	if (err) {
		fprintf(stderr, "%s: %s\n", path, err->message);
		g_error_free(err);
	}
	if (r.fe)
		fe_free(r.fe);
	replay_vq_free(r.vq);
	g_free(transport);
	if (r.s) {
		if (sim_backend_alive(r.s))
			sim_backend_stop(r.s, SIGKILL);
		sim_free(r.s);
	}
	if (top) {
		char *argv[] = { "rm", "-rf", top, NULL };

		g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
	}
	for (unsigned i = 0; i < nextra; i++)
		g_free(extra[i]);
	if (r.reqs) {
		for (guint i = 0; i < r.reqs->len; i++) {
			struct req *q = &g_array_index(r.reqs, struct req, i);

			g_free(q->frame);
			g_free(q->got);
			if (q->changes)
				g_array_unref(q->changes);
		}
	}
	g_array_unref(r.outstanding);
	g_array_unref(r.rechecks);
	g_free(r.req_of);
	g_free(r.extra_reply);
	if (r.reqs)
		g_array_unref(r.reqs);
	if (r.fid_dir)
		g_hash_table_unref(r.fid_dir);
	replay_map_free(r.map);
	x9p_rec_trace_free(r.t);
	g_free(r.divergence);
	g_free(model);
	g_free(dir);
	g_free(top);
	return status;
}

/* ---- --dump and --seed ---------------------------------------------------- */

static int dump(const char *path)
{
	GError *err = NULL;
	struct x9p_rec_trace *t = x9p_rec_load(path, &err);
	enum p9_dialect d = P9_DIALECT_2000L;
	uint64_t t0 = 0;

	if (!t) {
		fprintf(stderr, "%s\n", err->message);
		g_error_free(err);
		return 2;
	}
	printf("# %s: format %u, part %u%s\n", path, t->version, t->part,
	       t->flags & X9P_REC_F_REDACTED ? ", redacted" : "");
	if (t->cut_at)
		printf("# a record cut short at offset %zu: the records before it\n", t->cut_at);
	for (guint i = 0; i < t->entries->len; i++) {
		const struct x9p_rec_entry *e = &g_array_index(t->entries, struct x9p_rec_entry, i);
		char *s = NULL;

		if (!t0)
			t0 = e->t_ns;
		if (e->type == X9P_REC_REQ || e->type == X9P_REC_REPLY) {
			if (e->type == X9P_REC_REPLY)
				for (guint j = 0; j < 1 && e->len > P9_HDR_SIZE &&
				     e->data[4] == P9_RVERSION; j++) {
					struct p9_msg m;

					if (p9_decode(e->data, e->len, d, &m) == 0)
						p9_dialect_parse(m.u.version.version, &d);
				}
			s = replay_show(e->data, e->len, d);
		} else if (e->type == X9P_REC_WORKER || e->type == X9P_REC_FAULT) {
			s = g_strdelimit(g_strndup((const char *)e->data, e->len), "\n", ' ');
		} else if (e->type == X9P_REC_SEED) {
			s = g_strdup_printf("%u bytes of tar", e->len);
		}
		printf("%10.6f %-6s ring %u", (double)(e->t_ns - t0) / 1e9, x9p_rec_type_name(e->type),
		       e->ring);
		for (unsigned f = 0; f < x9p_rec_nfixed(e->type); f++)
			printf(" %u", e->f[f]);
		/* Where its bytes are in the file, for a hand that edits them. */
		if (e->len)
			printf(" @%zu", e->offset + X9P_REC_HEAD + 4 * x9p_rec_nfixed(e->type));
		printf("%s%s\n", s ? ": " : "", s ? s : "");
		g_free(s);
	}
	x9p_rec_trace_free(t);
	return 0;
}

static int seed(const char *dir, const char *path)
{
	GError *err = NULL;
	char *tar = NULL, *rec = NULL, *tmp = g_strdup_printf("%s.seed.tar", path);
	gsize tlen, rlen;
	char *argv[] = { "tar", "--numeric-owner", "-cf", tmp, "-C", (char *)dir, ".", NULL };
	uint8_t head[X9P_REC_HEAD] = { 0 };
	struct p9_wr w;
	uint32_t len;
	int status;
	GByteArray *a;
	bool ok;

	ok = g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, &status,
			  &err) && g_spawn_check_wait_status(status, &err) &&
	     g_file_get_contents(tmp, &tar, &tlen, &err) &&
	     g_file_get_contents(path, &rec, &rlen, &err);
	g_unlink(tmp);
	if (ok && (rlen < X9P_REC_HDR || memcmp(rec, X9P_REC_MAGIC, 8) != 0)) {
		g_set_error(&err, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: not a recording", path);
		ok = false;
	}
	if (ok) {
		/* Right after the file header: the export as the recording began. */
		a = g_byte_array_new();
		g_byte_array_append(a, (const guint8 *)rec, X9P_REC_HDR);
		len = X9P_REC_HEAD + (uint32_t)tlen;
		p9_wr_init(&w, head, sizeof(head));
		p9_put32(&w, len);
		p9_put8(&w, X9P_REC_SEED);
		g_byte_array_append(a, head, sizeof(head));
		g_byte_array_append(a, (const guint8 *)tar, (guint)tlen);
		g_byte_array_append(a, (const guint8 *)rec + X9P_REC_HDR,
				    (guint)(rlen - X9P_REC_HDR));
		ok = g_file_set_contents(path, (const char *)a->data, a->len, &err);
		g_byte_array_unref(a);
	}
	if (!ok) {
		fprintf(stderr, "--seed: %s\n", err->message);
		g_error_free(err);
	}
	g_free(tar);
	g_free(rec);
	g_free(tmp);
	return ok ? 0 : 2;
}

/* --mutate: rounds of damaged replays for opt_mutate seconds. */
static int fuzz_rings(int n, char **paths)
{
	gint64 seed = opt_rng_seed ? opt_rng_seed : g_get_real_time();
	gint64 end = g_get_monotonic_time() + (gint64)opt_mutate * G_USEC_PER_SEC;
	unsigned rounds = 0, tries = 0, nreq = 0;
	GRand *g;

	printf("# ring fuzz seed %" G_GINT64_FORMAT "\n", seed);
	while (g_get_monotonic_time() < end) {
		/* Each round its own seed, so that one round can be replayed. */
		gint64 rs = seed + tries++;
		int rc;

		gint64 t0 = g_get_monotonic_time();
		const char *path;

		g = g_rand_new_with_seed((guint32)rs);
		path = paths[g_rand_int_range(g, 0, n)];
		rc = replay_one(path, &nreq, g);
		g_rand_free(g);
		/* A round takes a second or two: a long one is worth a look. */
		if (since(t0) > 10)
			printf("# ring fuzz: round of seed %" G_GINT64_FORMAT " (%s) took %.1f s\n",
			       rs, path, since(t0));
		if (rc == 3) {
			/* A virtqueue recording: not this fuzzer's. */
			if (tries > 1000 && !rounds) {
				printf("ring fuzz: no Xen recording among them\n");
				return 2;
			}
			continue;
		}
		if (rc == 1) {
			printf("ring fuzz: round %u failed; again: x9p-replay --mutate 1 --seed-rng %"
			       G_GINT64_FORMAT " with the same recordings\n", rounds, rs);
			return 1;
		}
		rounds++;
	}
	printf("ring fuzz: %u rounds, %u requests, damaged ones among them; the daemon and "
	       "every worker lived or closed their device\n", rounds, nreq);
	return 0;
}

int main(int argc, char **argv)
{
	GOptionContext *ctx = g_option_context_new("RECORDING... - replay x9p recordings");
	GError *err = NULL;
	unsigned nreq = 0, failed = 0, unusable = 0;

	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &err) || argc < 2) {
		fprintf(stderr, "x9p-replay: %s (see --help)\n", err ? err->message :
			"no recording given");
		return 2;
	}
	g_option_context_free(ctx);
	if (opt_dump)
		return dump(argv[1]);
	if (opt_seed)
		return seed(opt_seed, argv[1]);
	if (opt_mutate)
		return fuzz_rings(argc - 1, argv + 1);
	for (int i = 1; i < argc; i++) {
		int rc = replay_one(argv[i], &nreq, NULL);

		failed += rc == 1;
		unusable += rc == 2;
	}
	if (failed || unusable)
		printf("replay: %d traces, %u requests, %u diverged, %u unusable\n", argc - 1, nreq,
		       failed, unusable);
	else if (total_concurrent)
		printf("replay: %d traces, %u requests, all matched (%u concurrent with changes, "
		       "not compared)\n", argc - 1, nreq, total_concurrent);
	else
		printf("replay: %d traces, %u requests, all matched\n", argc - 1, nreq);
	return failed ? 1 : unusable ? 2 : 0;
}
