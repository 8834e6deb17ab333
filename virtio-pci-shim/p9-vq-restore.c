// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A new worker of a vhost-user device takes over the session its previous
 * worker left in the journal (p9-vq.h, p9vq_set_journal).
 *
 * The previous worker recorded each request it popped and did not answer
 * (its chain: available index and head), and its read position.  The
 * guest gets a chain back only through the used ring, so the chain of each
 * unanswered request is still the device's, with the request in it.  QEMU,
 * having lost the backend, restarts the queue from its used index; the
 * recorded read position is used instead when it lies within one queue
 * size past that base (else the records belong to another driver: a new
 * guest).  Each record is then:
 *   - done, when its reply was being published and the used index in
 *     guest memory has passed it;
 *   - run again from its chain, marked as a replay, when the chain still
 *     holds a request with the recorded tag and size;
 *   - dropped otherwise.
 */
#define G_LOG_DOMAIN "x9p-vhost"

#include <errno.h>
#include <string.h>

#include "9p/p9.h"
#include "journal/journal.h"
#include "p9-vq-int.h"

struct rerun {
	uint16_t tag;
	struct x9p_jreq q;
	struct p9req *r;
};

static gint by_take(gconstpointer a, gconstpointer b)
{
	const struct rerun *x = a, *y = b;

	return x->q.rid < y->q.rid ? -1 : x->q.rid > y->q.rid;
}

/* The recorded request's chain, if it still holds that request. */
static struct p9req *reclaim(struct p9vq *p, struct vu_queue *q, uint16_t tag,
			     const struct x9p_jreq *rq, uint16_t window)
{
	uint16_t slot = (uint16_t)rq->start, head = (uint16_t)(rq->start >> 16);
	uint8_t hdr[P9_HDR_SIZE];
	const char *why = NULL;
	struct vu_elem *e;
	struct p9req *r;

	/* An outstanding chain may have been popped any time before the
	 * read position (the driver reuses an available slot once it is
	 * popped, not once it is answered): its head, tag and size say it. */
	if (rq->ring != vu_queue_index(q) || window == 0 || head >= vu_queue_size(q) ||
	    rq->len < P9_HDR_SIZE || rq->len > x9p_session_max_frame(p->sess))
		return NULL;
	if (rq->state == X9P_JREQ_REPLYING &&
	    (int16_t)(vu_queue_used_idx(q) - (uint16_t)rq->reply_end) >= 0)
		return NULL;        /* answered: the guest has the reply */
	e = vu_queue_chain(q, head, slot, &why);
	if (!e) {
		g_info("%s: tag %u: its chain cannot be read again: %s", p->label, tag, why);
		return NULL;
	}
	if (vu_iov_to_buf(e->out, e->nout, 0, hdr, sizeof(hdr)) < sizeof(hdr) ||
	    p9_frame_size(hdr) != rq->len || rq->len > e->out_len ||
	    (hdr[5] | hdr[6] << 8) != tag) {
		vu_elem_free(e);
		return NULL;
	}
	r = p9vq_req_new(p, e, tag);
	r->journaled = true;
	r->rid = rq->rid;
	return r;
}

uint16_t p9vq_restore(void *opaque, struct vu_queue *q, uint16_t base)
{
	struct p9vq *p = opaque;
	struct x9p_journal *j = p->journal;
	GArray *runs;
	uint16_t read, window;
	uint32_t dialect, msize;
	unsigned fids, failed = 0, n;

	if (!j || !p->restoring)
		return base;
	p->restoring = false;
	read = (uint16_t)x9p_journal_read_pos(j, vu_queue_index(q));
	window = (uint16_t)(read - base);
	if (!x9p_journal_read_known(j, vu_queue_index(q))) {
		/* Nothing was taken from this queue since the session began. */
		window = 0;
		read = base;
	} else if (window > vu_queue_size(q)) {
		g_info("%s: the journal's queue position %u is not the frontend's %u: a new "
		       "driver, its requests are not run again", p->label, read, base);
		window = 0;
		read = base;
	}
	if (x9p_journal_version(j, &dialect, &msize) && p9_dialect_name((enum p9_dialect)dialect)) {
		x9p_session_resume(p->sess, (enum p9_dialect)dialect, msize);
		g_atomic_int_set(&p->dialect, (gint)dialect);
	}
	runs = g_array_new(FALSE, FALSE, sizeof(struct rerun));
	for (unsigned t = 0; t < X9P_JOURNAL_TAGS; t++) {
		struct rerun rr = { .tag = (uint16_t)t };

		if (!x9p_journal_req(j, (uint16_t)t, &rr.q))
			continue;
		rr.r = reclaim(p, q, rr.tag, &rr.q, window);
		if (!rr.r) {
			x9p_journal_answered(j, rr.tag);
			continue;
		}
		g_array_append_val(runs, rr);
	}
	x9p_journal_set_read(j, vu_queue_index(q), read);
	/* The fids as they were before the requests that run again. */
	fids = x9p_session_restore(p->sess);
	g_array_sort(runs, by_take);
	for (n = 0; n < runs->len; n++) {
		struct rerun *rr = &g_array_index(runs, struct rerun, n);
		struct p9req *r = rr->r;
		uint8_t *frame = g_malloc(rr->q.len);

		vu_iov_to_buf(r->e->out, r->e->nout, 0, frame, rr->q.len);
		if (frame[4] == P9_TFLUSH && rr->q.len >= P9_HDR_SIZE + 2)
			r->flush_oldtag = frame[P9_HDR_SIZE] | frame[P9_HDR_SIZE + 1] << 8;
		g_mutex_lock(&p->lock);
		g_hash_table_insert(p->tags, GUINT_TO_POINTER(rr->tag), r);
		g_mutex_unlock(&p->lock);
		if (!x9p_session_rerun(p->sess, rr->tag, frame, rr->q.len, &rr->q.taken))
			failed++;
	}
	x9p_session_log_restored(p->sess, fids, n, failed);
	g_array_free(runs, TRUE);
	return read;
}
