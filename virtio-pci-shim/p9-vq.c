// SPDX-License-Identifier: GPL-2.0-or-later
/* 9P requests and replies on virtqueue chains; see p9-vq.h. */
#define G_LOG_DOMAIN "x9p-vhost"

#include <errno.h>
#include <string.h>

#include <glib.h>

#include "9p/p9.h"
#include "journal/journal.h"
#include "record/record.h"
#include "worker/attack.h"
#include "p9-vq-int.h"

#define TWRITE_HDR (P9_HDR_SIZE + 4 + 8 + 4)   /* size type tag fid offset count */
/* Below this a Twrite payload is cheaper to copy than to keep in place. */
#define ZC_WRITE_MIN 4096u

/* The first time at info level, then at debug level: a guest repeating a
 * mistake must not flood the log. */
#define say_once(flag, ...) \
	do { \
		if (g_atomic_int_compare_and_exchange((flag), 0, 1)) \
			g_info(__VA_ARGS__); \
		else \
			g_debug(__VA_ARGS__); \
	} while (0)

static const struct x9p_transport_ops transport_ops;

static uint16_t get16(const uint8_t *b) { return (uint16_t)(b[0] | b[1] << 8); }
static uint32_t get32(const uint8_t *b) { return b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24; }

size_t p9vq_config(const char *tag, uint8_t *buf, size_t len)
{
	size_t n = strlen(tag);

	if (len < 2 + n || n > 0xffff)
		return 0;
	buf[0] = n & 0xff;
	buf[1] = (uint8_t)(n >> 8);
	memcpy(buf + 2, tag, n);
	return 2 + n;
}

struct p9req *p9vq_req_new(struct p9vq *p, struct vu_elem *e, uint16_t tag)
{
	struct p9req *r = g_new0(struct p9req, 1);

	r->p = p;
	r->e = e;
	r->refs = 1;
	r->flush_oldtag = -1;
	r->tag = tag;
	return r;
}

void p9vq_req_unref(struct p9req *r)
{
	if (g_atomic_int_dec_and_test(&r->refs)) {
		vu_elem_free(r->e);
		g_free(r);
	}
}

static void release_data(void *arg)
{
	p9vq_req_unref(arg);
}

struct publishing {
	struct x9p_journal *j;
	uint16_t tag;
};

static void note_replying(void *arg, uint16_t used_idx)
{
	struct publishing *pb = arg;

	x9p_journal_replying(pb->j, pb->tag, used_idx);
}

/*
 * Completes r's chain with len bytes of reply.  With a journal, the used
 * index that publishes it is recorded first, and the request is answered
 * once it is published; a chain not published (its queue stopped) stays
 * recorded, and the device's next worker runs it again.
 */
void p9vq_finish(struct p9vq *p, struct p9req *r, uint32_t len)
{
	struct publishing pb = { p->journal, r->tag };

	if (!r->journaled) {
		vu_elem_complete(r->e, len);
		return;
	}
	if (vu_elem_complete_noted(r->e, len, note_replying, &pb))
		x9p_journal_answered_rid(p->journal, r->tag, r->rid);
}

/* Removes and returns the request waiting under tag (or NULL). */
static struct p9req *take(struct p9vq *p, uint16_t tag)
{
	struct p9req *r;

	g_mutex_lock(&p->lock);
	r = g_hash_table_lookup(p->tags, GUINT_TO_POINTER(tag));
	if (r)
		g_hash_table_remove(p->tags, GUINT_TO_POINTER(tag));
	g_mutex_unlock(&p->lock);
	return r;
}

static struct p9req *peek(struct p9vq *p, uint16_t tag)
{
	struct p9req *r;

	g_mutex_lock(&p->lock);
	r = g_hash_table_lookup(p->tags, GUINT_TO_POINTER(tag));
	g_mutex_unlock(&p->lock);
	return r;
}

/* Completes, empty, every chain still waiting: the engine has nothing in
 * flight, so none of them will get a reply. */
static void sweep(struct p9vq *p)
{
	GHashTableIter it;
	gpointer k, v;
	GPtrArray *left = g_ptr_array_new();

	g_mutex_lock(&p->lock);
	g_hash_table_iter_init(&it, p->tags);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		g_ptr_array_add(left, v);
		g_hash_table_iter_remove(&it);
	}
	g_mutex_unlock(&p->lock);
	for (guint i = 0; i < left->len; i++) {
		struct p9req *r = left->pdata[i];

		p9vq_finish(p, r, 0);
		p9vq_req_unref(r);
	}
	g_ptr_array_free(left, TRUE);
}

/* A request's place: where it was popped and its chain's head. */
static uint32_t chain_at(const struct vu_elem *e)
{
	return (uint32_t)e->slot | (uint32_t)e->head << 16;
}

/* --record: a frame on e's queue, redacted in the session's dialect. */
static void record(struct p9vq *p, enum x9p_rec_type type, struct vu_elem *e, uint32_t at,
		   uint32_t prod, const struct iovec *iov, int n)
{
	x9p_rec_frame(p->rec, type, e->qindex, at, prod, iov, n,
		      (enum p9_dialect)g_atomic_int_get(&p->dialect));
}

/* --record: a request as this device took it (its own copy, and a large
 * Twrite's payload where the engine writes it from), before it is
 * submitted, so that its record comes before its reply's. */
static void record_req(struct p9vq *p, struct vu_elem *e, const struct iovec *iov, int n)
{
	record(p, X9P_REC_REQ, e, chain_at(e), (uint32_t)MIN(e->in_len, UINT32_MAX), iov, n);
}

static void handle(void *opaque, struct vu_elem *e)
{
	struct p9vq *p = opaque;
	uint8_t hdr[P9_HDR_SIZE], *frame;
	uint32_t size, max = x9p_session_max_frame(p->sess);
	uint16_t tag;
	uint8_t type;
	struct p9req *r;
	bool dup;

	if (vu_iov_to_buf(e->out, e->nout, 0, hdr, sizeof(hdr)) < sizeof(hdr)) {
		vu_elem_fault(e, "request shorter than a 9P header");
		vu_elem_free(e);
		return;
	}
	size = get32(hdr);
	type = hdr[4];
	tag = get16(hdr + 5);
	if (size < P9_HDR_SIZE || size > e->out_len || size > max) {
		if (p->rec)
			record_req(p, e, &(struct iovec){ hdr, sizeof(hdr) }, 1);
		g_info("%s: %s (tag %u) of size %u: %llu bytes readable, msize %u", p->label,
		       p9_type_name(type) ? p9_type_name(type) : "message", tag, size,
		       (unsigned long long)e->out_len, max);
		vu_elem_fault(e, "9P message size field out of bounds");
		vu_elem_free(e);
		return;
	}

	r = p9vq_req_new(p, e, tag);
	g_mutex_lock(&p->lock);
	dup = g_hash_table_contains(p->tags, GUINT_TO_POINTER(tag));
	if (!dup)
		g_hash_table_insert(p->tags, GUINT_TO_POINTER(tag), r);
	g_mutex_unlock(&p->lock);
	if (p->journal) {
		/* Recorded before the read position passes it, and that before
		 * anything completes it: a chain completed and then popped
		 * again by the next worker would run twice. */
		if (!dup) {
			r->rid = x9p_journal_take(p->journal, tag, e->qindex,
						  (uint32_t)e->slot | (uint32_t)e->head << 16, size);
			r->journaled = true;
		}
		x9p_journal_set_read(p->journal, e->qindex, (uint16_t)(e->slot + 1));
	}
	if (dup) {
		/* What the guest did, though nothing takes it. */
		if (p->rec) {
			struct iovec *iov = g_new(struct iovec, e->nout);
			int k = vu_iov_slice(e->out, e->nout, 0, size, iov, e->nout);

			if (k >= 0)
				record_req(p, e, iov, k);
			g_free(iov);
		}
		/* The engine would answer on the same tag, and the two chains could
		 * not be told apart. */
		say_once(&p->said_dup, "%s: refusing a request on tag %u, which is still in flight",
			 p->label, tag);
		vu_elem_complete(e, 0);
		p9vq_req_unref(r);
		return;
	}

	if (type == P9_TWRITE && size >= TWRITE_HDR + ZC_WRITE_MIN) {
		struct iovec *data = g_new(struct iovec, e->nout);
		int nd;

		frame = g_malloc(TWRITE_HDR);
		vu_iov_to_buf(e->out, e->nout, 0, frame, TWRITE_HDR);
		nd = vu_iov_slice(e->out, e->nout, TWRITE_HDR, size - TWRITE_HDR, data, e->nout);
		if (p->rec && nd >= 0) {
			struct iovec *all = g_new(struct iovec, nd + 1);

			all[0] = (struct iovec){ frame, TWRITE_HDR };
			memcpy(all + 1, data, sizeof(*data) * (size_t)nd);
			record_req(p, e, all, nd + 1);
			g_free(all);
		}
		g_atomic_int_inc(&r->refs);
		/* nd >= 0: size was checked against the readable bytes. */
		x9p_session_submit_data(p->sess, frame, TWRITE_HDR, data, nd, release_data, r,
					p->may_inline && e->last);
		g_free(data);
	} else {
		frame = g_malloc(size);
		vu_iov_to_buf(e->out, e->nout, 0, frame, size);
		if (p->rec)
			record_req(p, e, &(struct iovec){ frame, size }, 1);
		if (type == P9_TFLUSH && size >= P9_HDR_SIZE + 2)
			r->flush_oldtag = get16(frame + P9_HDR_SIZE);
		x9p_session_submit_inline(p->sess, frame, size, p->may_inline && e->last);
	}
	/* Tversion returns once everything before it has finished. */
	if (type == P9_TVERSION)
		sweep(p);
}

static size_t iov_total(const struct iovec *iov, int n)
{
	size_t t = 0;

	for (int i = 0; i < n; i++)
		t += iov[i].iov_len;
	return t;
}

/* --record: a reply made in place, its header from here and its data
 * as read into the chain's writable buffers. */
static void record_filled(struct p9vq *p, struct vu_elem *e, const uint8_t *hdr, size_t hdrlen,
			  size_t got)
{
	struct iovec *iov = g_new(struct iovec, e->nin + 1);
	int n = vu_iov_slice(e->in, e->nin, hdrlen, got, iov + 1, e->nin);

	iov[0] = (struct iovec){ (void *)hdr, hdrlen };
	if (n >= 0)
		record(p, X9P_REC_REPLY, e, e->head, 0, iov, n + 1);
	g_free(iov);
}

/* --record: the dialect an Rversion settles, for redaction. */
static void note_version(struct p9vq *p, const struct iovec *iov, int iovcnt)
{
	uint8_t buf[64];
	size_t n = vu_iov_to_buf(iov, (unsigned)iovcnt, 0, buf, sizeof(buf));
	enum p9_dialect d;
	uint32_t msize;

	if (p9_rversion_parse(buf, n, &d, &msize))
		g_atomic_int_set(&p->dialect, d);
}

static int vq_send(void *opaque, const struct iovec *iov, int iovcnt)
{
	struct p9vq *p = opaque;
	uint8_t hdr[P9_HDR_SIZE];
	size_t total = iov_total(iov, iovcnt), off = 0;
	struct p9req *r, *t;
	struct vu_elem *e;

	if (vu_iov_to_buf(iov, (unsigned)iovcnt, 0, hdr, sizeof(hdr)) < sizeof(hdr))
		return -EPROTO;
	r = take(p, get16(hdr + 5));
	if (!r) {
		g_debug("%s: reply on tag %u without a request", p->label, get16(hdr + 5));
		return -ENOENT;
	}
	/* The flushed request's reply, if it had one, went out before this
	 * Rflush; if its chain is still here it never will. */
	if (hdr[4] == P9_RFLUSH && r->flush_oldtag >= 0 && r->flush_oldtag != get16(hdr + 5) &&
	    (t = take(p, (uint16_t)r->flush_oldtag))) {
		p9vq_finish(p, t, 0);
		p9vq_req_unref(t);
	}
	e = r->e;
	if (total > e->in_len) {
		say_once(&p->said_fit, "%s: a %zu-byte reply on tag %u does not fit the guest's %llu bytes",
			 p->label, total, get16(hdr + 5), (unsigned long long)e->in_len);
		p9vq_finish(p, r, 0);
		p9vq_req_unref(r);
		return -EMSGSIZE;
	}
	for (int i = 0; i < iovcnt; i++) {
		vu_buf_to_iov(e->in, e->nin, off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	if (x9p_attack_perturbs(hdr[4]) && total > 28) {
		/* Rgetattr: size[4] type[1] tag[2] valid[8] qid[13] mode[4] */
		uint8_t b;

		vu_iov_to_buf(e->in, e->nin, 28, &b, 1);
		b ^= 1;
		vu_buf_to_iov(e->in, e->nin, 28, &b, 1);
	}
	if (p->rec) {
		if (hdr[4] == P9_RVERSION)
			note_version(p, iov, iovcnt);
		record(p, X9P_REC_REPLY, e, e->head, 0, iov, iovcnt);
	}
	p9vq_finish(p, r, (uint32_t)total);
	p9vq_req_unref(r);
	return 0;
}

static int vq_send_fill(void *opaque, uint8_t *hdr, size_t hdrlen, size_t max,
			x9p_fill_fn fill, void *arg)
{
	struct p9vq *p = opaque;
	uint16_t tag = get16(hdr + 5);
	struct p9req *r = peek(p, tag);
	struct vu_elem *e;
	struct iovec *iov;
	size_t room;
	ssize_t got;
	int n;

	if (!r)
		return -ENOENT;
	e = r->e;
	if (hdrlen < P9_HDR_SIZE + 4 || e->in_len < hdrlen)
		return -EMSGSIZE;
	room = (size_t)MIN((uint64_t)max, e->in_len - hdrlen);
	iov = g_new(struct iovec, e->nin ? e->nin : 1);
	n = vu_iov_slice(e->in, e->nin, hdrlen, room, iov, e->nin);
	got = n < 0 ? -EFAULT : fill(arg, iov, n);
	g_free(iov);
	if (got < 0)
		return (int)got;     /* the engine answers with an error instead */
	if ((size_t)got > room)
		got = (ssize_t)room;
	x9p_reply_set_count(hdr, hdrlen, (size_t)got);
	vu_buf_to_iov(e->in, e->nin, 0, hdr, hdrlen);
	if (p->rec)
		record_filled(p, e, hdr, hdrlen, (size_t)got);
	take(p, tag);
	p9vq_finish(p, r, (uint32_t)(hdrlen + (size_t)got));
	p9vq_req_unref(r);
	return 0;
}

static const struct x9p_transport_ops transport_ops = {
	.send = vq_send,
	.send_fill = vq_send_fill,
};

static void reset(void *opaque, bool handover)
{
	struct p9vq *p = opaque;

	/*
	 * Cancels and waits for everything in flight, then a fresh session for
	 * the next driver (a new frontend, or the guest after a device reset).
	 * A handover leaves the session in the journal for the next worker;
	 * anything else ends it there too.
	 */
	if (handover) {
		x9p_session_close(p->sess);
	} else {
		x9p_session_end(p->sess);
		p->restoring = false;
	}
	sweep(p);
	p->sess = x9p_session_new(p->srv, &transport_ops, p, p->max_msize, p->label);
	if (p->journal)
		x9p_session_set_journal(p->sess, p->journal);
}

/* ops->starting: a previous worker's chains taken back (p9-vq-restore.c),
 * then, with --record, the queue's set-up. */
static uint16_t starting(void *opaque, struct vu_queue *q, uint16_t base)
{
	struct p9vq *p = opaque;
	uint16_t next = p9vq_restore(opaque, q, base);

	if (p->rec)
		x9p_rec_ring(p->rec, vu_queue_index(q), vu_queue_size(q), next,
			     vu_queue_used_idx(q), 0, 0);
	return next;
}

static void fault(void *opaque, unsigned qindex, const char *why)
{
	struct p9vq *p = opaque;

	if (p->rec)
		x9p_rec_fault(p->rec, qindex, X9P_REC_IDX_NONE, 0, why);
}

const struct vu_dev_ops p9vq_ops = {
	.handle = handle,
	.reset = reset,
	.starting = starting,
	.fault = fault,
};

void p9vq_set_recorder(struct p9vq *p, struct x9p_rec *rec)
{
	p->rec = rec;
}

void p9vq_set_journal(struct p9vq *p, struct x9p_journal *j, bool restoring)
{
	p->journal = j;
	p->restoring = restoring;
	x9p_session_set_journal(p->sess, j);
}

struct p9vq *p9vq_new(struct x9p_server *srv, uint32_t max_msize, const char *label)
{
	struct p9vq *p = g_new0(struct p9vq, 1);

	p->srv = srv;
	p->max_msize = max_msize;
	p->label = g_strdup(label);
	g_mutex_init(&p->lock);
	p->tags = g_hash_table_new(g_direct_hash, g_direct_equal);
	p->dialect = P9_DIALECT_2000L;
	p->sess = x9p_session_new(srv, &transport_ops, p, max_msize, label);
	return p;
}

void p9vq_set_inline(struct p9vq *p, bool on)
{
	p->may_inline = on;
}

void p9vq_free(struct p9vq *p)
{
	if (!p)
		return;
	x9p_session_close(p->sess);
	sweep(p);
	g_hash_table_destroy(p->tags);
	g_mutex_clear(&p->lock);
	g_free(p->label);
	g_free(p);
}
