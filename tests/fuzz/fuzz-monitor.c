// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Monitor-protocol fuzzer: plays a hostile worker against the monitor.
 * Built with ASan and UBSan.
 *
 * Two parts, alternating:
 *  - The codec (privsep/mw.h): random packets, and valid messages of every
 *    type with flipped, cut or spliced bytes, decoded in both directions
 *    with random numbers of descriptors attached.  Checked: a packet
 *    decodes only if encoding the result gives the same bytes back; the
 *    descriptors of a refused packet are closed (none leaks), those of an
 *    accepted one are the message's, in order.
 *  - The monitor's real handling of a worker (backend/monitor/worker.c):
 *    this program re-executes itself as a hostile "worker" that reads its
 *    CONFIG and then sends a seeded mix of valid requests (READY,
 *    HELPER_START, HELPER_KILL, HELPER_REAP with any grace) and garbage
 *    (random bytes, mutated requests, monitor-only types, descriptors
 *    attached where none belong), and the Xen worker's SESSION and FAULT
 *    notes (to a monitor that takes them, or one for which they are
 *    violations), in bursts, without waiting for replies.
 *    The monitor side runs with a stand-in helper launcher that checks the
 *    monitor never starts a helper while one is live, never exceeds its
 *    start rate, never waits longer than its grace cap, and reaps the
 *    helper once the worker is gone.  Checked besides: the monitor's end
 *    of each worker is reported exactly once, and nothing crashes.
 *
 *   fuzz-monitor [--seconds N] [--seed S]
 *
 * Prints TAP (one result) and, on failure, the seed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>

#include "monitor/session-keep.h"
#include "monitor/worker.h"
#include "privsep/mw.h"
#include "fuzz-common.h"

#define HOSTILE_ENV "X9P_FUZZ_HOSTILE_SEED"

/* buf with what a KEEP_CONN must carry: a socket and two pipes' ends. */
static void send_conn(int fd, const uint8_t *buf, size_t len)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * 5)];
	} cm;
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	int fds[5], sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return;
	close(sv[1]);
	fds[0] = sv[0];
	if (pipe2(fds + 1, O_CLOEXEC) < 0) {
		close(fds[0]);
		return;
	}
	if (pipe2(fds + 3, O_CLOEXEC) < 0) {
		for (int i = 0; i < 3; i++)
			close(fds[i]);
		return;
	}
	memset(&cm, 0, sizeof(cm));
	mh.msg_control = cm.b;
	mh.msg_controllen = CMSG_SPACE(sizeof(int) * 5);
	cm.h.cmsg_level = SOL_SOCKET;
	cm.h.cmsg_type = SCM_RIGHTS;
	cm.h.cmsg_len = CMSG_LEN(sizeof(int) * 5);
	memcpy(CMSG_DATA(&cm.h), fds, sizeof(int) * 5);
	(void)!sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	for (int i = 0; i < 5; i++)
		close(fds[i]);
}

/* A valid message of a random type, encoded into buf. */
static int random_valid(GRand *r, uint8_t *buf, size_t size)
{
	struct mw_msg m;
	int n;

	mw_init(&m, (enum mw_type)g_rand_int_range(r, 1, MW_TYPE_END), g_rand_int(r));
	for (unsigned i = 0; i < m.nu; i++)
		m.u[i] = g_rand_boolean(r) ? g_rand_int(r) : (uint32_t)g_rand_int_range(r, 0, 4);
	for (int i = g_rand_int_range(r, 0, 4); i > 0; i--) {
		char s[64];

		snprintf(s, sizeof(s), "%.*s", g_rand_int_range(r, 0, 40),
			 "unix unix:/some/where tcp:127.0.0.1:5640 fd:3 xyz");
		mw_add_str(&m, s);
	}
	n = mw_encode(&m, buf, size);
	mw_clear(&m);
	return n;
}

static void mutate(GRand *r, uint8_t *buf, int *len, size_t size)
{
	/* One time in five, unchanged. */
	int which = g_rand_int_range(r, 0, FUZZ_BASIC_MUTATIONS + 1);

	if (which < FUZZ_BASIC_MUTATIONS)
		fuzz_mutate_basic(r, which, buf, len, size, MW_HDR);
}

static void fuzz_codec(GRand *r, unsigned rounds)
{
	uint8_t buf[MW_MAX_MSG + 64], again[MW_MAX_MSG + 64];

	for (unsigned k = 0; k < rounds && !failure[0]; k++) {
		int len, fds[MW_MAX_FDS + 2], nfds = g_rand_int_range(r, 0, 4);
		enum mw_dir dir = g_rand_boolean(r) ? MW_FROM_MONITOR : MW_FROM_WORKER;
		struct mw_msg m;

		if (g_rand_int_range(r, 0, 4) == 0) {
			len = g_rand_int_range(r, 0, 64);
			for (int i = 0; i < len; i++)
				buf[i] = (uint8_t)g_rand_int(r);
		} else {
			len = random_valid(r, buf, MW_MAX_MSG);
			if (len < 0)
				continue;
			if (g_rand_boolean(r))
				mutate(r, buf, &len, sizeof(buf));
		}
		for (int i = 0; i < nfds; i++)
			fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (mw_decode(buf, (size_t)len, dir, fds, (unsigned)nfds, &m) == 0) {
			int n = mw_encode(&m, again, sizeof(again));

			CHECK(n == len && memcmp(buf, again, (size_t)len) == 0,
			      "a %s message decoded but does not encode back to its bytes",
			      mw_type_name(m.type));
			CHECK((int)m.nfds == nfds, "descriptors lost in decoding");
			for (int i = 0; i < nfds; i++)
				CHECK(m.fds[i] == fds[i], "descriptors reordered in decoding");
			mw_clear(&m);
		}
		/* Refused: closed by the codec; accepted: by mw_clear. */
		for (int i = 0; i < nfds; i++)
			CHECK(fcntl(fds[i], F_GETFD) < 0 && errno == EBADF,
			      "descriptor %d left open by the codec", fds[i]);
	}
}

/* ---- the hostile worker (a child process) ---- */

static void send_raw(int fd, const uint8_t *buf, size_t len, int nfds)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * 4)];
	} cm;
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	int fds[4];

	if (nfds > 0) {
		for (int i = 0; i < nfds; i++)
			fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		cm.h.cmsg_level = SOL_SOCKET;
		cm.h.cmsg_type = SCM_RIGHTS;
		cm.h.cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(&cm.h), fds, sizeof(int) * (size_t)nfds);
	}
	(void)!sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
}

/*
 * A worker that cycles its helper as fast as the monitor lets it, one
 * worker in eight.  After kills it asked for, starts beyond
 * MWORKER_HELPER_STARTS a minute must be refused (the fake launcher checks
 * that none gets through); without kills, every one must be granted.
 * Exit CYCLE_FAILED when the monitor refused one it must grant.
 */
#define CYCLE_FAILED 7

static int cycling_worker(int ch, bool kills)
{
	for (unsigned i = 0; i < MWORKER_HELPER_STARTS + 10; i++) {
		struct mw_msg m, a;
		int32_t st;

		if (kills) {
			mw_init(&m, MW_HELPER_KILL, 0);
			mw_send(ch, &m);
			mw_clear(&m);
		}
		mw_init(&m, MW_HELPER_START, 2 * i + 1);
		mw_send(ch, &m);
		mw_clear(&m);
		if (mw_recv(ch, MW_FROM_MONITOR, &a) != 0 || a.type != MW_HELPER)
			return CYCLE_FAILED;
		st = (int32_t)a.u[MW_HP_STATUS];
		mw_clear(&a);
		if (!kills && st != 0)
			return CYCLE_FAILED;
		mw_init(&m, MW_HELPER_REAP, 2 * i + 2);
		mw_send(ch, &m);
		mw_clear(&m);
		if (mw_recv(ch, MW_FROM_MONITOR, &a) != 0 || a.type != MW_HELPER_GONE)
			return CYCLE_FAILED;
		mw_clear(&a);
	}
	return 0;
}

/*
 * Some seeds make an honest worker that sends READY and then its last
 * notes in a burst and exits at once: the monitor must take every one,
 * though its child watch may run before it has read them.
 */
static unsigned last_words(guint32 seed)
{
	return (seed >> 1) % 6 == 0 ? 1 + (seed >> 4) % 300 : 0;
}

static int last_words_worker(int ch, unsigned n)
{
	struct mw_msg m;
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	mw_init(&m, MW_READY, 0);
	mw_send(ch, &m);
	mw_clear(&m);
	for (unsigned i = 0; i < n; i++) {
		mw_init(&m, i % 2 ? MW_KEEP_FD : MW_DROP_FD, i);
		m.u[MW_KF_SLOT] = i / 2 + 1;
		if (m.type == MW_KEEP_FD)
			mw_add_fd(&m, fd);
		if (mw_send(ch, &m) < 0)
			return 4;
		mw_clear_keep_fds(&m);
	}
	_exit(0);
}

static int hostile_worker(guint32 seed)
{
	GRand *r = g_rand_new_with_seed(seed);
	uint8_t buf[MW_MAX_MSG + 64];
	struct mw_msg cfg;
	int ch = 3, n = g_rand_int_range(r, 1, 200);

	if (mw_recv(ch, MW_FROM_MONITOR, &cfg) != 0 || cfg.type != MW_CONFIG)
		return 3;
	mw_clear(&cfg);
	if ((seed & 1) && last_words(seed))
		return last_words_worker(ch, last_words(seed));
	if (g_rand_int_range(r, 0, 8) == 0)
		return cycling_worker(ch, g_rand_boolean(r));
	for (int i = 0; i < n; i++) {
		struct mw_msg m;
		int len, kind = g_rand_int_range(r, 0, 10);
		enum mw_type valid_type = MW_TYPE_END;
		static const enum mw_type valid[] = {
			MW_READY, MW_HELPER_START, MW_HELPER_KILL, MW_HELPER_REAP,
			MW_SESSION, MW_FAULT, MW_KEEP_FD, MW_DROP_FD, MW_KEEP_DEVICE,
			MW_KEEP_CONN, MW_DROP_CONN,
		};

		if (kind < 6) {
			valid_type = valid[g_rand_int_range(r, 0, G_N_ELEMENTS(valid))];
			mw_init(&m, valid_type, i);
			if (m.type == MW_HELPER_REAP)
				m.u[MW_RP_GRACE_MS] = g_rand_boolean(r) ? g_rand_int(r) :
					(uint32_t)g_rand_int_range(r, 0, 50);
			if (m.type == MW_SESSION) {
				m.u[MW_SS_DIALECT] = g_rand_int(r);
				m.u[MW_SS_MSIZE] = g_rand_int(r);
			}
			if (m.type == MW_FAULT)
				mw_add_str(&m, "ring 0: \x01\x7f fault");
			if (m.type == MW_KEEP_FD || m.type == MW_DROP_FD)
				m.u[MW_KF_SLOT] = g_rand_int(r);
			if (m.type == MW_KEEP_DEVICE && g_rand_boolean(r))
				mw_add_str(&m, "f=1 pf=0 r=0:\x01:2:3 q=0:40");
			if (m.type == MW_KEEP_CONN || m.type == MW_DROP_CONN) {
				m.u[MW_KC_SESSION] = g_rand_boolean(r) ? g_rand_int(r) :
					(uint32_t)g_rand_int_range(r, 0, 4);
				for (int k = g_rand_int_range(r, 0, 3) + (m.type == MW_KEEP_CONN);
				     k > 0; k--)
					mw_add_str(&m, "unix:1");
			}
			len = mw_encode(&m, buf, sizeof(buf));
			mw_clear(&m);
			if (kind == 5 && len > 0)
				mutate(r, buf, &len, sizeof(buf));
		} else {
			len = random_valid(r, buf, MW_MAX_MSG);
			if (kind == 9 && len > 0)
				mutate(r, buf, &len, sizeof(buf));
		}
		if (len >= 0 && kind < 6 && valid_type == MW_KEEP_CONN && g_rand_boolean(r))
			send_conn(ch, buf, (size_t)len);
		else if (len >= 0)
			send_raw(ch, buf, (size_t)len,
				 g_rand_int_range(r, 0, 8) == 0 ? g_rand_int_range(r, 1, 4) : 0);
		/* Take what came back now and then, as a real worker would. */
		if (g_rand_boolean(r)) {
			struct pollfd p = { ch, POLLIN, 0 };

			while (poll(&p, 1, g_rand_int_range(r, 0, 3)) > 0) {
				if (mw_recv(ch, MW_FROM_MONITOR, &m) != 0)
					break;
				mw_clear(&m);
			}
		}
	}
	g_rand_free(r);
	return 0;
}

/* ---- the monitor side ---- */

struct fake {
	struct x9p_helper_launcher base;
	bool live;
	unsigned starts, reaps, kills;
	gint64 window;
	unsigned in_window, forced_in_window;
	bool kill_seen;             /* since the last start */
};

static int fake_start(struct x9p_helper_launcher *l, struct x9p_helper_proc *out, char **why)
{
	struct fake *f = (struct fake *)l;
	gint64 now = g_get_monotonic_time();
	int sv[2];

	if (f->live) {
		*why = g_strdup("the previous helper was not reaped");
		return -EBUSY;
	}
	if (now - f->window > 61 * G_USEC_PER_SEC) {
		f->window = now;
		f->in_window = f->forced_in_window = 0;
	}
	f->in_window++;
	CHECK(f->in_window <= MWORKER_HELPER_RESTARTS, "%u helper starts within a minute",
	      f->in_window);
	if (f->kill_seen)
		f->forced_in_window++;
	f->kill_seen = false;
	CHECK(f->forced_in_window <= MWORKER_HELPER_STARTS,
	      "%u helper starts after kills within a minute", f->forced_in_window);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		*why = g_strdup("socketpair");
		return -errno;
	}
	close(sv[1]);
	f->live = true;
	f->starts++;
	out->sock = sv[0];
	out->pid = 4242;
	out->exit_fd = -1;
	return 0;
}

static void fake_kill(struct x9p_helper_launcher *l)
{
	((struct fake *)l)->kills++;
	((struct fake *)l)->kill_seen = true;
}

static char *fake_reap(struct x9p_helper_launcher *l, int grace_ms)
{
	struct fake *f = (struct fake *)l;

	CHECK(grace_ms >= 0 && grace_ms <= 10000, "a reap waiting %d ms", grace_ms);
	f->live = false;
	f->reaps++;
	return g_strdup("exit status 0");
}

static void fake_destroy(struct x9p_helper_launcher *l)
{
}

struct round {
	GMainLoop *loop;
	int exits;
	bool ready;
	unsigned notes;
	struct x9p_kept *kept;      /* what a vhost-user monitor keeps of them */
};

/* The Xen monitor's notes: their values are the receiver's to check. */
static void on_note(void *opaque, struct x9p_mworker *w, const struct mw_msg *m)
{
	struct round *rd = opaque;

	CHECK(m->type == MW_SESSION || m->type == MW_FAULT || m->type == MW_KEEP_FD ||
	      m->type == MW_DROP_FD || m->type == MW_KEEP_DEVICE || m->type == MW_KEEP_CONN ||
	      m->type == MW_DROP_CONN, "a note of type %u", m->type);
	CHECK(m->type != MW_FAULT || m->ns <= 1, "a FAULT with %u strings", m->ns);
	CHECK(m->type != MW_KEEP_FD || m->nfds <= 1, "a KEEP_FD with %u descriptors", m->nfds);
	CHECK(m->type == MW_KEEP_FD || m->type == MW_KEEP_DEVICE || m->type == MW_KEEP_CONN ||
	      m->nfds == 0, "a %s with descriptors", mw_type_name(m->type));
	CHECK(m->type != MW_KEEP_CONN || m->nfds <= MW_KC_MAX_FDS, "a KEEP_CONN with %u "
	      "descriptors", m->nfds);
	if (m->type != MW_SESSION && m->type != MW_FAULT)
		x9p_kept_note(rd->kept, m);
	rd->notes++;
}

static void on_ready(void *opaque, struct x9p_mworker *w)
{
	((struct round *)opaque)->ready = true;
}

static void on_exited(void *opaque, struct x9p_mworker *w, int status)
{
	struct round *rd = opaque;

	CHECK(!WIFEXITED(status) || WEXITSTATUS(status) != CYCLE_FAILED,
	      "the monitor refused a helper start it must grant");
	rd->exits++;
	g_main_loop_quit(rd->loop);
}

static gboolean round_timeout(gpointer data)
{
	CHECK(false, "a hostile worker's end was not reported within 30 s");
	g_main_loop_quit(data);
	return G_SOURCE_REMOVE;
}

static void fuzz_monitor(guint32 seed, struct fake *f)
{
	struct round rd = { .loop = g_main_loop_new(NULL, FALSE), .kept = x9p_kept_new("fuzz") };
	struct mw_msg cfg;
	struct x9p_mworker_cfg wc = {
		.daemon = "fuzz-monitor",
		.label = "fuzz",
		.program = "/proc/self/exe",
		.config = &cfg,
		.helpers = &f->base,
		.ready = on_ready,
		.exited = on_exited,
		.note = seed & 1 ? on_note : NULL,
		.opaque = &rd,
	};
	struct x9p_mworker *w;
	GError *err = NULL;
	char s[16];
	guint t;

	/* The monitor's start limit holds per worker. */
	f->window = g_get_monotonic_time();
	f->in_window = f->forced_in_window = 0;
	f->kill_seen = false;
	mw_init(&cfg, MW_CONFIG, 0);
	mw_add_str(&cfg, "fuzz");
	mw_add_str(&cfg, "");
	mw_add_str(&cfg, "");
	snprintf(s, sizeof(s), "%u", seed);
	g_setenv(HOSTILE_ENV, s, TRUE);
	w = x9p_mworker_start(&wc, &err);
	CHECK(w != NULL, "cannot start a hostile worker: %s", err ? err->message : "?");
	if (w) {
		t = g_timeout_add_seconds(30, round_timeout, rd.loop);
		g_main_loop_run(rd.loop);
		g_source_remove(t);
		CHECK(rd.exits == 1, "the worker's end reported %d times", rd.exits);
		CHECK(!(seed & 1) || !last_words(seed) || rd.notes == last_words(seed),
		      "%u of the %u notes a worker sent before it exited reached the monitor",
		      rd.notes, last_words(seed));
		CHECK(!f->live, "the helper of a dead worker was not reaped");
		x9p_mworker_free(w);
	}
	g_clear_error(&err);
	mw_clear(&cfg);
	g_ptr_array_unref(x9p_kept_msgs(rd.kept));
	x9p_kept_free(rd.kept);
	g_main_loop_unref(rd.loop);
}

static GLogWriterOutput quiet_writer(GLogLevelFlags level, const GLogField *fields, gsize n,
				     gpointer data)
{
	return G_LOG_WRITER_HANDLED;
}

int main(int argc, char **argv)
{
	const char *hostile = getenv(HOSTILE_ENV);
	gint seconds;
	gint64 seed;
	struct fake f = { .base = { fake_start, fake_kill, fake_reap, fake_destroy } };
	unsigned rounds = 0, codec = 0;
	GRand *r;
	gint64 end;

	if (hostile)
		return hostile_worker((guint32)strtoul(hostile, NULL, 10));
	fuzz_begin(&argc, &argv, "fuzz-monitor", "- fuzz the monitor-worker protocol", NULL,
		   &seconds, &seed);
	g_log_set_writer_func(quiet_writer, NULL, NULL);
	r = g_rand_new_with_seed((guint32)seed);
	end = g_get_monotonic_time() + (gint64)seconds * G_USEC_PER_SEC;
	while (!failure[0] && g_get_monotonic_time() < end) {
		fuzz_codec(r, 2000);
		codec += 2000;
		fuzz_monitor(g_rand_int(r), &f);
		rounds++;
	}
	g_rand_free(r);
	if (failure[0])
		return fuzz_failed("fuzz-monitor", seed, "");
	printf("ok 1 - %u packets decoded, %u hostile workers (%u helper starts, %u kills, "
	       "%u reaps)\n", codec, rounds, f.starts, f.kills, f.reaps);
	return 0;
}
