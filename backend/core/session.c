// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Sessions: the tag table, Tflush, Tversion barriers and reply ordering.
 *
 * Every request (Tflush included) sits in the in-flight table under its
 * tag from submission until its reply is handed to the transport, so a
 * duplicate in-flight tag is always detected.  A Tflush whose target is in
 * flight marks it cancelled and queues itself on it; when the target
 * finishes, its reply (unless the cancellation made the operation fail
 * with EINTR, in which case there is none) and then the queued Rflush
 * replies are sent in one go under the send lock.  The send ticket is
 * drawn before the table lock is dropped, so a later Tflush that no longer
 * finds its target cannot overtake the target's reply; and the table lock
 * is never held while waiting to send, so a send that blocks (a full ring)
 * never blocks the table.
 */
#include <errno.h>
#include <string.h>

#include "core/core.h"
#include "journal/journal.h"

struct x9p_session *x9p_session_new(struct x9p_server *srv,
				    const struct x9p_transport_ops *ops, void *opaque,
				    uint32_t max_msize, const char *channel)
{
	struct x9p_session *s = g_new0(struct x9p_session, 1);

	s->srv = srv;
	s->ops = ops;
	s->opaque = opaque;
	s->channel = g_strdup(channel ? channel : "?");
	s->max_msize = max_msize;
	s->msize = max_msize;
	s->dialect = P9_DIALECT_2000L;
	g_mutex_init(&s->lock);
	g_cond_init(&s->drained);
	g_mutex_init(&s->send_lock);
	g_cond_init(&s->send_turn);
	s->inflight = g_hash_table_new(g_direct_hash, g_direct_equal);
	x9p_fidtab_init(&s->fids, srv->max_fids, srv->max_open);
	s->fids.xbytes_max = srv->max_xattr_bytes;
	return s;
}

bool x9p_session_versioned(const struct x9p_session *s)
{
	return g_atomic_int_get((gint *)&s->version_done) != 0;
}

uint32_t x9p_session_max_frame(const struct x9p_session *s)
{
	return (uint32_t)g_atomic_int_get((gint *)&s->msize);
}

uint64_t x9p_session_reply_bytes(struct x9p_session *s)
{
	uint64_t n;

	g_mutex_lock(&s->lock);
	n = s->reply_bytes;
	g_mutex_unlock(&s->lock);
	return n;
}

bool x9p_session_idle(struct x9p_session *s)
{
	bool idle;

	g_mutex_lock(&s->lock);
	idle = s->ninflight == 0;
	g_mutex_unlock(&s->lock);
	return idle;
}

/* Largest reply r can get: Rread and Rreaddir carry up to the count asked
 * (size[4] type[1] tag[2] fid[4] offset[8] count[4]); anything else a few
 * KiB at most (Rreadlink and a .u Rstat carry a path). */
static uint32_t reply_bound(const struct x9p_req *r, uint32_t msize)
{
	const size_t count_at = P9_HDR_SIZE + 4 + 8;

	if ((r->type == P9_TREAD || r->type == P9_TREADDIR) && r->len > count_at) {
		struct p9_rd rd;
		uint32_t count;

		p9_rd_init(&rd, r->frame + count_at, r->len - count_at);
		count = p9_get32(&rd);
		if (!rd.err)
			return MIN(count, msize - MIN(msize, P9_IOHDR_SIZE)) + P9_IOHDR_SIZE;
	}
	return MIN(8192u, msize);
}

void x9p_req_release_data(struct x9p_req *r)
{
	if (r->release) {
		r->release(r->rel_arg);
		r->release = NULL;
	}
	g_free(r->data);
	r->data = NULL;
	r->ndata = 0;
}

static void req_free(struct x9p_req *r)
{
	x9p_req_release_data(r);
	g_free(r->frame);
	g_free(r);
}

/*
 * Replies leave in ticket order.  A ticket is drawn under s->lock at the
 * moment the order is decided (a reply leaving the in-flight table, a
 * Tflush finding nothing to wait for), and then s->lock is let go before
 * waiting for the turn: a send blocked on a full ring holds up only the
 * session's other sends, never its table (drains, flushes, new requests).
 */
static guint64 send_ticket_locked(struct x9p_session *s)
{
	return s->send_next++;
}

static void send_begin(struct x9p_session *s, guint64 ticket)
{
	g_mutex_lock(&s->send_lock);
	while (s->send_serving != ticket) {
		s->send_waiters++;
		g_cond_wait(&s->send_turn, &s->send_lock);
		s->send_waiters--;
	}
}

static void send_end(struct x9p_session *s)
{
	s->send_serving++;
	if (s->send_waiters)
		g_cond_broadcast(&s->send_turn);
	g_mutex_unlock(&s->send_lock);
}

static void send_locked(struct x9p_session *s, const struct iovec *iov, int iovcnt)
{
	int err;

	if (s->srv->trace)
		x9p_trace_msg(s->srv->trace, 'R', s->channel, iov, iovcnt);
	err = s->ops->send(s->opaque, iov, iovcnt);
	if (err < 0)
		g_debug("%s: reply lost: %s", s->channel, g_strerror(-err));
}

static void send_rflush(struct x9p_session *s, uint16_t tag)
{
	uint8_t buf[P9_HDR_SIZE];
	struct p9_wr w;
	struct iovec iov;

	p9_wr_init(&w, buf, sizeof(buf));
	p9_begin_frame(&w, P9_RFLUSH, tag);
	iov.iov_base = buf;
	iov.iov_len = (size_t)p9_end_frame(&w);
	send_locked(s, &iov, 1);
}

/* Removes r and, recursively, the flushes queued on it; appends them to out. */
static unsigned unlink_chain(struct x9p_session *s, struct x9p_req *r, GQueue *out)
{
	unsigned n = 1;
	struct x9p_req *f;

	g_hash_table_remove(s->inflight, GUINT_TO_POINTER(r->tag));
	while ((f = g_queue_pop_head(&r->flushes))) {
		g_queue_push_tail(out, f);
		n += unlink_chain(s, f, out);
	}
	return n;
}

/*
 * How a finished request's reply is produced, under the send lock: either
 * a ready iovec, or a payload filled in by a callback.
 */
struct reply_src {
	const struct iovec *iov;
	int iovcnt;
	uint8_t *hdr;
	size_t hdrlen, max;
	x9p_fill_fn fill;
	void *arg;
	bool from_file;              /* the payload is file_fd at file_off */
	int file_fd;
	off_t file_off;
};

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = (v >> 24) & 0xff;
}

void x9p_reply_set_count(uint8_t *hdr, size_t hdrlen, size_t n)
{
	put_le32(hdr, (uint32_t)(hdrlen + n));
	put_le32(hdr + hdrlen - 4, (uint32_t)n);
}

/* Sends a filled reply; the send lock is held. */
static void send_filled(struct x9p_req *r, const struct reply_src *src)
{
	struct x9p_session *s = r->s;
	uint8_t ebuf[P9_HDR_SIZE + 2 + X9P_ERRMAX + 4];
	struct iovec iov[2];
	ssize_t n;
	int err;

	if (src->from_file && s->ops->send_file && !s->srv->trace) {
		err = s->ops->send_file(s->opaque, src->hdr, src->hdrlen, src->max, src->file_fd,
					src->file_off);
		if (err != -EAGAIN)
			goto failed;
	}
	if (s->ops->send_fill && !s->srv->trace) {
		err = s->ops->send_fill(s->opaque, src->hdr, src->hdrlen, src->max,
					src->fill, src->arg);
		if (err == 0)
			return;
	} else {
		/* No zero-copy path (or tracing, which needs the bytes): bounce. */
		void *buf = g_malloc(src->max ? src->max : 1);
		struct iovec b = { buf, src->max };

		n = src->fill(src->arg, &b, 1);
		if (n >= 0) {
			x9p_reply_set_count(src->hdr, src->hdrlen, (size_t)n);
			iov[0].iov_base = src->hdr;
			iov[0].iov_len = src->hdrlen;
			iov[1].iov_base = buf;
			iov[1].iov_len = (size_t)n;
			send_locked(s, iov, n ? 2 : 1);
			g_free(buf);
			return;
		}
		g_free(buf);
		err = (int)n;
	}
failed:
	if (err == 0)
		return;
	n = x9p_encode_err(s, r->tag, -err, ebuf, sizeof(ebuf));
	if (n > 0) {
		iov[0].iov_base = ebuf;
		iov[0].iov_len = (size_t)n;
		send_locked(s, iov, 1);
	}
}

/*
 * Sends r's reply.  r itself lives on until x9p_req_done(): the handler
 * that answered may still be running, and the session (and the in-flight
 * count that keeps x9p_session_close() waiting) must outlive it.  The tag,
 * though, is free from here on, since the client may reuse it as soon as it
 * sees the reply.
 */
static void finish(struct x9p_req *r, const struct reply_src *src, int result)
{
	struct x9p_session *s = r->s;
	GQueue flushed = G_QUEUE_INIT;
	bool discard = r->cancelled && !r->interrupted && result == -EINTR;
	struct x9p_req *f;
	guint64 ticket;
	unsigned n;

	if (r->answered) {
		/* A handler bug, never the client's doing: one reply per request. */
		g_critical("%s: second reply to %s (tag %u) suppressed", s->channel,
			   p9_type_name(r->type), r->tag);
		return;
	}
	g_mutex_lock(&s->lock);
	n = unlink_chain(s, r, &flushed);
	ticket = send_ticket_locked(s);
	g_mutex_unlock(&s->lock);

	send_begin(s, ticket);
	if (discard) {
		if (s->ops->dropped)
			s->ops->dropped(s->opaque, r->tag);
	} else if (src->fill)
		send_filled(r, src);
	else
		send_locked(s, src->iov, src->iovcnt);
	while ((f = g_queue_pop_head(&flushed))) {
		send_rflush(s, f->tag);
		req_free(f);
	}
	send_end(s);

	r->unlinked = n;
	r->answered = true;
	x9p_req_poison(r);
}

void x9p_req_done(struct x9p_req *r)
{
	struct x9p_session *s;

	x9p_req_unpoison(r);
	s = r->s;
	if (!r->answered) {
		/* A handler that forgot to answer must not leave the guest waiting. */
		g_critical("%s: %s (tag %u) ended without a reply; answering EIO", s->channel,
			   p9_type_name(r->type), r->tag);
		x9p_reply_err(r, EIO);
		x9p_req_unpoison(r);
	}
	g_mutex_lock(&s->lock);
	s->ninflight -= r->unlinked;
	s->reply_bytes -= r->reply_max;
	if (s->ninflight == 0 && s->drain_waiters)
		g_cond_broadcast(&s->drained);
	g_mutex_unlock(&s->lock);
	req_free(r);
}

void x9p_req_finish(struct x9p_req *r, const struct iovec *iov, int iovcnt, int result)
{
	struct reply_src src = { .iov = iov, .iovcnt = iovcnt };

	finish(r, &src, result);
}

void x9p_req_finish_fill(struct x9p_req *r, uint8_t *hdr, size_t hdrlen, size_t max,
			 x9p_fill_fn fill, void *arg)
{
	struct reply_src src = { .hdr = hdr, .hdrlen = hdrlen, .max = max,
				 .fill = fill, .arg = arg };

	finish(r, &src, 0);
}

void x9p_req_finish_file(struct x9p_req *r, uint8_t *hdr, size_t hdrlen, size_t max,
			 x9p_fill_fn fill, void *arg, int fd, off_t off)
{
	struct reply_src src = { .hdr = hdr, .hdrlen = hdrlen, .max = max,
				 .fill = fill, .arg = arg,
				 .from_file = true, .file_fd = fd, .file_off = off };

	finish(r, &src, 0);
}

/* Sends a reply for a request that never entered the table. */
void x9p_session_reply_error(struct x9p_session *s, uint16_t tag, int err)
{
	uint8_t buf[P9_HDR_SIZE + 2 + X9P_ERRMAX + 4];
	struct iovec iov;
	int len = x9p_encode_err(s, tag, err, buf, sizeof(buf));
	guint64 ticket;

	if (len < 0)
		return;
	iov.iov_base = buf;
	iov.iov_len = (size_t)len;
	g_mutex_lock(&s->lock);
	ticket = send_ticket_locked(s);
	g_mutex_unlock(&s->lock);
	send_begin(s, ticket);
	send_locked(s, &iov, 1);
	send_end(s);
}

/* interrupt: the cancelled requests' EINTR results are answered, not dropped. */
static void cancel_all_locked(struct x9p_session *s, bool interrupt)
{
	GHashTableIter it;
	gpointer k, v;

	g_hash_table_iter_init(&it, s->inflight);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		struct x9p_req *r = v;

		if (interrupt)
			r->interrupted = 1;
		r->cancelled = 1;
	}
}

static void wait_drained_locked(struct x9p_session *s)
{
	s->drain_waiters++;
	while (s->ninflight > 0)
		g_cond_wait(&s->drained, &s->lock);
	s->drain_waiters--;
}

static void submit_flush(struct x9p_session *s, struct x9p_req *r)
{
	guint64 ticket;
	struct p9_msg m;
	struct x9p_req *target;

	if (p9_decode(r->frame, r->len, s->dialect, &m) < 0) {
		/* A Tflush is never answered with an error; a broken one gets nothing
		 * to flush, so it is answered at once. */
		m.u.tflush.oldtag = P9_NOTAG;
	}
	g_mutex_lock(&s->lock);
	if (g_hash_table_contains(s->inflight, GUINT_TO_POINTER(r->tag))) {
		g_mutex_unlock(&s->lock);
		x9p_session_reply_error(s, r->tag, EBUSY);
		req_free(r);
		return;
	}
	target = m.u.tflush.oldtag == r->tag ? NULL :
		g_hash_table_lookup(s->inflight, GUINT_TO_POINTER(m.u.tflush.oldtag));
	if (target) {
		target->cancelled = 1;
		g_hash_table_insert(s->inflight, GUINT_TO_POINTER(r->tag), r);
		s->ninflight++;
		g_queue_push_tail(&target->flushes, r);
		g_mutex_unlock(&s->lock);
		return;
	}
	ticket = send_ticket_locked(s);
	g_mutex_unlock(&s->lock);
	send_begin(s, ticket);
	send_rflush(s, r->tag);
	send_end(s);
	req_free(r);
}

static void submit_version(struct x9p_session *s, struct x9p_req *r)
{
	/* Tversion aborts everything in flight: wait for those replies first
	 * so that none arrives after the Rversion. */
	g_mutex_lock(&s->lock);
	cancel_all_locked(s, false);
	wait_drained_locked(s);
	g_hash_table_insert(s->inflight, GUINT_TO_POINTER(r->tag), r);
	s->ninflight++;
	g_mutex_unlock(&s->lock);
	x9p_do_version(s, r);
	x9p_req_done(r);
}

static void submit(struct x9p_session *s, struct x9p_req *r, bool may_inline);

void x9p_session_submit(struct x9p_session *s, uint8_t *frame, size_t len)
{
	x9p_session_submit_inline(s, frame, len, false);
}

/* A request of a whole frame (taken over), or NULL when it is malformed. */
static struct x9p_req *whole_req(struct x9p_session *s, uint8_t *frame, size_t len)
{
	struct x9p_req *r;

	if (s->srv->trace) {
		struct iovec iov = { frame, len };
		x9p_trace_msg(s->srv->trace, 'T', s->channel, &iov, 1);
	}
	if (len < P9_HDR_SIZE || p9_frame_size(frame) != len) {
		g_warning("%s: dropping malformed frame of %zu bytes", s->channel, len);
		g_free(frame);
		return NULL;
	}
	r = g_new0(struct x9p_req, 1);
	r->s = s;
	r->frame = frame;
	r->len = len;
	return r;
}

void x9p_session_submit_inline(struct x9p_session *s, uint8_t *frame, size_t len,
			       bool may_inline)
{
	struct x9p_req *r = whole_req(s, frame, len);

	if (r)
		submit(s, r, may_inline);
}

void x9p_session_submit_replay(struct x9p_session *s, uint8_t *frame, size_t len,
			       const struct timespec *since)
{
	struct x9p_req *r = whole_req(s, frame, len);

	if (!r)
		return;
	r->replayed = true;
	r->replay_since = *since;
	submit(s, r, false);
}

void x9p_session_submit_data(struct x9p_session *s, uint8_t *frame, size_t len,
			     const struct iovec *data, int ndata,
			     void (*release)(void *rel_arg), void *rel_arg, bool may_inline)
{
	struct x9p_req *r;
	size_t total = len;

	for (int i = 0; i < ndata; i++)
		total += data[i].iov_len;
	if (s->srv->trace) {
		struct iovec *iov = g_new(struct iovec, (gsize)ndata + 1);
		iov[0].iov_base = frame;
		iov[0].iov_len = len;
		memcpy(iov + 1, data, sizeof(*data) * (size_t)ndata);
		x9p_trace_msg(s->srv->trace, 'T', s->channel, iov, ndata + 1);
		g_free(iov);
	}
	if (len < P9_HDR_SIZE || p9_frame_size(frame) != total || ndata < 0) {
		g_warning("%s: dropping malformed frame of %zu bytes", s->channel, total);
		g_free(frame);
		release(rel_arg);
		return;
	}
	r = g_new0(struct x9p_req, 1);
	r->s = s;
	r->frame = frame;
	r->len = len;
	r->data = g_memdup2(data, sizeof(*data) * (size_t)ndata);
	r->ndata = ndata;
	r->release = release;
	r->rel_arg = rel_arg;
	submit(s, r, may_inline);
}

/*
 * May the submitting thread run r itself?  Only when nothing else of the
 * session is in flight (a pipelining client keeps its concurrency) and r
 * cannot wait for a later request of the same client: the submitter reads
 * no more of them meanwhile, so a Tflush would go unread.  Locks never
 * wait (locks.c); an open may where the driver says so.  And not what may
 * take long by itself (Tfsync): the client's other requests would wait
 * behind it instead of running beside it.
 */
static bool run_inline(struct x9p_session *s, const struct x9p_req *r)
{
	if (s->ninflight != 1 || r->type == P9_TFSYNC)
		return false;
	if (s->srv->fs->open_may_stall &&
	    (r->type == P9_TLOPEN || r->type == P9_TOPEN || r->type == P9_TLCREATE ||
	     r->type == P9_TCREATE))
		return false;
	return true;
}

static void submit(struct x9p_session *s, struct x9p_req *r, bool may_inline)
{
	r->type = r->frame[4];
	r->tag = (uint16_t)(r->frame[5] | r->frame[6] << 8);
	g_queue_init(&r->flushes);

	if (r->type == P9_TVERSION) {
		submit_version(s, r);
		return;
	}
	if (r->type == P9_TFLUSH) {
		submit_flush(s, r);
		return;
	}

	g_mutex_lock(&s->lock);
	if (g_hash_table_contains(s->inflight, GUINT_TO_POINTER(r->tag))) {
		g_mutex_unlock(&s->lock);
		g_info("%s: refusing duplicate in-flight tag %u", s->channel, r->tag);
		x9p_session_reply_error(s, r->tag, EBUSY);
		req_free(r);
		return;
	}
	g_hash_table_insert(s->inflight, GUINT_TO_POINTER(r->tag), r);
	s->ninflight++;
	r->reply_max = reply_bound(r, x9p_session_max_frame(s));
	s->reply_bytes += r->reply_max;
	may_inline = may_inline && run_inline(s, r);
	g_mutex_unlock(&s->lock);
	if (may_inline) {
		/* No hand-off to a pool thread: the cheapest path there is. */
		x9p_dispatch(r);
		x9p_req_done(r);
		return;
	}
	g_thread_pool_push(s->srv->pool, r, NULL);
}

void x9p_session_resume(struct x9p_session *s, enum p9_dialect dialect, uint32_t msize)
{
	if (msize < X9P_MIN_MSIZE || msize > s->max_msize)
		msize = s->max_msize;
	s->dialect = dialect;
	g_atomic_int_set((gint *)&s->msize, (gint)msize);
	s->versioned = true;
	g_atomic_int_set(&s->version_done, 1);
	s->resumed = true;
}

bool x9p_session_drain(struct x9p_session *s, int64_t timeout_us, int64_t interrupt_us)
{
	gint64 end = g_get_monotonic_time() + timeout_us;
	bool drained;

	g_mutex_lock(&s->lock);
	s->drain_waiters++;
	while (s->ninflight > 0 && g_cond_wait_until(&s->drained, &s->lock, end))
		;
	if (s->ninflight > 0) {
		cancel_all_locked(s, true);
		end = g_get_monotonic_time() + interrupt_us;
		while (s->ninflight > 0 && g_cond_wait_until(&s->drained, &s->lock, end))
			;
	}
	s->drain_waiters--;
	drained = s->ninflight == 0;
	g_mutex_unlock(&s->lock);
	return drained;
}

static void close_session(struct x9p_session *s, bool forget)
{
	struct x9p_journal *j = s->journal;

	g_mutex_lock(&s->lock);
	s->closing = true;
	cancel_all_locked(s, false);
	wait_drained_locked(s);
	g_mutex_unlock(&s->lock);
	/* Kept: the journal is the next worker's, and releasing our fids and
	 * nodes must not empty it.  Forgotten: they leave it as they go. */
	if (j && !forget)
		x9p_session_set_journal(s, NULL);
	x9p_fidtab_destroy(&s->fids);
	x9p_locks_drop_session(s->srv->locks, s);
	if (j && forget) {
		x9p_journal_forget_session(j);
		x9p_session_set_journal(s, NULL);
	}
	g_hash_table_destroy(s->inflight);
	g_mutex_clear(&s->lock);
	g_mutex_clear(&s->send_lock);
	g_cond_clear(&s->send_turn);
	g_cond_clear(&s->drained);
	g_free(s->channel);
	g_free(s);
}

void x9p_session_close(struct x9p_session *s)
{
	if (s)
		close_session(s, false);
}

void x9p_session_end(struct x9p_session *s)
{
	if (s)
		close_session(s, true);
}
