// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A new worker of a Xen device takes over the session its previous worker
 * left in the journal (journal/journal.h).
 *
 * The rings hold every request that worker took and had not answered:
 * its consumer index was never published past them.  Each recorded one
 * is settled against the rings as they are now:
 *   - its reply was being published and the reply producer index is past
 *     its end: the guest has the answer; done;
 *   - otherwise it runs again, from the bytes still in the ring, marked as
 *     a replay so that the driver does not execute a name change twice.
 * A record that does not describe a request inside the ring's unconsumed
 * part is dropped.  Requests past the recorded read position that were
 * taken without a record do not exist: a request is recorded before the
 * read position moves past it.
 */
#define G_LOG_DOMAIN "x9p-xen"

#include <errno.h>
#include <string.h>

#include "journal/journal.h"
#include "worker/xen-rings.h"

struct rerun {
	uint16_t tag;
	unsigned ring;
	uint32_t off;               /* from the published consumer index */
	struct x9p_jreq q;
};

/* In the order they were taken, across rings: a Tflush runs after the
 * request it flushes. */
static gint by_take(gconstpointer a, gconstpointer b)
{
	const struct rerun *x = a, *y = b;

	return x->q.rid < y->q.rid ? -1 : x->q.rid > y->q.rid;
}

unsigned xring_restore(struct xconn *c)
{
	struct x9p_journal *j = c->journal;
	unsigned failed = 0;
	GArray *runs = g_array_new(FALSE, FALSE, sizeof(struct rerun));
	uint32_t avail[X9P_XEN_MAX_RINGS], readoff[X9P_XEN_MAX_RINGS];
	uint32_t max = x9p_session_max_frame(c->session);
	unsigned n, fids;

	for (unsigned i = 0; i < c->nrings; i++) {
		struct xring *r = &c->rings[i];
		uint32_t prod = __atomic_load_n(&r->intf->out_prod, __ATOMIC_ACQUIRE);

		avail[i] = prod - r->out_cons;
		if (avail[i] > r->size)
			avail[i] = 0;   /* the frontend's fault; found when it is read */
		readoff[i] = x9p_journal_read_pos(j, i) - r->out_cons;
		if (readoff[i] > avail[i])
			readoff[i] = 0;
	}
	for (unsigned t = 0; t < X9P_JOURNAL_TAGS; t++) {
		struct rerun rr = { .tag = (uint16_t)t };
		struct xring *r;
		uint8_t hdr[P9_HDR_SIZE];
		bool valid;

		if (!x9p_journal_req(j, (uint16_t)t, &rr.q))
			continue;
		valid = rr.q.ring < c->nrings;
		r = valid ? &c->rings[rr.q.ring] : NULL;
		if (valid) {
			rr.ring = rr.q.ring;
			rr.off = rr.q.start - r->out_cons;
			valid = rr.q.len >= P9_HDR_SIZE && rr.q.len <= max &&
				rr.off < avail[rr.ring] && rr.q.len <= avail[rr.ring] - rr.off;
		}
		if (valid) {
			xring_read(r, rr.q.start, hdr, sizeof(hdr));
			valid = p9_frame_size(hdr) == rr.q.len && (unsigned)(hdr[5] | hdr[6] << 8) == t;
		}
		if (valid && rr.q.state == X9P_JREQ_REPLYING &&
		    (int32_t)(r->in_prod - rr.q.reply_end) >= 0)
			valid = false;      /* answered: the guest has the reply */
		if (!valid) {
			x9p_journal_answered(j, (uint16_t)t);
			continue;
		}
		readoff[rr.ring] = MAX(readoff[rr.ring], rr.off + rr.q.len);
		g_array_append_val(runs, rr);
	}
	for (unsigned i = 0; i < c->nrings; i++) {
		c->rings[i].out_read = c->rings[i].out_cons + readoff[i];
		x9p_journal_set_read(j, i, c->rings[i].out_read);
	}
	/* The fids as they were before the requests that run again. */
	fids = x9p_session_restore(c->session);
	g_array_sort(runs, by_take);
	for (n = 0; n < runs->len; n++) {
		struct rerun *rr = &g_array_index(runs, struct rerun, n);
		struct xring *r = &c->rings[rr->ring];
		uint8_t *frame = g_malloc(rr->q.len);

		xring_read(r, rr->q.start, frame, rr->q.len);
		xring_keep(r, rr->tag, rr->q.start, rr->q.len);
		if (!x9p_session_rerun(c->session, rr->tag, frame, rr->q.len, &rr->q.taken))
			failed++;
	}
	/* Requests answered by the previous worker may still hold the ring. */
	for (unsigned i = 0; i < c->nrings; i++)
		xring_publish_cons(&c->rings[i]);
	x9p_session_log_restored(c->session, fids, n, failed);
	g_array_free(runs, TRUE);
	return n;
}
