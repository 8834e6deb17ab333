/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The proxy driver's side of the helper process: starting it, the
 * reader/supervisor thread that hands replies to their callers and
 * restarts a helper that died, and px_call() for one request.
 */
#define G_LOG_DOMAIN "x9p-proxy"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fs/proxy-int.h"

#define HELLO_TIMEOUT_MS 30000
#define WAIT_UP_US (10 * G_USEC_PER_SEC)
#define CANCEL_POLL_US (100 * G_TIME_SPAN_MILLISECOND)
#define BACKOFF_MAX_MS 5000
#define YOUNG_US (5 * G_USEC_PER_SEC)
/* How long a helper whose socket closed may take to exit by itself, so
 * that its status says why it went. */
#define DYING_GRACE_MS 500
/* First starts whose helper is killed during start-up before the driver
 * gives up: 100 ms doubling, about 3 s in all. */
#define FIRST_KILLS_MAX 6
/* How long a call whose channel broke waits for the supervisor to see the
 * helper's death (it is reaped at once; killed ones first get SIGKILL). */
#define WAIT_DEAD_US (2 * G_USEC_PER_SEC)

static struct px_conn *conn_ref(struct px_conn *cn)
{
	g_atomic_int_inc(&cn->refs);
	return cn;
}

static void chan_free(struct px_chan *ch)
{
	close(ch->sock);
	g_free(ch->buf);
	g_free(ch);
}

void px_conn_put(struct px_conn *cn)
{
	if (!cn || !g_atomic_int_dec_and_test(&cn->refs))
		return;
	/* Calls hold a reference while they use a channel: all are idle now. */
	g_ptr_array_free(cn->idle_chans, TRUE);
	g_mutex_clear(&cn->chan_lock);
	close(cn->sock);
	if (cn->exit_fd >= 0)
		close(cn->exit_fd);
	g_hash_table_destroy(cn->pending);
	g_free(cn);
}

/* lock held: kills the helper unless it was already reaped */
static void kill_locked(struct px_fs *fs, struct px_conn *cn)
{
	if (cn->dead && cn->pid <= 0)
		return;
	fs->launcher->kill(fs->launcher);
}

/* Waits for the helper to end, killing it after grace_ms; returns its status text. */
static char *reap(struct px_fs *fs, struct px_conn *cn, int grace_ms)
{
	char *st = fs->launcher->reap(fs->launcher, grace_ms);

	g_mutex_lock(&fs->lock);
	cn->pid = -1;
	g_mutex_unlock(&fs->lock);
	return st;
}

void px_conn_fail(struct px_fs *fs, struct px_conn *cn, const char *why)
{
	bool first;

	g_mutex_lock(&fs->lock);
	first = !cn->killed && !cn->dead;
	if (first) {
		cn->killed = true;
		kill_locked(fs, cn);
	}
	g_mutex_unlock(&fs->lock);
	if (first)
		g_warning("x9p-helper (pid %d) broke the protocol: %s; restarting it",
			  (int)cn->pid, why);
}

/* The HELLO exchange: the helper is up and serves what we asked for. */
static int hello(struct px_fs *fs, struct px_conn *cn, char **why)
{
	struct x9p_px_req q = { .h = { .op = X9P_PX_HELLO, .id = 0 }, .version = X9P_PX_VERSION };
	struct x9p_px_rep rep;
	struct pollfd p = { cn->sock, POLLIN, 0 };
	uint8_t *buf = g_malloc(X9P_PX_MAX_MSG + 1);
	size_t len;
	int n, fd = -1, e = -EPROTO;

	n = x9p_px_encode_req(buf, X9P_PX_MAX_MSG, &q);
	if (n < 0 || x9p_px_send(cn->sock, buf, (size_t)n, -1) < 0) {
		*why = g_strdup("cannot send HELLO");
		goto out;
	}
	do
		n = poll(&p, 1, HELLO_TIMEOUT_MS);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		*why = g_strdup("no HELLO reply");
		goto out;
	}
	n = x9p_px_recv(cn->sock, buf, X9P_PX_MAX_MSG + 1, &len, &fd);
	if (n == 1 || n == -ECONNRESET) {
		*why = g_strdup("it exited during start-up");
		goto out;
	}
	if (n < 0 || fd >= 0 || x9p_px_decode_rep(buf, len, X9P_PX_HELLO, &rep) < 0) {
		*why = g_strdup("malformed HELLO reply");
		goto out;
	}
	if (rep.status < 0) {
		*why = g_strdup_printf("HELLO refused: %s", g_strerror(-rep.status));
		goto out;
	}
	if (rep.version != X9P_PX_VERSION || rep.model != (uint32_t)fs->cfg.model ||
	    rep.multidevs != (uint32_t)fs->cfg.multidevs ||
	    !(rep.hflags & X9P_PXH_READONLY) != !fs->cfg.readonly ||
	    !(rep.hflags & X9P_PXH_NO_SETID) != !fs->cfg.no_setid) {
		*why = g_strdup("it serves another configuration than requested");
		goto out;
	}
	cn->hflags = rep.hflags;
	cn->root_dev = rep.root_dev;
	cn->root_ino = rep.root_ino;
	e = 0;
out:
	if (fd >= 0)
		close(fd);
	g_free(buf);
	return e;
}

/* *killed: the helper died of a SIGKILL during start-up (from outside: an
 * operator, the OOM killer), which says nothing about its configuration. */
static int spawn(struct px_fs *fs, struct px_conn **out, char **why, bool *killed)
{
	struct x9p_helper_proc hp = { .sock = -1, .pid = -1, .exit_fd = -1 };
	struct px_conn *cn;
	int e;

	*out = NULL;
	*killed = false;
	e = fs->launcher->start(fs->launcher, &hp, why);
	if (e < 0)
		return e;
	cn = g_new0(struct px_conn, 1);
	cn->refs = 1;
	cn->sock = hp.sock;
	cn->pid = hp.pid;
	cn->exit_fd = hp.exit_fd;
	cn->pending = g_hash_table_new(g_int64_hash, g_int64_equal);
	g_mutex_init(&cn->chan_lock);
	cn->idle_chans = g_ptr_array_new_with_free_func((GDestroyNotify)chan_free);
	e = hello(fs, cn, why);
	if (e) {
		char *st = reap(fs, cn, 0), *w = *why;

		*killed = x9p_exit_text_sigkill(st);
		*why = g_strdup_printf("%s (%s)", w, st);
		g_free(w);
		g_free(st);
		px_conn_put(cn);
		return e;
	}
	*out = cn;
	return 0;
}

/* ---- the reader / supervisor thread ---- */

/* Hands one reply to its caller; false when it answers nothing we asked. */
static bool deliver(struct px_fs *fs, struct px_conn *cn, const uint8_t *buf, size_t len, int fd)
{
	struct x9p_px_hdr h;
	struct px_call *call;

	if (x9p_px_decode_hdr(buf, len, &h) < 0 || !(h.op & X9P_PX_REPLY))
		goto bad;
	g_mutex_lock(&fs->lock);
	call = g_hash_table_lookup(cn->pending, &h.id);
	if (!call) {
		g_mutex_unlock(&fs->lock);
		goto bad;
	}
	g_hash_table_remove(cn->pending, &h.id);
	g_atomic_int_inc((gint *)&cn->served);
	call->reply = g_memdup2(buf, len);
	call->len = len;
	call->fd = fd;
	call->done = true;
	g_cond_signal(&call->cond);
	g_mutex_unlock(&fs->lock);
	return true;
bad:
	if (fd >= 0)
		close(fd);
	return false;
}

static bool readable(int fd, int timeout)
{
	struct pollfd p = { fd, POLLIN, 0 };

	return poll(&p, 1, timeout) > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR));
}

/* Serves cn until it dies, breaks the protocol or we stop. */
static void read_loop(struct px_fs *fs, struct px_conn *cn)
{
	uint8_t *buf = g_malloc(X9P_PX_MAX_MSG + 1);
	bool exited = false;

	for (;;) {
		struct pollfd p[3] = {
			{ cn->sock, POLLIN, 0 }, { fs->wake[0], POLLIN, 0 }, { cn->exit_fd, POLLIN, 0 },
		};
		size_t len;
		int fd, r;

		if (!exited) {
			r = poll(p, cn->exit_fd >= 0 ? 3 : 2, -1);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0 || (p[1].revents & POLLIN))
				break;
			if (p[2].revents & POLLIN)
				exited = true;  /* read what it sent before dying, then stop */
			if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
		} else if (!readable(cn->sock, 0)) {
			break;
		}
		r = x9p_px_recv(cn->sock, buf, X9P_PX_MAX_MSG + 1, &len, &fd);
		if (r == -EINTR || r == -EAGAIN)
			continue;
		if (r == 1)
			break;
		if (r == -EMSGSIZE || r == -EBADMSG) {
			px_conn_fail(fs, cn, r == -EMSGSIZE ? "an oversized message"
							    : "unexpected descriptors");
			break;
		}
		if (r < 0)
			break;          /* the connection is gone (ECONNRESET...) */
		if (!deliver(fs, cn, buf, len, fd)) {
			px_conn_fail(fs, cn, "a reply to no request");
			break;
		}
	}
	g_free(buf);
}

/* Returns how many calls were in flight: each goes to the next helper. */
static unsigned fail_pending(struct px_fs *fs, struct px_conn *cn)
{
	GHashTableIter it;
	gpointer k, v;
	unsigned n;

	g_mutex_lock(&fs->lock);
	cn->dead = true;
	/* Calls that saw their channel break wait for this (chan_broken). */
	g_cond_broadcast(&fs->cond);
	if (fs->conn == cn) {
		fs->conn = NULL;
		px_conn_put(cn);  /* the table's reference; the caller still has one */
	}
	n = g_hash_table_size(cn->pending);
	g_hash_table_iter_init(&it, cn->pending);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		struct px_call *call = v;

		call->status = PX_LOST;
		call->done = true;
		g_cond_signal(&call->cond);
		g_hash_table_iter_remove(&it);
	}
	g_mutex_unlock(&fs->lock);
	return n;
}

static bool stopping(struct px_fs *fs)
{
	bool s;

	g_mutex_lock(&fs->lock);
	s = fs->stopping;
	g_mutex_unlock(&fs->lock);
	return s;
}

static gpointer supervise(gpointer data)
{
	struct px_fs *fs = data;
	unsigned delay_ms = 0, first_kills = 0;
	bool first = true, start_killed;
	gint64 died = 0;

	while (!stopping(fs)) {
		struct px_conn *cn;
		char *why = NULL, *st;
		gint64 started;
		bool killed;
		unsigned lost;

		if (spawn(fs, &cn, &why, &start_killed) < 0) {
			/* A first helper killed while it started is no reason for
			 * this driver to fail: its next start is tried, a few
			 * times.  Any other first failure (the export, the
			 * sandbox) is reported at once. */
			if (first && start_killed && ++first_kills < FIRST_KILLS_MAX) {
				g_warning("x9p-helper was killed during start-up; starting another");
				g_free(why);
				delay_ms = delay_ms ? MIN(delay_ms * 2, BACKOFF_MAX_MS) : 100;
				if (readable(fs->wake[0], (int)delay_ms))
					break;
				continue;
			}
			if (first) {
				g_mutex_lock(&fs->lock);
				fs->first_done = true;
				fs->first_error = why;
				g_cond_broadcast(&fs->cond);
				g_mutex_unlock(&fs->lock);
				return NULL;
			}
			g_warning("cannot restart x9p-helper: %s", why);
			g_free(why);
			delay_ms = delay_ms ? MIN(delay_ms * 2, BACKOFF_MAX_MS) : 100;
		} else {
			px_qid_set_root(&fs->qid, cn->root_dev);
			g_mutex_lock(&fs->lock);
			cn->gen = ++fs->gen;
			fs->conn = conn_ref(cn);
			fs->first_done = true;
			g_cond_broadcast(&fs->cond);
			g_mutex_unlock(&fs->lock);
			if (!first)
				g_message("x9p-helper restarted (pid %d) after %lld ms; requests "
					  "sent again so far: %u, found already done: %u", (int)cn->pid,
					  (long long)((g_get_monotonic_time() - died) / 1000),
					  (unsigned)g_atomic_int_get((gint *)&fs->reruns),
					  (unsigned)g_atomic_int_get((gint *)&fs->found_done));
			first = false;
			started = g_get_monotonic_time();
			read_loop(fs, cn);
			lost = fail_pending(fs, cn);
			if (stopping(fs)) {
				/* An orderly end: the helper exits when its socket closes. */
				shutdown(cn->sock, SHUT_RDWR);
				g_free(reap(fs, cn, 2000));
				px_conn_put(cn);
				break;
			}
			died = g_get_monotonic_time();
			g_mutex_lock(&fs->lock);
			killed = cn->killed;
			g_mutex_unlock(&fs->lock);
			st = reap(fs, cn, killed ? 0 : DYING_GRACE_MS);
			g_warning("x9p-helper died (%s); %u requests in flight go to the next one",
				  st, lost);
			/* Immediately after a long life, real work (a request that kills
			 * every helper gives up: proxy-ops.c) or a SIGKILL from outside
			 * (the OOM killer, an operator); backing off while it dies young
			 * by itself without answering anything, or breaks the protocol. */
			if (g_get_monotonic_time() - started > YOUNG_US ||
			    g_atomic_int_get((gint *)&cn->served) > 0 ||
			    (x9p_exit_text_sigkill(st) && !killed))
				delay_ms = 0;
			else
				delay_ms = delay_ms ? MIN(delay_ms * 2, BACKOFF_MAX_MS) : 100;
			g_free(st);
			px_conn_put(cn);
		}
		g_mutex_lock(&fs->lock);
		fs->restarts++;
		g_mutex_unlock(&fs->lock);
		if (delay_ms && readable(fs->wake[0], (int)delay_ms))
			break;
	}
	/* Stopped before a first helper served: px_start() must not wait on. */
	g_mutex_lock(&fs->lock);
	if (!fs->first_done) {
		fs->first_done = true;
		fs->first_error = g_strdup("stopped during start-up");
		g_cond_broadcast(&fs->cond);
	}
	g_mutex_unlock(&fs->lock);
	return NULL;
}

/* ---- public to the driver ---- */

int px_start(struct px_fs *fs, GError **err)
{
	if (pipe2(fs->wake, O_CLOEXEC) < 0) {
		g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno), "pipe: %s",
			    g_strerror(errno));
		return -errno;
	}
	fs->thread = g_thread_new("x9p-proxy", supervise, fs);
	g_mutex_lock(&fs->lock);
	while (!fs->first_done)
		g_cond_wait(&fs->cond, &fs->lock);
	g_mutex_unlock(&fs->lock);
	if (fs->first_error) {
		g_set_error(err, G_SPAWN_ERROR, G_SPAWN_ERROR_FAILED, "cannot start x9p-helper: %s",
			    fs->first_error);
		g_thread_join(fs->thread);
		fs->thread = NULL;
		return -EIO;
	}
	return 0;
}

void px_stop(struct px_fs *fs)
{
	g_mutex_lock(&fs->lock);
	fs->stopping = true;
	g_cond_broadcast(&fs->cond);
	g_mutex_unlock(&fs->lock);
	if (fs->wake[1] >= 0 && write(fs->wake[1], "x", 1) < 0)
		g_warning("cannot wake the proxy thread: %s", g_strerror(errno));
	if (fs->thread)
		g_thread_join(fs->thread);
	fs->thread = NULL;
}

struct px_conn *px_conn_peek(struct px_fs *fs)
{
	struct px_conn *cn;

	g_mutex_lock(&fs->lock);
	cn = fs->conn ? conn_ref(fs->conn) : NULL;
	g_mutex_unlock(&fs->lock);
	return cn;
}

int px_conn_get(struct px_fs *fs, const struct x9p_ctx *c, struct px_conn **out)
{
	gint64 deadline = g_get_monotonic_time() + WAIT_UP_US;
	int e = 0;

	*out = NULL;
	g_mutex_lock(&fs->lock);
	while (!fs->conn && !fs->stopping) {
		gint64 now = g_get_monotonic_time();

		if (x9p_ctx_cancelled(c)) {
			e = -EINTR;
			break;
		}
		if (now >= deadline) {
			e = -EIO;
			break;
		}
		g_cond_wait_until(&fs->cond, &fs->lock, MIN(deadline, now + CANCEL_POLL_US));
	}
	if (e == 0 && !fs->conn)
		e = -EIO;
	if (e == 0)
		*out = conn_ref(fs->conn);
	g_mutex_unlock(&fs->lock);
	return e;
}

static uint64_t next_id(struct px_fs *fs)
{
	return __atomic_add_fetch(&fs->next_id, 1, __ATOMIC_RELAXED);
}

static size_t req_room(const struct x9p_px_req *q)
{
	return 256 + q->name.len + q->name2.len + q->target.len + q->xname.len + q->value_len;
}

void px_send_noreply(struct px_fs *fs, struct px_conn *cn, struct x9p_px_req *q)
{
	uint8_t buf[512];
	int n;

	q->h.id = next_id(fs);
	q->h.flags |= X9P_PXF_NOREPLY;
	n = x9p_px_encode_req(buf, sizeof(buf), q);
	if (n > 0)
		x9p_px_send(cn->sock, buf, (size_t)n, -1);
}

/*
 * Decodes a reply to q (*reply, len bytes, with the descriptor *rfd) into
 * rep and hands the buffer (*buf) and descriptor (*fd) to the caller;
 * returns the helper's status, or -EIO when the reply breaks the protocol
 * (the helper is then killed).  What is not handed over stays in *reply
 * and *rfd for the caller to free.
 */
static int take_reply(struct px_fs *fs, struct px_conn *cn, const struct x9p_px_req *q,
		      struct x9p_px_rep *rep, uint8_t **reply, size_t len, int *rfd,
		      uint8_t **buf, int *fd)
{
	if (x9p_px_decode_rep(*reply, len, q->h.op, rep) < 0 || rep->h.id != q->h.id) {
		px_conn_fail(fs, cn, "malformed reply");
		return -EIO;
	}
	/* A descriptor comes exactly when announced, and only where one may. */
	if (!(rep->h.flags & X9P_PXF_FD) != (*rfd < 0) || (*rfd >= 0 && !fd)) {
		px_conn_fail(fs, cn, "descriptor mismatch");
		return -EIO;
	}
	if (fd) {
		*fd = *rfd;
		*rfd = -1;
	}
	*buf = *reply;
	*reply = NULL;
	return rep->status;
}

/* A call on the shared socket; send_fd goes with the request (CHANNEL). */
static int call_shared(struct px_fs *fs, struct px_conn *cn, const struct x9p_ctx *c,
		       struct x9p_px_req *q, struct x9p_px_rep *rep, uint8_t **buf, int *fd,
		       int send_fd)
{
	struct px_call call = { .fd = -1 };
	uint8_t stackbuf[8192], *mbuf = stackbuf;
	size_t room = req_room(q);
	bool cancel_sent = false;
	int n, e;

	*buf = NULL;
	if (fd)
		*fd = -1;
	if (room > sizeof(stackbuf))
		mbuf = g_malloc(room);
	g_cond_init(&call.cond);
	g_mutex_lock(&fs->lock);
	if (cn->dead) {
		g_mutex_unlock(&fs->lock);
		e = PX_LOST;
		goto out;
	}
	q->h.id = call.id = next_id(fs);
	g_hash_table_insert(cn->pending, &call.id, &call);
	g_atomic_int_inc((gint *)&fs->inflight);
	g_mutex_unlock(&fs->lock);

	n = x9p_px_encode_req(mbuf, room, q);
	if (n < 0)
		e = n == -EINVAL ? -EINVAL : -EIO;
	else if (x9p_px_send(cn->sock, mbuf, (size_t)n, send_fd) < 0)
		e = PX_LOST;
	else
		e = 0;

	g_mutex_lock(&fs->lock);
	if (e < 0 && !call.done)
		g_hash_table_remove(cn->pending, &call.id);
	while (e == 0 && !call.done) {
		if (x9p_ctx_cancelled(c) && !cancel_sent) {
			/* Best effort: the helper skips it if not started.  The
			 * reply is still awaited; it says what happened. */
			struct x9p_px_req cq = { .h = { .op = X9P_PX_CANCEL }, .cancel_id = call.id };

			cancel_sent = true;
			g_mutex_unlock(&fs->lock);
			px_send_noreply(fs, cn, &cq);
			g_mutex_lock(&fs->lock);
			continue;
		}
		if (c && c->cancelled && !cancel_sent)
			g_cond_wait_until(&call.cond, &fs->lock, g_get_monotonic_time() + CANCEL_POLL_US);
		else
			g_cond_wait(&call.cond, &fs->lock);
	}
	g_atomic_int_dec_and_test((gint *)&fs->inflight);
	g_mutex_unlock(&fs->lock);
	if (e < 0)
		goto out;
	if (call.status < 0) {
		e = call.status;
		goto out;
	}
	e = take_reply(fs, cn, q, rep, &call.reply, call.len, &call.fd, buf, fd);
out:
	if (call.fd >= 0)
		close(call.fd);
	g_free(call.reply);
	g_cond_clear(&call.cond);
	if (mbuf != stackbuf)
		g_free(mbuf);
	return e;
}

/* ---- channels ---- */

/* Most channels one backend opens to its helper: one per engine worker
 * thread (server.h's default pool) is all a call ever waits for. */
#define MAX_CHANS 16u

/* Opens a new channel to cn's helper, or NULL (the shared socket serves). */
static struct px_chan *chan_open(struct px_fs *fs, struct px_conn *cn, const struct x9p_ctx *c)
{
	struct x9p_px_req q = { .h = { .op = X9P_PX_CHANNEL, .flags = X9P_PXF_FD } };
	struct x9p_px_rep rep;
	struct px_chan *ch;
	uint8_t *buf = NULL;
	int sv[2], e;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		g_debug("no channel to x9p-helper: socketpair: %s", g_strerror(errno));
		return NULL;
	}
	e = call_shared(fs, cn, c, &q, &rep, &buf, NULL, sv[1]);
	close(sv[1]);
	g_free(buf);
	if (e < 0) {
		close(sv[0]);
		g_mutex_lock(&cn->chan_lock);
		cn->nchans--;
		/* Asking again on every call would double their cost. */
		cn->no_more_chans = true;
		g_mutex_unlock(&cn->chan_lock);
		g_debug("x9p-helper refused a channel: %s", g_strerror(-e));
		return NULL;
	}
	ch = g_new0(struct px_chan, 1);
	ch->sock = sv[0];
	ch->buf = g_malloc(X9P_PX_MAX_MSG + 1);
	return ch;
}

/* An idle channel of cn (opening one if there may be more), or NULL. */
static struct px_chan *chan_take(struct px_fs *fs, struct px_conn *cn, const struct x9p_ctx *c)
{
	struct px_chan *ch = NULL;
	bool open = false;

	g_mutex_lock(&cn->chan_lock);
	if (cn->idle_chans->len)
		ch = g_ptr_array_steal_index_fast(cn->idle_chans, cn->idle_chans->len - 1);
	else if (!cn->no_more_chans && cn->nchans < MIN(MAX_CHANS, X9P_PX_MAX_CHANNELS))
		open = true, cn->nchans++;
	g_mutex_unlock(&cn->chan_lock);
	return open ? chan_open(fs, cn, c) : ch;
}

/*
 * A broken channel means the helper is dying (it died, or was killed for
 * breaking the protocol).  Until the supervisor has seen it, cn would still
 * be handed to new calls, which would fail too instead of waiting for the
 * restart, as they do once it is marked dead: so wait for that, briefly.
 */
static void chan_broken(struct px_fs *fs, struct px_conn *cn)
{
	gint64 end = g_get_monotonic_time() + WAIT_DEAD_US;

	g_mutex_lock(&fs->lock);
	while (!cn->dead && g_cond_wait_until(&fs->cond, &fs->lock, end))
		;
	g_mutex_unlock(&fs->lock);
}

static void chan_give(struct px_conn *cn, struct px_chan *ch, bool broken)
{
	g_mutex_lock(&cn->chan_lock);
	if (broken)
		cn->nchans--;
	else
		g_ptr_array_add(cn->idle_chans, ch);
	g_mutex_unlock(&cn->chan_lock);
	if (broken)
		chan_free(ch);
}

/*
 * Waits for the reply on ch; a cancelled caller has CANCEL sent (best
 * effort, as on the shared socket) and keeps waiting for the reply, which
 * says what happened.  CANCEL travels on the shared socket and may overtake
 * the request on its channel, when the helper ignores it: so it goes again
 * every poll period until the reply comes.  A request on a channel starts
 * at once, and only READDIR stops early when cancelled (helper/serve.h):
 * any other waits in one blocking receive, a system call less.  0 with
 * *len bytes in ch->buf, or -errno.
 */
static int chan_wait(struct px_fs *fs, struct px_conn *cn, struct px_chan *ch,
		     const struct x9p_ctx *c, const struct x9p_px_req *q, size_t *len, int *rfd)
{
	uint64_t id = q->h.id;

	for (;;) {
		int r;

		if (q->h.op == X9P_PX_READDIR && c && c->cancelled) {
			struct pollfd p = { ch->sock, POLLIN, 0 };

			r = poll(&p, 1, (int)(CANCEL_POLL_US / 1000));
			if (r == 0 && x9p_ctx_cancelled(c)) {
				struct x9p_px_req cq = { .h = { .op = X9P_PX_CANCEL }, .cancel_id = id };

				px_send_noreply(fs, cn, &cq);
			}
			if (r <= 0)
				continue;
		}
		r = x9p_px_recv(ch->sock, ch->buf, X9P_PX_MAX_MSG + 1, len, rfd);
		if (r == -EINTR || r == -EAGAIN)
			continue;
		if (r == -EMSGSIZE || r == -EBADMSG)
			px_conn_fail(fs, cn, r == -EMSGSIZE ? "an oversized message"
							    : "unexpected descriptors");
		return r == 1 ? -ECONNRESET : r;
	}
}

/* A call on ch; the channel is given back (or dropped when broken). */
static int call_chan(struct px_fs *fs, struct px_conn *cn, struct px_chan *ch,
		     const struct x9p_ctx *c, struct x9p_px_req *q, struct x9p_px_rep *rep,
		     uint8_t **buf, int *fd)
{
	uint8_t stackbuf[8192], *mbuf = stackbuf, *reply;
	size_t room = req_room(q), len = 0;
	int n, e, rfd = -1;

	if (room > sizeof(stackbuf))
		mbuf = g_malloc(room);
	q->h.id = next_id(fs);
	g_atomic_int_inc((gint *)&fs->inflight);
	n = x9p_px_encode_req(mbuf, room, q);
	if (n < 0) {
		e = n == -EINVAL ? -EINVAL : -EIO;
		chan_give(cn, ch, false);
		goto out;
	}
	e = x9p_px_send(ch->sock, mbuf, (size_t)n, -1);
	if (e == 0)
		e = chan_wait(fs, cn, ch, c, q, &len, &rfd);
	if (e < 0) {
		/* The helper died or broke the protocol: its channels go with it. */
		chan_give(cn, ch, true);
		chan_broken(fs, cn);
		e = PX_LOST;
		goto out;
	}
	g_atomic_int_inc((gint *)&cn->served);
	reply = g_memdup2(ch->buf, len);
	chan_give(cn, ch, false);
	e = take_reply(fs, cn, q, rep, &reply, len, &rfd, buf, fd);
	g_free(reply);
	if (rfd >= 0)
		close(rfd);
out:
	g_atomic_int_dec_and_test((gint *)&fs->inflight);
	if (mbuf != stackbuf)
		g_free(mbuf);
	return e;
}

int px_call_fd(struct px_fs *fs, struct px_conn *cn, const struct x9p_ctx *c,
	       struct x9p_px_req *q, struct x9p_px_rep *rep, uint8_t **buf, int send_fd)
{
	if (__atomic_load_n(&cn->dead, __ATOMIC_RELAXED))
		return PX_LOST;
	return call_shared(fs, cn, c, q, rep, buf, NULL, send_fd);
}

int px_call(struct px_fs *fs, struct px_conn *cn, const struct x9p_ctx *c,
	    struct x9p_px_req *q, struct x9p_px_rep *rep, uint8_t **buf, int *fd)
{
	struct px_chan *ch;

	*buf = NULL;
	if (fd)
		*fd = -1;
	/* A hint only: a channel of a dead helper fails on its own. */
	if (__atomic_load_n(&cn->dead, __ATOMIC_RELAXED))
		return PX_LOST;
	ch = chan_take(fs, cn, c);
	if (ch)
		return call_chan(fs, cn, ch, c, q, rep, buf, fd);
	return call_shared(fs, cn, c, q, rep, buf, fd, -1);
}

pid_t x9p_proxy_helper_pid(struct x9p_fs *base)
{
	struct px_fs *fs = PXFS(base);
	pid_t pid;

	g_mutex_lock(&fs->lock);
	pid = fs->conn ? fs->conn->pid : -1;
	g_mutex_unlock(&fs->lock);
	return pid;
}

unsigned x9p_proxy_restarts(struct x9p_fs *base)
{
	struct px_fs *fs = PXFS(base);
	unsigned n;

	g_mutex_lock(&fs->lock);
	n = fs->restarts;
	g_mutex_unlock(&fs->lock);
	return n;
}

unsigned x9p_proxy_inflight(struct x9p_fs *base)
{
	struct px_fs *fs = PXFS(base);
	unsigned n;

	n = (unsigned)g_atomic_int_get((gint *)&fs->inflight);
	return n;
}
