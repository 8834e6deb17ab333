// SPDX-License-Identifier: GPL-2.0-or-later
/* A journaled connection's pipes, inbox and journal records; see stream.h. */
#define G_LOG_DOMAIN "x9p-socket"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <glib.h>

#include "9p/p9.h"
#include "journal/journal.h"
#include "socket/stream.h"

#define INBOX X9P_JOURNAL_INBOX
#define MASK (INBOX - 1)
G_STATIC_ASSERT((INBOX & MASK) == 0);

/* A request taken and not answered yet: its bytes hold the inbox. */
struct held {
	uint64_t rid;
	uint32_t start;
};

struct x9p_stream {
	struct x9p_journal *j;
	struct x9p_jstream *st;
	uint8_t *inbox;
	int in[2], out[2];
	size_t in_cap;              /* the input pipe's size */
	size_t out_room;            /* what the output pipe may hold */
	/* The I/O thread's. */
	uint32_t in_head;           /* bytes placed in the inbox */
	uint32_t in_fill;           /* bytes in the input pipe */
	uint32_t rpos;              /* copied out up to here */
	uint32_t taken;             /* the read position: frames taken up to here */
	GMutex lock;
	GHashTable *held;           /* tag -> struct held */
};

static inline uint32_t load(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void publish(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static void inbox_read(const struct x9p_stream *s, uint32_t at, uint8_t *dst, size_t n)
{
	size_t off = at & MASK, first = MIN(n, INBOX - off);

	memcpy(dst, s->inbox + off, first);
	memcpy(dst + first, s->inbox, n - first);
}

static struct x9p_stream *stream_alloc(struct x9p_journal *j)
{
	struct x9p_stream *s = g_new0(struct x9p_stream, 1);

	s->j = j;
	s->st = x9p_journal_stream(j);
	s->inbox = x9p_journal_inbox(j);
	s->in[0] = s->in[1] = s->out[0] = s->out[1] = -1;
	g_mutex_init(&s->lock);
	s->held = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
	return s;
}

void x9p_stream_free(struct x9p_stream *s)
{
	if (!s)
		return;
	for (int i = 0; i < 2; i++) {
		if (s->in[i] >= 0)
			close(s->in[i]);
		if (s->out[i] >= 0)
			close(s->out[i]);
	}
	g_hash_table_destroy(s->held);
	g_mutex_clear(&s->lock);
	g_free(s);
}

/* The pipes' sizes: the output one must take a whole reply of max_frame,
 * or as big a one as the system lets an unprivileged process have (the
 * connection's msize is then capped to it). */
static bool size_pipes(struct x9p_stream *s, uint32_t max_frame, char **why)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	/* A write may start in a page the pipe has begun, and end in one. */
	size_t slack = 2 * page;
	int sz = fcntl(s->out[1], F_GETPIPE_SZ);

	if (sz >= 0 && (size_t)sz < max_frame + slack) {
		int want = (int)MIN((max_frame + slack + page - 1) / page * page, (size_t)G_MAXINT);

		if (fcntl(s->out[1], F_SETPIPE_SZ, want) < 0)
			fcntl(s->out[1], F_SETPIPE_SZ, 1 << 20);
		sz = fcntl(s->out[1], F_GETPIPE_SZ);
	}
	if (sz < 0 || (size_t)sz < 64 * 1024 + slack) {
		*why = g_strdup_printf("its output pipe cannot hold a reply (%d bytes)", sz);
		return false;
	}
	s->out_room = (size_t)sz - slack;
	sz = fcntl(s->in[1], F_GETPIPE_SZ);
	s->in_cap = sz > 0 ? (size_t)sz : 4096;
	return true;
}

struct x9p_stream *x9p_stream_new(struct x9p_journal *j, uint32_t max_frame, char **why)
{
	struct x9p_stream *s;

	if (!x9p_journal_stream(j) || !x9p_journal_inbox(j)) {
		*why = g_strdup("the journal has no room for a connection");
		return NULL;
	}
	s = stream_alloc(j);
	if (pipe2(s->in, O_CLOEXEC | O_NONBLOCK) < 0 || pipe2(s->out, O_CLOEXEC | O_NONBLOCK) < 0) {
		*why = g_strdup_printf("pipe: %s", g_strerror(errno));
		x9p_stream_free(s);
		return NULL;
	}
	if (!size_pipes(s, max_frame, why)) {
		x9p_stream_free(s);
		return NULL;
	}
	/* A new session: nothing of a previous connection in this slot. */
	x9p_journal_forget_session(j);
	memset(s->st, 0, sizeof(*s->st));
	x9p_journal_set_read(j, 0, 0);
	return s;
}

void x9p_stream_pipes(const struct x9p_stream *s, int fds[4])
{
	fds[0] = s->in[0];
	fds[1] = s->in[1];
	fds[2] = s->out[0];
	fds[3] = s->out[1];
}

size_t x9p_stream_room(const struct x9p_stream *s)
{
	return s->out_room;
}

/* ---- input ---- */

/* Inbox bytes still needed: from the oldest request not answered (or the
 * read position) to the head. */
static uint32_t inbox_used(struct x9p_stream *s)
{
	uint32_t used = s->in_head - s->taken;
	GHashTableIter it;
	gpointer v;

	g_mutex_lock(&s->lock);
	g_hash_table_iter_init(&it, s->held);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		uint32_t u = s->in_head - ((struct held *)v)->start;

		if (u > used && u <= INBOX)
			used = u;
	}
	g_mutex_unlock(&s->lock);
	return used;
}

ssize_t x9p_stream_fill(struct x9p_stream *s, int rfd)
{
	uint32_t used, off, n;
	ssize_t r;

	if (!s->in_fill) {
		do
			r = splice(rfd, NULL, s->in[1], NULL, s->in_cap,
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		while (r < 0 && errno == EINTR);
		if (r < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? -EAGAIN : -errno;
		if (r == 0)
			return 0;
		s->in_fill = (uint32_t)r;
	}
	used = inbox_used(s);
	if (used >= INBOX)
		return -ENOSPC;
	off = s->in_head & MASK;
	n = MIN(MIN(s->in_fill, INBOX - used), INBOX - off);
	/* What a new worker needs to tell how much of the pipe this read
	 * took, should this worker die in it. */
	s->st->in_base = s->in_head;
	s->st->in_fill = s->in_fill;
	publish(&s->st->in_pending, n);
	do
		r = read(s->in[0], s->inbox + off, n);
	while (r < 0 && errno == EINTR);
	if (r <= 0) {
		int e = r < 0 ? errno : EIO;

		publish(&s->st->in_pending, 0);
		return -e;
	}
	s->in_head += (uint32_t)r;
	s->in_fill -= (uint32_t)r;
	publish(&s->st->in_head, s->in_head);
	publish(&s->st->in_pending, 0);
	return r;
}

size_t x9p_stream_unread(const struct x9p_stream *s)
{
	return s->in_head - s->rpos;
}

bool x9p_stream_piped(const struct x9p_stream *s)
{
	return s->in_fill != 0;
}

void x9p_stream_copy(struct x9p_stream *s, uint8_t *dst, size_t n)
{
	inbox_read(s, s->rpos, dst, n);
	s->rpos += (uint32_t)n;
}

void x9p_stream_take(struct x9p_stream *s, uint16_t tag, uint32_t size)
{
	struct held *h = g_new(struct held, 1);

	h->start = s->rpos - size;
	h->rid = x9p_journal_take(s->j, tag, 0, h->start, size);
	g_mutex_lock(&s->lock);
	g_hash_table_replace(s->held, GUINT_TO_POINTER(tag), h);
	g_mutex_unlock(&s->lock);
	s->taken = s->rpos;
	x9p_journal_set_read(s->j, 0, s->taken);
}

/* ---- output ---- */

static uint16_t hdr_tag(const uint8_t *hdr)
{
	return (uint16_t)(hdr[5] | hdr[6] << 8);
}

static void out_begin(void *arg, const uint8_t *hdr, size_t len, size_t fill)
{
	struct x9p_stream *s = arg;
	uint16_t tag = hdr_tag(hdr);
	struct held *h;

	g_mutex_lock(&s->lock);
	h = g_hash_table_lookup(s->held, GUINT_TO_POINTER(tag));
	s->st->out_rid = h ? h->rid : 0;
	g_mutex_unlock(&s->lock);
	s->st->out_fill = (uint32_t)fill;
	s->st->out_len = (uint32_t)len;
	s->st->out_tag = tag;
	publish(&s->st->out_pending, 1);
}

/* The request of tag is answered: its record and inbox bytes go. */
static void answered(struct x9p_stream *s, uint16_t tag)
{
	struct held *h;
	uint64_t rid = 0;

	g_mutex_lock(&s->lock);
	h = g_hash_table_lookup(s->held, GUINT_TO_POINTER(tag));
	if (h)
		rid = h->rid;
	g_hash_table_remove(s->held, GUINT_TO_POINTER(tag));
	g_mutex_unlock(&s->lock);
	if (rid)
		x9p_journal_answered_rid(s->j, tag, rid);
}

static void out_end(void *arg, const uint8_t *hdr)
{
	struct x9p_stream *s = arg;

	answered(s, hdr_tag(hdr));
	publish(&s->st->out_pending, 0);
}

void x9p_stream_dropped(struct x9p_stream *s, uint16_t tag)
{
	answered(s, tag);
}

void x9p_stream_outq(struct x9p_stream *s, struct x9p_outq_stage *st)
{
	int n = 0;

	ioctl(s->out[0], FIONREAD, &n);
	*st = (struct x9p_outq_stage){
		.rfd = s->out[0],
		.wfd = s->out[1],
		.room = s->out_room,
		.fill = n > 0 ? (size_t)n : 0,
		.begin = out_begin,
		.end = out_end,
		.arg = s,
	};
}

/* ---- a new worker ---- */

static gint by_rid(gconstpointer a, gconstpointer b)
{
	const struct x9p_stream_rerun *x = a, *y = b;

	return x->rid < y->rid ? -1 : x->rid > y->rid;
}

/* How far along the inbox a position is, counted back from the head. */
static uint32_t behind(const struct x9p_stream *s, uint32_t pos)
{
	return s->in_head - pos;
}

/* Settles the last read into the inbox and the last reply into the
 * output pipe; false when they do not add up. */
static bool settle_pipes(struct x9p_stream *s, char **why)
{
	struct x9p_jstream *st = s->st;
	int fin = 0, fout = 0;
	uint32_t pending = load(&st->in_pending);

	if (ioctl(s->in[0], FIONREAD, &fin) < 0 || ioctl(s->out[0], FIONREAD, &fout) < 0 ||
	    fin < 0 || fout < 0) {
		*why = g_strdup_printf("FIONREAD on its pipes: %s", g_strerror(errno));
		return false;
	}
	if (pending) {
		/* The read that was under way took what the pipe lost. */
		uint32_t took = st->in_fill - (uint32_t)fin;

		if (took > pending) {
			*why = g_strdup_printf("its input pipe holds %d bytes, %u before a read of "
					       "at most %u", fin, st->in_fill, pending);
			return false;
		}
		s->in_head = st->in_base + took;
	} else {
		s->in_head = load(&st->in_head);
	}
	s->in_fill = (uint32_t)fin;
	publish(&st->in_head, s->in_head);
	publish(&st->in_pending, 0);
	s->taken = x9p_journal_read_pos(s->j, 0);
	if (!x9p_journal_read_known(s->j, 0) || behind(s, s->taken) > INBOX) {
		*why = g_strdup("its read position is not in its inbox");
		return false;
	}
	if (load(&st->out_pending)) {
		/* The reply that was going in is in whole, or not at all. */
		if ((uint32_t)fout == st->out_fill + st->out_len && st->out_rid)
			x9p_journal_answered_rid(s->j, (uint16_t)st->out_tag, st->out_rid);
		else if ((uint32_t)fout != st->out_fill && (uint32_t)fout != st->out_fill + st->out_len) {
			*why = g_strdup_printf("its output pipe holds %d bytes: neither the %u before "
					       "a %u-byte reply nor those after it", fout,
					       st->out_fill, st->out_len);
			return false;
		}
		publish(&st->out_pending, 0);
	}
	return true;
}

struct x9p_stream *x9p_stream_adopt(struct x9p_journal *j, const int fds[4], uint32_t max_frame,
				    GArray **reruns, char **why)
{
	struct x9p_stream *s;
	GArray *runs;
	size_t total = 0;

	*reruns = NULL;
	if (!x9p_journal_stream(j) || !x9p_journal_inbox(j)) {
		for (int i = 0; i < 4; i++)
			close(fds[i]);
		*why = g_strdup("the journal has no such connection");
		return NULL;
	}
	s = stream_alloc(j);
	s->in[0] = fds[0];
	s->in[1] = fds[1];
	s->out[0] = fds[2];
	s->out[1] = fds[3];
	if (!size_pipes(s, max_frame, why) || !settle_pipes(s, why)) {
		x9p_stream_free(s);
		return NULL;
	}
	runs = g_array_new(FALSE, FALSE, sizeof(struct x9p_stream_rerun));
	for (unsigned t = 0; t < X9P_JOURNAL_TAGS; t++) {
		struct x9p_jreq q;
		uint8_t hdr[P9_HDR_SIZE];
		struct x9p_stream_rerun rr = { .tag = (uint16_t)t };
		struct held *h;
		bool valid;

		if (!x9p_journal_req(j, (uint16_t)t, &q))
			continue;
		/* Honest records do not overlap, so all of them fit in the
		 * inbox: a journal that says otherwise gets no more copied. */
		valid = q.ring == 0 && q.len >= P9_HDR_SIZE && q.len <= max_frame &&
			behind(s, q.start) <= INBOX && q.len <= behind(s, q.start) &&
			total + q.len <= INBOX;
		if (valid) {
			inbox_read(s, q.start, hdr, sizeof(hdr));
			valid = p9_frame_size(hdr) == q.len && hdr_tag(hdr) == t;
		}
		if (!valid) {
			x9p_journal_answered(j, (uint16_t)t);
			continue;
		}
		/* Taken, and the read position not yet past it. */
		if (behind(s, q.start + q.len) < behind(s, s->taken))
			s->taken = q.start + q.len;
		total += q.len;
		rr.len = q.len;
		rr.rid = q.rid;
		rr.taken = q.taken;
		rr.frame = g_malloc(q.len);
		inbox_read(s, q.start, rr.frame, q.len);
		g_array_append_val(runs, rr);
		h = g_new(struct held, 1);
		h->rid = q.rid;
		h->start = q.start;
		g_hash_table_replace(s->held, GUINT_TO_POINTER(t), h);
	}
	g_array_sort(runs, by_rid);
	s->rpos = s->taken;
	x9p_journal_set_read(j, 0, s->taken);
	*reruns = runs;
	return s;
}
