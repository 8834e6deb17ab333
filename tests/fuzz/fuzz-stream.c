// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzzer of a journaled connection's take-over (backend/socket/stream.c,
 * x9p_stream_adopt), under ASan and UBSan.
 *
 * What a new worker reads there was written by the previous one, which a
 * client may have taken over: the stream state (inbox position, the read
 * under way, the reply going into the output pipe), the request records
 * and the inbox bytes, next to pipes holding what they hold.  Each round
 * writes a journal session of that kind, honest (frames in the inbox,
 * records on them, a read or a reply caught half way) or hostile (random
 * values, records overlapping, on forged headers, past the inbox), puts
 * bytes in the two pipes, and has a new worker take it over.  Checked:
 *  - a take-over either fails (its four descriptors closed) or gives
 *    requests to run again that are valid frames of their record's tag,
 *    in take order, within one inbox's worth of bytes in all;
 *  - an honest session is taken over, every request recorded and not
 *    answered comes back once, and the read position is past them;
 *  - nothing leaks (ASan's leak check) and nothing is read out of bounds.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "9p/p9.h"
#include "fuzz-common.h"
#include "journal/journal.h"
#include "socket/stream.h"

#define MAX_FRAME (64u * 1024)

static void put_frame(uint8_t *inbox, uint32_t at, uint32_t len, uint16_t tag, GRand *r)
{
	uint8_t hdr[P9_HDR_SIZE] = { (uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16),
				     (uint8_t)(len >> 24), P9_TWALK, (uint8_t)tag,
				     (uint8_t)(tag >> 8) };

	for (uint32_t i = 0; i < len; i++) {
		uint8_t b = i < P9_HDR_SIZE ? hdr[i] : (uint8_t)g_rand_int(r);

		inbox[(at + i) % X9P_JOURNAL_INBOX] = b;
	}
}

static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* Bytes into a pipe, so that FIONREAD says n. */
static void fill_pipe(int w, size_t n)
{
	static uint8_t junk[4096];

	while (n) {
		ssize_t k = write(w, junk, MIN(n, sizeof(junk)));

		if (k <= 0)
			break;
		n -= (size_t)k;
	}
}

struct want {
	unsigned n;                 /* honest: records not answered */
	uint32_t end;               /* honest: the furthest one's end */
};

/* An honest session: frames one after the other, some answered. */
static void honest(GRand *r, struct x9p_journal *j, struct want *w, int pin, int pout)
{
	struct x9p_jstream *st = x9p_journal_stream(j);
	uint8_t *inbox = x9p_journal_inbox(j);
	uint32_t pos = g_rand_int(r);
	unsigned n = (unsigned)g_rand_int_range(r, 0, 40);
	uint64_t live_rid = 0;
	uint16_t live_tag = 0;

	x9p_journal_set_read(j, 0, pos);
	for (unsigned i = 0; i < n; i++) {
		uint32_t len = (uint32_t)g_rand_int_range(r, P9_HDR_SIZE, 3000);
		uint16_t tag = (uint16_t)i;
		uint64_t rid;

		put_frame(inbox, pos, len, tag, r);
		rid = x9p_journal_take(j, tag, 0, pos, len);
		pos += len;
		/* A worker may die between the take of the last one and the
		 * read position passing it (then it was not submitted yet). */
		if (i + 1 < n || g_rand_boolean(r)) {
			x9p_journal_set_read(j, 0, pos);
			if (g_rand_int_range(r, 0, 3) == 0) {
				x9p_journal_answered_rid(j, tag, rid);
				continue;
			}
			live_rid = rid;
			live_tag = tag;
		}
		w->n++;
	}
	/* Past every frame: read, or recorded and run again. */
	w->end = pos;
	st->in_head = pos;
	if (g_rand_boolean(r)) {
		/* A read into the inbox caught half way: some bytes taken. */
		uint32_t fill = (uint32_t)g_rand_int_range(r, 1, 5000), took;

		took = (uint32_t)g_rand_int_range(r, 0, (gint32)fill + 1);
		st->in_base = pos;
		st->in_fill = fill;
		st->in_pending = fill;
		fill_pipe(pin, fill - took);
	}
	if (g_rand_boolean(r)) {
		/* The reply of the last request not answered going into the
		 * output pipe: in whole (then it is answered) or not at all. */
		uint32_t before = (uint32_t)g_rand_int_range(r, 0, 3000);
		uint32_t len = (uint32_t)g_rand_int_range(r, P9_HDR_SIZE, 3000);
		bool whole = g_rand_boolean(r);

		st->out_fill = before;
		st->out_len = len;
		st->out_tag = live_tag;
		st->out_rid = live_rid;
		st->out_pending = 1;
		fill_pipe(pout, before + (whole ? len : 0));
		if (whole && live_rid)
			w->n--;
	}
}

/* A hostile one: anything, with records on forged headers that overlap. */
static void hostile(GRand *r, struct x9p_journal *j, int pin, int pout)
{
	struct x9p_jstream *st = x9p_journal_stream(j);
	uint8_t *inbox = x9p_journal_inbox(j);
	uint32_t head = g_rand_boolean(r) ? g_rand_int(r) : (uint32_t)g_rand_int_range(r, 0, 1 << 22);
	unsigned n = (unsigned)g_rand_int_range(r, 0, g_rand_boolean(r) ? 200 : 3000);

	st->in_head = head;
	x9p_journal_set_read(j, 0, g_rand_boolean(r) ? head : g_rand_int(r));
	for (unsigned i = 0; i < n; i++) {
		uint32_t len = g_rand_boolean(r) ? (uint32_t)g_rand_int_range(r, 0, MAX_FRAME + 10) :
						   g_rand_int(r);
		uint32_t start = head - (uint32_t)g_rand_int_range(r, 0, X9P_JOURNAL_INBOX + 100);
		uint16_t tag = (uint16_t)g_rand_int_range(r, 0, 70000);

		/* Forged headers in the right place, often. */
		if (g_rand_boolean(r) && len <= MAX_FRAME && len >= P9_HDR_SIZE)
			put_frame(inbox, start, MIN(len, 64u), tag, r);
		if (g_rand_int_range(r, 0, 4) == 0) {
			uint8_t h[4] = { (uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16),
					 (uint8_t)(len >> 24) };

			for (int k = 0; k < 4; k++)
				inbox[(start + (uint32_t)k) % X9P_JOURNAL_INBOX] = h[k];
		}
		x9p_journal_take(j, tag, g_rand_int_range(r, 0, 8) ? 0 : g_rand_int(r), start, len);
	}
	st->in_pending = g_rand_boolean(r) ? 0 : g_rand_int(r);
	st->in_base = g_rand_int(r);
	st->in_fill = g_rand_boolean(r) ? g_rand_int(r) : (uint32_t)g_rand_int_range(r, 0, 9000);
	st->out_pending = g_rand_int_range(r, 0, 3);
	st->out_fill = g_rand_boolean(r) ? g_rand_int(r) : (uint32_t)g_rand_int_range(r, 0, 9000);
	st->out_len = g_rand_int(r);
	st->out_tag = g_rand_int(r);
	st->out_rid = g_rand_boolean(r) ? g_rand_int(r) : 0;
	fill_pipe(pin, (size_t)g_rand_int_range(r, 0, 9000));
	fill_pipe(pout, (size_t)g_rand_int_range(r, 0, 9000));
}

static void round_once(GRand *r, bool bad)
{
	int mfd = memfd_create("fuzz-stream", MFD_CLOEXEC);
	size_t size = x9p_journal_size_for(2);
	int pin[2], pout[2], fds[4];
	struct x9p_journal *j;
	struct want w = { 0, 0 };
	bool restored;
	char *why = NULL;
	GArray *runs = NULL;
	struct x9p_stream *s;

	if (mfd < 0 || ftruncate(mfd, (off_t)size) < 0 || pipe2(pin, O_CLOEXEC | O_NONBLOCK) < 0) {
		CHECK(0, "set-up: %s", g_strerror(errno));
		return;
	}
	if (pipe2(pout, O_CLOEXEC | O_NONBLOCK) < 0) {
		CHECK(0, "set-up: %s", g_strerror(errno));
		return;
	}
	j = x9p_journal_open(mfd, &restored, &why);
	CHECK(j != NULL, "a blank journal: %s", why ? why : "");
	g_free(why);
	why = NULL;
	if (!j)
		return;
	if (bad)
		hostile(r, x9p_journal_session(j, 1), pin[1], pout[1]);
	else
		honest(r, x9p_journal_session(j, 1), &w, pin[1], pout[1]);
	/* The worker dies. */
	x9p_journal_close(j);
	j = x9p_journal_open(mfd, &restored, &why);
	CHECK(j && restored, "the journal does not come back: %s", why ? why : "");
	g_free(why);
	why = NULL;
	if (!j)
		return;
	fds[0] = pin[0];
	fds[1] = pin[1];
	fds[2] = pout[0];
	fds[3] = pout[1];
	s = x9p_stream_adopt(x9p_journal_session(j, 1), fds, MAX_FRAME, &runs, &why);
	CHECK(s || bad, "an honest connection was not taken over: %s", why ? why : "");
	if (!s) {
		for (int i = 0; i < 4; i++)
			CHECK(!fd_open(fds[i]), "a refused take-over left descriptor %d open", fds[i]);
		CHECK(runs == NULL, "a refused take-over gave requests to run");
		CHECK(why != NULL, "a refused take-over without a reason");
	} else {
		size_t total = 0;
		uint64_t last = 0;

		CHECK(runs != NULL, "a take-over without its requests");
		for (guint i = 0; runs && i < runs->len; i++) {
			struct x9p_stream_rerun *rr = &g_array_index(runs, struct x9p_stream_rerun, i);

			total += rr->len;
			CHECK(rr->len >= P9_HDR_SIZE && rr->len <= MAX_FRAME, "a rerun of %u bytes",
			      rr->len);
			CHECK(p9_frame_size(rr->frame) == rr->len, "a rerun whose size field says %u, "
			      "not %u", p9_frame_size(rr->frame), rr->len);
			CHECK((rr->frame[5] | rr->frame[6] << 8) == rr->tag, "a rerun of another tag");
			CHECK(rr->rid > last, "reruns out of take order");
			last = rr->rid;
			g_free(rr->frame);
		}
		CHECK(total <= X9P_JOURNAL_INBOX, "%zu bytes to run again, more than the inbox", total);
		CHECK(bad || !runs || runs->len == w.n, "%u requests to run again, %u recorded",
		      runs ? runs->len : 0, w.n);
		CHECK(bad || x9p_journal_read_pos(x9p_journal_session(j, 1), 0) == w.end,
		      "the read position is not past the requests to run again");
		x9p_stream_free(s);
		for (int i = 0; i < 4; i++)
			CHECK(!fd_open(fds[i]), "a freed stream left descriptor %d open", fds[i]);
	}
	if (runs)
		g_array_free(runs, TRUE);
	g_free(why);
	x9p_journal_close(j);
	close(mfd);
}

int main(int argc, char **argv)
{
	gint seconds;
	gint64 seed;
	GRand *r;
	gint64 end;
	unsigned rounds = 0, bad = 0;

	fuzz_begin(&argc, &argv, "fuzz-stream", "- fuzz a journaled connection's take-over", NULL,
		   &seconds, &seed);
	g_log_set_writer_func(g_log_writer_default, NULL, NULL);
	g_log_set_always_fatal(G_LOG_FATAL_MASK);
	r = g_rand_new_with_seed((guint32)seed);
	end = g_get_monotonic_time() + (gint64)seconds * G_USEC_PER_SEC;
	while (!failure[0] && g_get_monotonic_time() < end) {
		bool hostile_round = g_rand_int_range(r, 0, 3) == 0;

		round_once(r, hostile_round);
		bad += hostile_round;
		rounds++;
	}
	g_rand_free(r);
	if (failure[0])
		return fuzz_failed("fuzz-stream", seed, "");
	printf("ok 1 - %u take-overs, %u of them of hostile journals\n", rounds, bad);
	return 0;
}
