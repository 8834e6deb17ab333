// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The data path of one Xen 9pfs ring.
 *
 * Requests (`out`, written by the frontend): the ring's I/O thread reads
 * the shared producer index once, then copies each request out of shared
 * memory before anything looks at it; the header it validated is imposed
 * on the copy, so a frontend rewriting the ring meanwhile cannot change
 * what was checked.  A header size below 7, above the ring or above the
 * negotiated msize, or a producer index claiming more than the ring holds,
 * is a fault of this device.  Large Twrite payloads stay in the ring
 * (x9p_session_submit_data); the consumer index is then published only up
 * to the oldest payload the engine still uses, so the frontend cannot
 * overwrite it.
 *
 * Replies (`in`): any engine worker, under the ring's producer lock, waits
 * until the whole reply fits (never truncates, never drops), writes it,
 * then publishes the producer index once and notifies: a frontend that
 * sees a header always sees the whole reply.  A reply goes to the ring
 * its request arrived on.  Barriers follow docs/misc/9pfs.pandoc:
 *   consumer: read prod, rmb, read data, mb, write cons, notify;
 *   producer: read cons, mb, write data, wmb, write prod, notify.
 *
 * Waiting for room: a waiting worker sleeps on the ring's condition,
 * woken by the I/O thread on every event, and re-reads the consumer index
 * at least every WAIT_POLL_MS (the I/O thread may itself be busy inside
 * the engine, e.g. holding back a Tversion until older replies are out);
 * the I/O thread waiting for room in its own ring polls its event channel
 * itself.
 */
#define G_LOG_DOMAIN "x9p-xen"

#include <errno.h>
#include <stdarg.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "journal/journal.h"
#include "worker/attack.h"
#include "worker/xen-rings.h"

#define WAIT_POLL_MS 20
#define TWRITE_HDR 23u               /* size type tag fid offset count */
#define ZEROCOPY_MIN 4096u           /* smaller Twrites are simply copied */

static __thread struct xring *io_ring;  /* the ring whose I/O thread this is */

static inline uint32_t shared_load(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void shared_store(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static inline uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- ring geometry -------------------------------------------------- */

static void copy_from_ring(const uint8_t *area, uint32_t size, uint32_t idx, void *dst,
			   size_t len)
{
	uint32_t off = idx & (size - 1);
	size_t first = MIN(len, (size_t)(size - off));

	memcpy(dst, area + off, first);
	if (len > first)
		memcpy((uint8_t *)dst + first, area, len - first);
}

static void copy_to_ring(uint8_t *area, uint32_t size, uint32_t idx, const void *src,
			 size_t len)
{
	uint32_t off = idx & (size - 1);
	size_t first = MIN(len, (size_t)(size - off));

	memcpy(area + off, src, first);
	if (len > first)
		memcpy(area, (const uint8_t *)src + first, len - first);
}

/* The (at most two) pieces of [idx, idx + len) of a ring area. */
static int ring_segments(uint8_t *area, uint32_t size, uint32_t idx, size_t len,
			 struct iovec iov[2])
{
	uint32_t off = idx & (size - 1);
	size_t first = MIN(len, (size_t)(size - off));

	iov[0].iov_base = area + off;
	iov[0].iov_len = first;
	if (len == first)
		return 1;
	iov[1].iov_base = area;
	iov[1].iov_len = len - first;
	return 2;
}

static void notify(struct xring *r, uint32_t in_prod)
{
	if (r->c->rec)
		x9p_rec_notify(r->c->rec, r->idx, in_prod,
			       __atomic_load_n(&r->out_cons, __ATOMIC_RELAXED));
	if (xenevtchn_notify(r->xce, r->port) < 0)
		g_debug("%s: ring %u: notify failed: %s", r->c->label, r->idx, g_strerror(errno));
}

static bool dead(const struct xconn *c)
{
	return g_atomic_int_get(&c->dead) != 0;
}

/* No more requests are taken (dead, or handing the rings over). */
static bool intake_off(const struct xconn *c)
{
	return dead(c) || g_atomic_int_get(&c->stopping) != 0;
}

/* ---- requests ------------------------------------------------------- */

/* Publishes the consumer index up to the oldest payload still held. */
void xring_publish_cons(struct xring *r)
{
	struct xheld *h;
	uint32_t cons;
	bool moved = false;

	g_mutex_lock(&r->cons_lock);
	while ((h = g_queue_peek_head(&r->held)) && h->released)
		g_free(g_queue_pop_head(&r->held));
	cons = h ? h->start : r->out_read;
	if (cons != r->out_cons && !dead(r->c)) {
		xen_mb();
		shared_store(&r->intf->out_cons, cons);
		r->out_cons = cons;
		moved = true;
	}
	g_mutex_unlock(&r->cons_lock);
	if (moved)
		notify(r, __atomic_load_n(&r->in_prod, __ATOMIC_RELAXED));
}

/* Keeps [at, at + sz) of r's requests until refs releases. */
static struct xheld *hold(struct xring *r, uint32_t at, uint32_t sz, unsigned refs)
{
	struct xheld *h = g_new0(struct xheld, 1);

	h->r = r;
	h->start = at;
	h->end = at + sz;
	h->refs = refs;
	g_mutex_lock(&r->cons_lock);
	g_queue_push_tail(&r->held, h);
	g_mutex_unlock(&r->cons_lock);
	return h;
}

static void held_put(struct xheld *h)
{
	struct xring *r = h->r;

	g_mutex_lock(&r->cons_lock);
	if (h->refs && --h->refs == 0)
		h->released = true;
	g_mutex_unlock(&r->cons_lock);
	xring_publish_cons(r);
}

static void held_ref(struct xheld *h)
{
	g_mutex_lock(&h->r->cons_lock);
	h->refs++;
	g_mutex_unlock(&h->r->cons_lock);
}

static void release_held(void *arg)
{
	held_put(arg);
}

/* ---- the journal: requests kept until answered --------------------- */

/*
 * Records a request taken at `at` and keeps its bytes in the ring until it
 * is answered.  A tag whose previous request is still recorded: if that
 * one's reply is being published, the client saw it and reused the tag,
 * so it is answered; if not, this is a second request under a tag in
 * flight (the engine refuses it) and it is not kept.
 */
static struct xheld *journal_take(struct xring *r, uint16_t tag, uint32_t at, uint32_t sz)
{
	struct xconn *c = r->c;
	struct xheld *h = hold(r, at, sz, 1), *old;
	struct x9p_jreq q;
	bool keep = true;

	g_mutex_lock(&c->tag_lock);
	old = c->tag_held[tag];
	if (old && x9p_journal_req(c->journal, tag, &q) && q.state == X9P_JREQ_TAKEN) {
		keep = false;
		old = NULL;
	} else {
		if (old)
			x9p_journal_answered(c->journal, tag);
		c->tag_held[tag] = h;
		x9p_journal_take(c->journal, tag, r->idx, at, sz);
	}
	g_mutex_unlock(&c->tag_lock);
	if (old)
		held_put(old);
	if (!keep) {
		held_put(h);
		return NULL;
	}
	return h;
}

/* The request kept for tag, if any (its reply is about to go out). */
static struct xheld *journal_kept(struct xconn *c, uint16_t tag)
{
	struct xheld *h;

	if (!c->journal)
		return NULL;
	g_mutex_lock(&c->tag_lock);
	h = c->tag_held[tag];
	g_mutex_unlock(&c->tag_lock);
	return h;
}

void xring_read(struct xring *r, uint32_t idx, void *dst, size_t len)
{
	copy_from_ring(r->out, r->size, idx, dst, len);
}

void xring_keep(struct xring *r, uint16_t tag, uint32_t at, uint32_t sz)
{
	struct xheld *h = hold(r, at, sz, 1);

	g_mutex_lock(&r->c->tag_lock);
	r->c->tag_held[tag] = h;
	g_mutex_unlock(&r->c->tag_lock);
	r->c->tag_ring[tag] = (uint8_t)r->idx;
}

/* h's request (tag) is answered: its reply is out, or it was flushed. */
static void journal_answered(struct xconn *c, uint16_t tag, struct xheld *h)
{
	bool mine;

	if (!h)
		return;
	g_mutex_lock(&c->tag_lock);
	mine = c->tag_held[tag] == h;
	if (mine) {
		c->tag_held[tag] = NULL;
		x9p_journal_answered(c->journal, tag);
	}
	g_mutex_unlock(&c->tag_lock);
	if (mine)
		held_put(h);
}

static uint16_t reply_tag(const uint8_t *hdr)
{
	return (uint16_t)(hdr[5] | hdr[6] << 8);
}

/* A reply the transport makes itself (a write refused by max-space, a
 * request that workers died under too often). */
void xring_reply_error(struct xring *r, uint16_t tag, int err)
{
	struct xconn *c = r->c;
	uint8_t buf[P9_HDR_SIZE + 2 + 128 + 4];
	char ename[100];
	struct p9_msg m = { .tag = tag };
	enum p9_dialect d = (enum p9_dialect)g_atomic_int_get(&c->dialect);
	struct iovec iov;
	int len;

	if (d == P9_DIALECT_2000L) {
		m.type = P9_RLERROR;
		m.u.rlerror.ecode = (uint32_t)err;
	} else {
		g_strlcpy(ename, g_strerror(err), sizeof(ename));
		m.type = P9_RERROR;
		m.u.rerror.ename = p9_str_c(ename);
		m.u.rerror.ecode = (uint32_t)err;
	}
	len = p9_encode(buf, sizeof(buf), d, &m);
	if (len < 0)
		return;
	iov.iov_base = buf;
	iov.iov_len = (size_t)len;
	xring_ops.send(c, &iov, 1);
}

/*
 * The request at `at` is taken: the read position moves past it, and the
 * journal learns so, before anything may answer it.  A new worker reads
 * again from the recorded position: were it recorded after the answer,
 * the request would run twice.
 */
static void taken(struct xring *r, uint32_t sz)
{
	g_mutex_lock(&r->cons_lock);
	r->out_read += sz;
	g_mutex_unlock(&r->cons_lock);
	if (r->c->journal)
		x9p_journal_set_read(r->c->journal, r->idx, r->out_read);
}

static void record_frame(struct xring *r, enum x9p_rec_type type, uint32_t at, uint32_t prod,
			 const struct iovec *iov, int n);

/* Takes one whole request of sz bytes at out_read (validated header hdr);
 * prod: the producer index it was seen under (--record). */
static void take_request(struct xring *r, const uint8_t *hdr, uint32_t sz, uint32_t prod)
{
	struct xconn *c = r->c;
	uint32_t at = r->out_read;
	uint16_t tag = (uint16_t)(hdr[5] | hdr[6] << 8);
	struct xheld *jh = c->journal ? journal_take(r, tag, at, sz) : NULL;
	uint8_t *frame;

	c->tag_ring[tag] = (uint8_t)r->idx;
	if (hdr[4] == P9_TWRITE && sz >= TWRITE_HDR) {
		uint8_t whdr[TWRITE_HDR];
		uint32_t count;

		copy_from_ring(r->out, r->size, at, whdr, TWRITE_HDR);
		memcpy(whdr, hdr, P9_HDR_SIZE);
		count = le32(whdr + 19);
		if (c->rec) {
			/* The header as taken; the payload where the engine reads it. */
			struct iovec iov[3] = { { whdr, TWRITE_HDR } };
			int n = 1 + ring_segments(r->out, r->size, at + TWRITE_HDR,
						  sz - TWRITE_HDR, iov + 1);

			record_frame(r, X9P_REC_REQ, at, prod, iov, n);
		}
		if (c->quota && count && xq_charge_write(c->quota, count) < 0) {
			taken(r, sz);
			xring_reply_error(r, tag, ENOSPC);
			return;
		}
		if (sz - TWRITE_HDR >= ZEROCOPY_MIN) {
			struct xheld *h;
			struct iovec iov[2];
			int n;

			/* The payload stays until the engine has written it. */
			if (jh) {
				h = jh;
				held_ref(h);
			} else {
				h = hold(r, at, sz, 1);
			}
			n = ring_segments(r->out, r->size, at + TWRITE_HDR, sz - TWRITE_HDR, iov);
			frame = g_memdup2(whdr, TWRITE_HDR);
			taken(r, sz);
			x9p_session_submit_data(c->session, frame, TWRITE_HDR, iov, n,
						release_held, h, false);
			return;
		}
	}
	frame = g_malloc(sz);
	copy_from_ring(r->out, r->size, at, frame, sz);
	memcpy(frame, hdr, P9_HDR_SIZE);
	if (c->rec && !(hdr[4] == P9_TWRITE && sz >= TWRITE_HDR)) {
		/* What the engine gets, not the ring the guest may write again. */
		struct iovec iov = { frame, sz };

		record_frame(r, X9P_REC_REQ, at, prod, &iov, 1);
	}
	taken(r, sz);
	x9p_session_submit(c->session, frame, sz);
}

static void record_frame(struct xring *r, enum x9p_rec_type type, uint32_t at, uint32_t prod,
			 const struct iovec *iov, int n)
{
	x9p_rec_frame(r->c->rec, type, r->idx, at, prod, iov, n,
		      (enum p9_dialect)g_atomic_int_get(&r->c->dialect));
}

/* --record: the header of a request at out_read that broke the ring. */
static void record_bad_header(struct xring *r, const uint8_t *hdr, uint32_t prod)
{
	struct iovec iov = { (void *)hdr, P9_HDR_SIZE };

	if (r->c->rec)
		record_frame(r, X9P_REC_REQ, r->out_read, prod, &iov, 1);
}

/* The frontend broke ring r: recorded (with the index it broke it with),
 * then the device is closed. */
static void G_GNUC_PRINTF(4, 5) ring_fault(struct xring *r, enum x9p_rec_idx idx,
					   uint32_t value, const char *fmt, ...)
{
	va_list ap;
	char *why;

	va_start(ap, fmt);
	why = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	if (r->c->rec)
		x9p_rec_fault(r->c->rec, r->idx, idx, value, why);
	xconn_fault(r->c, "%s", why);
	g_free(why);
}

/* Takes every whole request the frontend has published. */
static void consume(struct xring *r)
{
	struct xconn *c = r->c;
	bool took = false;

	while (!intake_off(c)) {
		uint32_t prod = shared_load(&r->intf->out_prod);
		uint32_t queued, sz, max;
		uint8_t hdr[P9_HDR_SIZE];

		xen_rmb();
		queued = prod - r->out_read;
		if (queued > r->size) {
			ring_fault(r, X9P_REC_IDX_OUT_PROD, prod, "ring %u: request producer index "
				   "%u is %u bytes ahead of the consumer, more than the ring's %u",
				   r->idx, prod, queued, r->size);
			return;
		}
		if (queued < P9_HDR_SIZE)
			break;
		copy_from_ring(r->out, r->size, r->out_read, hdr, P9_HDR_SIZE);
		sz = le32(hdr);
		max = x9p_session_max_frame(c->session);
		if (sz < P9_HDR_SIZE || sz > r->size || sz > max) {
			record_bad_header(r, hdr, prod);
			if (sz < P9_HDR_SIZE)
				ring_fault(r, X9P_REC_IDX_NONE, 0, "ring %u: request size %u is smaller "
					   "than a 9P header", r->idx, sz);
			else if (sz > r->size)
				ring_fault(r, X9P_REC_IDX_NONE, 0, "ring %u: request size %u is larger "
					   "than the ring (%u)", r->idx, sz, r->size);
			else
				ring_fault(r, X9P_REC_IDX_NONE, 0, "ring %u: request size %u is larger "
					   "than msize %u", r->idx, sz, max);
			return;
		}
		if (queued < sz)
			break;          /* the rest is not published yet */
		take_request(r, hdr, sz, prod);
		took = true;
	}
	if (took)
		xring_publish_cons(r);
}

/* Handles one pending event of the ring's channel, if any. */
static void ack_event(struct xring *r)
{
	xenevtchn_port_or_error_t p = xenevtchn_pending(r->xce);

	if (p >= 0 && r->c->rec)
		x9p_rec_event(r->c->rec, r->idx, shared_load(&r->intf->in_cons),
			      shared_load(&r->intf->out_prod));

	if (p >= 0 && xenevtchn_unmask(r->xce, (evtchn_port_t)p) < 0)
		g_warning("%s: ring %u: unmasking the event channel failed: %s", r->c->label,
			  r->idx, g_strerror(errno));
}

void xring_wake(struct xring *r)
{
	uint64_t one = 1;

	/* No lock: the caller may hold prod_lock; waiters poll anyway. */
	g_cond_broadcast(&r->space);
	if (r->wake_fd >= 0 && write(r->wake_fd, &one, sizeof(one)) < 0)
		g_warning("%s: ring %u: waking the I/O thread failed: %s", r->c->label, r->idx,
			  g_strerror(errno));
}

gpointer xring_thread(gpointer p)
{
	struct xring *r = p;
	struct xconn *c = r->c;
	int efd = xenevtchn_fd(r->xce);

	io_ring = r;
	consume(r);
	while (!intake_off(c)) {
		struct pollfd pf[2] = {
			{ .fd = efd, .events = POLLIN },
			{ .fd = r->wake_fd, .events = POLLIN },
		};

		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			xconn_fault(c, "ring %u: waiting for events failed: %s", r->idx,
				    g_strerror(errno));
			break;
		}
		if (pf[1].revents)
			break;
		if (pf[0].revents & POLLIN)
			ack_event(r);
		/* Any event may mean the frontend took replies: wake writers. */
		g_mutex_lock(&r->prod_lock);
		g_cond_broadcast(&r->space);
		g_mutex_unlock(&r->prod_lock);
		consume(r);
	}
	io_ring = NULL;
	return NULL;
}

/* ---- replies -------------------------------------------------------- */

/* Waits (prod_lock held) until need bytes of `in` are free: 0 or -EPIPE. */
static int reserve(struct xring *r, size_t need)
{
	struct xconn *c = r->c;

	for (;;) {
		uint32_t cons, used;

		if (dead(c))
			return -EPIPE;
		cons = shared_load(&r->intf->in_cons);
		xen_mb();
		used = r->in_prod - cons;
		if (used > r->size) {
			ring_fault(r, X9P_REC_IDX_IN_CONS, cons, "ring %u: reply consumer index %u "
				   "is ahead of the producer (%u)", r->idx, cons, r->in_prod);
			return -EPIPE;
		}
		if (r->size - used >= need)
			return 0;
		if (io_ring == r) {
			struct pollfd pf = { .fd = xenevtchn_fd(r->xce), .events = POLLIN };

			g_mutex_unlock(&r->prod_lock);
			if (poll(&pf, 1, WAIT_POLL_MS) > 0 && (pf.revents & POLLIN))
				ack_event(r);
			g_mutex_lock(&r->prod_lock);
		} else {
			g_cond_wait_until(&r->space, &r->prod_lock,
					  g_get_monotonic_time() + WAIT_POLL_MS * G_TIME_SPAN_MILLISECOND);
		}
	}
}

static void publish_prod(struct xring *r, uint32_t len, const uint8_t *hdr)
{
	struct xconn *c = r->c;

	/* A new worker finding the producer index past reply_end knows the
	 * reply went out; short of it, that the request runs again. */
	if (c->journal)
		x9p_journal_replying(c->journal, reply_tag(hdr), r->in_prod + len);
	if (x9p_attack_perturbs(hdr[4])) {
		/* Rgetattr: size[4] type[1] tag[2] valid[8] qid[13] mode[4] */
		uint8_t b;

		copy_from_ring(r->in, r->size, r->in_prod + 28, &b, 1);
		b ^= 1;
		copy_to_ring(r->in, r->size, r->in_prod + 28, &b, 1);
	}
	xen_wmb();
	r->in_prod += len;
	shared_store(&r->intf->in_prod, r->in_prod);
}

static void gather(const struct iovec *iov, int iovcnt, uint8_t *dst, size_t len)
{
	for (int i = 0; i < iovcnt && len; i++) {
		size_t n = MIN(len, iov[i].iov_len);

		memcpy(dst, iov[i].iov_base, n);
		dst += n;
		len -= n;
	}
}

/* Learns the dialect from an Rversion (for replies the transport makes). */
static void snoop_version(struct xconn *c, const struct iovec *iov, int iovcnt, size_t total)
{
	uint8_t buf[64];
	size_t n = MIN(total, sizeof(buf));
	enum p9_dialect d;
	uint32_t msize;

	gather(iov, iovcnt, buf, n);
	if (!p9_rversion_parse(buf, n, &d, &msize))
		return;
	g_atomic_int_set(&c->dialect, d);
	/* Kept in XenStore so that a restarted daemon can resume the session. */
	xconn_note_version(c, d, msize);
}

static struct xring *reply_ring(struct xconn *c, const uint8_t *hdr)
{
	uint16_t tag = (uint16_t)(hdr[5] | hdr[6] << 8);

	return &c->rings[c->tag_ring[tag] % c->nrings];
}

static int xen_send(void *opaque, const struct iovec *iov, int iovcnt)
{
	struct xconn *c = opaque;
	uint8_t hdr[P9_HDR_SIZE];
	size_t total = 0, off = 0;
	struct xheld *kept;
	struct xring *r;
	uint32_t in_prod = 0;
	int err;

	for (int i = 0; i < iovcnt; i++)
		total += iov[i].iov_len;
	if (total < P9_HDR_SIZE)
		return -EINVAL;
	gather(iov, iovcnt, hdr, sizeof(hdr));
	r = reply_ring(c, hdr);
	if (total > r->size)
		return -EMSGSIZE;       /* unreachable: msize <= ring size */
	if (hdr[4] == P9_RVERSION)
		snoop_version(c, iov, iovcnt, total);
	kept = journal_kept(c, reply_tag(hdr));
	x9p_attack_point(X9P_AP_REPLY_PUBLISHING, hdr[4]);

	g_mutex_lock(&r->prod_lock);
	err = reserve(r, total);
	/* The engine's reply, not the ring the guest may write. */
	if (err == 0 && c->rec)
		record_frame(r, X9P_REC_REPLY, r->in_prod, 0, iov, iovcnt);
	if (err == 0) {
		for (int i = 0; i < iovcnt; i++) {
			copy_to_ring(r->in, r->size, r->in_prod + (uint32_t)off, iov[i].iov_base,
				     iov[i].iov_len);
			off += iov[i].iov_len;
		}
		publish_prod(r, (uint32_t)total, hdr);
		in_prod = r->in_prod;
	}
	g_mutex_unlock(&r->prod_lock);
	if (err == 0) {
		notify(r, in_prod);
		x9p_attack_point(X9P_AP_REPLY_PUBLISHED, hdr[4]);
		journal_answered(c, reply_tag(hdr), kept);
	}
	return err;
}

static int xen_send_fill(void *opaque, uint8_t *hdr, size_t hdrlen, size_t max,
			 x9p_fill_fn fill, void *arg)
{
	struct xconn *c = opaque;
	struct xheld *kept;
	struct xring *r;
	struct iovec iov[2];
	ssize_t n;
	int cnt, err;

	if (hdrlen < P9_HDR_SIZE + 4)
		return -EINVAL;
	r = reply_ring(c, hdr);
	kept = journal_kept(c, reply_tag(hdr));
	if (hdrlen + max > r->size)
		return -EMSGSIZE;
	g_mutex_lock(&r->prod_lock);
	err = reserve(r, hdrlen + max);
	if (err) {
		g_mutex_unlock(&r->prod_lock);
		return err;
	}
	n = 0;
	if (max) {
		cnt = ring_segments(r->in, r->size, r->in_prod + (uint32_t)hdrlen, max, iov);
		n = fill(arg, iov, cnt);
	}
	if (n < 0 || (size_t)n > max) {
		g_mutex_unlock(&r->prod_lock);
		return n < 0 ? (int)n : -EIO;
	}
	x9p_reply_set_count(hdr, hdrlen, (size_t)n);
	if (c->rec) {
		/* The header as made; the data as read into the ring. */
		struct iovec rec[3] = { { hdr, hdrlen } };
		int rn = 1 + (n ? ring_segments(r->in, r->size, r->in_prod + (uint32_t)hdrlen,
						(size_t)n, rec + 1) : 0);

		record_frame(r, X9P_REC_REPLY, r->in_prod, 0, rec, rn);
	}
	copy_to_ring(r->in, r->size, r->in_prod, hdr, hdrlen);
	publish_prod(r, (uint32_t)(hdrlen + (size_t)n), hdr);
	n = r->in_prod;
	g_mutex_unlock(&r->prod_lock);
	notify(r, (uint32_t)n);
	journal_answered(c, reply_tag(hdr), kept);
	return 0;
}

/* A flushed request: the Rflush that follows answers it. */
static void xen_dropped(void *opaque, uint16_t tag)
{
	struct xconn *c = opaque;

	journal_answered(c, tag, journal_kept(c, tag));
}

const struct x9p_transport_ops xring_ops = {
	.send = xen_send,
	.send_fill = xen_send_fill,
	.dropped = xen_dropped,
};
