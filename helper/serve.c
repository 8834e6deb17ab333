/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The helper's request loop and worker pool (see serve.h). */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

#include "helper.h"
#include "ops.h"
#include "proxy.h"
#include "serve.h"

struct job {
	uint8_t *buf;
	size_t len;
	uint64_t id;
	int fd;                     /* ADOPT's descriptor, or -1 */
	volatile int cancelled;
};

/* A channel (see proxy.h): its socket, thread and the request it runs. */
struct channel {
	int sock;
	GMutex lock;                /* id and job.cancelled, against cancel() */
	struct job job;
	bool busy;
};

static int sock = -1;
static GMutex lock;
static GCond cond;
static GHashTable *running;     /* req_id -> job, for CANCEL */
static unsigned queued;
static GPtrArray *channels;     /* lock: struct channel */
static __thread struct job *current;
static __thread uint8_t *tls_msg, *tls_scratch;

static const hx_op_fn handlers[X9P_PX_OP_END] = {
	[X9P_PX_HELLO] = hx_op_hello,
	[X9P_PX_ATTACH] = hx_op_attach,
	[X9P_PX_WALK] = hx_op_walk,
	[X9P_PX_CLUNK] = hx_op_clunk,
	[X9P_PX_GETATTR] = hx_op_getattr,
	[X9P_PX_SETATTR] = hx_op_setattr,
	[X9P_PX_OPEN] = hx_op_open,
	[X9P_PX_CREATE] = hx_op_create,
	[X9P_PX_MKDIR] = hx_op_mkdir,
	[X9P_PX_MKNOD] = hx_op_mknod,
	[X9P_PX_SYMLINK] = hx_op_symlink,
	[X9P_PX_LINK] = hx_op_link,
	[X9P_PX_READLINK] = hx_op_readlink,
	[X9P_PX_RENAME] = hx_op_rename,
	[X9P_PX_UNLINK] = hx_op_unlink,
	[X9P_PX_READDIR] = hx_op_readdir,
	[X9P_PX_STATFS] = hx_op_statfs,
	[X9P_PX_FSYNC] = hx_op_fsync,
	[X9P_PX_GETXATTR] = hx_op_getxattr,
	[X9P_PX_LISTXATTR] = hx_op_listxattr,
	[X9P_PX_SETXATTR] = hx_op_setxattr,
	[X9P_PX_REMOVEXATTR] = hx_op_removexattr,
	[X9P_PX_ADOPT] = hx_op_adopt,
};

bool hx_cancelled(void)
{
	return current && current->cancelled;
}

/* A reply of header fields and a status alone. */
static void send_status(int to, uint16_t op, uint64_t id, int status)
{
	struct x9p_px_rep rep = { .h = { .op = op & ~X9P_PX_REPLY, .id = id }, .status = status };
	uint8_t buf[X9P_PX_HDR_SIZE + 4];
	int len = x9p_px_encode_rep(buf, sizeof(buf), &rep);
	int e;

	if (len > 0 && (e = x9p_px_send(to, buf, (size_t)len, -1)) < 0)
		g_debug("reply to request %llu lost: %s", (unsigned long long)id, g_strerror(-e));
}

static void finish(struct job *j)
{
	g_mutex_lock(&lock);
	if (g_hash_table_lookup(running, &j->id) == j)
		g_hash_table_remove(running, &j->id);
	queued--;
	g_cond_signal(&cond);
	g_mutex_unlock(&lock);
	g_free(j->buf);
	g_free(j);
}

/* Runs one request and sends its reply on `to`. */
static void execute(struct job *j, int to)
{
	struct x9p_px_req q;
	struct x9p_px_rep rep;
	struct hx_out o;
	int e, len;

	if (!tls_msg) {
		tls_msg = g_malloc(X9P_PX_MAX_MSG);
		tls_scratch = g_malloc(X9P_PX_MAX_MSG);
	}
	memset(&rep, 0, sizeof(rep));
	o = (struct hx_out){ .rep = &rep, .fd = -1, .in_fd = j->fd, .scratch = tls_scratch,
			     .msg = tls_msg };
	j->fd = -1;
	e = x9p_px_decode_req(j->buf, j->len, &q);
	if (e == 0 && j->cancelled)
		e = -EINTR;
	if (e == 0 && !handlers[q.h.op])
		e = -EOPNOTSUPP;
	/* Set-up messages belong to the first socket. */
	if (e == 0 && to != sock && q.h.op == X9P_PX_HELLO)
		e = -EPROTO;
	if (e == 0) {
		current = j;
		e = handlers[q.h.op](&q, &o);
		current = NULL;
	}
	if (e)
		g_debug("%s: %s", x9p_px_op_name(q.h.op) ? x9p_px_op_name(q.h.op) : "?",
			g_strerror(-e));
	if (q.h.flags & X9P_PXF_NOREPLY)
		goto out;
	if (e == 0 && o.msg_len) {
		len = (int)o.msg_len;
	} else {
		rep.h.op = q.h.op;
		rep.h.id = q.h.id;
		rep.h.flags = (e == 0 && o.fd >= 0) ? X9P_PXF_FD : 0;
		rep.status = e;
		len = x9p_px_encode_rep(tls_msg, X9P_PX_MAX_MSG, &rep);
		if (len < 0) {
			send_status(to, q.h.op, q.h.id, -EIO);
			goto out;
		}
	}
	e = x9p_px_send(to, tls_msg, (size_t)len, e == 0 ? o.fd : -1);
	/* Too big for the socket's buffer: every request still gets an answer. */
	if (e == -EMSGSIZE || e == -ENOBUFS)
		send_status(to, q.h.op, q.h.id, -EIO);
	else if (e < 0)
		g_debug("reply to request %llu lost: %s", (unsigned long long)q.h.id,
			g_strerror(-e));
out:
	/* Ours is a copy: the backend owns the one it received. */
	if (o.fd >= 0)
		close(o.fd);
	if (o.in_fd >= 0)
		close(o.in_fd);
}

static void work(gpointer data, gpointer unused)
{
	struct job *j = data;

	execute(j, sock);
	finish(j);
}

static void cancel(const uint8_t *buf, size_t len)
{
	struct x9p_px_req q;
	struct job *j;

	if (x9p_px_decode_req(buf, len, &q) != 0)
		return;
	g_mutex_lock(&lock);
	j = g_hash_table_lookup(running, &q.cancel_id);
	if (j)
		j->cancelled = 1;
	for (guint i = 0; !j && i < channels->len; i++) {
		struct channel *ch = g_ptr_array_index(channels, i);

		g_mutex_lock(&ch->lock);
		if (ch->busy && ch->job.id == q.cancel_id)
			ch->job.cancelled = 1;
		g_mutex_unlock(&ch->lock);
	}
	g_mutex_unlock(&lock);
}

/*
 * Reads the next request on s into buf (X9P_PX_MAX_MSG + 1 bytes).  0: a
 * message with a sound header *h, *len bytes; *fd is its descriptor, which
 * only CHANNEL on the first socket and ADOPT keep (-1 otherwise).  -EAGAIN: nothing
 * to serve (a malformed message was answered with EPROTO, when it asked for
 * an answer).  1: the backend closed s.  Other -errno: s failed.  On a
 * channel, set-up messages (CANCEL, CHANNEL) count as malformed.
 */
static int next_request(int s, uint8_t *buf, size_t *len, struct x9p_px_hdr *h, int *fd)
{
	bool first = s == sock;
	int r = x9p_px_recv(s, buf, X9P_PX_MAX_MSG + 1, len, fd), hr;

	/* A backend closing with our replies unread shows as a reset. */
	if (r == 1 || r == -ECONNRESET)
		return 1;
	if (r == -EINTR || r == -EAGAIN)
		return -EAGAIN;
	if (r < 0 && r != -EMSGSIZE && r != -EBADMSG)
		return r;
	hr = x9p_px_decode_hdr(buf, *len, h);
	if (hr == 0 && !first && (h->op == X9P_PX_CANCEL || h->op == X9P_PX_CHANNEL))
		hr = -EPROTO;
	/* No request but CHANNEL and ADOPT carries a descriptor. */
	if (*fd >= 0 && !(r == 0 && hr == 0 && ((first && h->op == X9P_PX_CHANNEL) ||
						h->op == X9P_PX_ADOPT))) {
		close(*fd);
		*fd = -1;
		r = -EBADMSG;
	}
	if (r < 0 || hr < 0) {
		g_debug("malformed message from the backend (%zu bytes)", *len);
		if (*len >= X9P_PX_HDR_SIZE && !(h->flags & X9P_PXF_NOREPLY))
			send_status(s, h->op, h->id, -EPROTO);
		return -EAGAIN;
	}
	return 0;
}

/* ---- channels ---- */

static gpointer channel_thread(gpointer data)
{
	struct channel *ch = data;
	uint8_t *buf = g_malloc(X9P_PX_MAX_MSG + 1);

	for (;;) {
		struct x9p_px_hdr h;
		size_t len;
		int fd, r = next_request(ch->sock, buf, &len, &h, &fd);

		if (r == -EAGAIN)
			continue;
		if (r != 0)
			break;
		g_mutex_lock(&ch->lock);
		ch->job = (struct job){ .buf = buf, .len = len, .id = h.id, .fd = fd };
		ch->busy = true;
		g_mutex_unlock(&ch->lock);
		execute(&ch->job, ch->sock);
		g_mutex_lock(&ch->lock);
		ch->busy = false;
		g_mutex_unlock(&ch->lock);
	}
	g_free(buf);
	/* This thread ends; a hostile backend opening and closing channels
	 * must not leak its buffers. */
	g_free(tls_msg);
	g_free(tls_scratch);
	tls_msg = tls_scratch = NULL;
	g_mutex_lock(&lock);
	g_ptr_array_remove_fast(channels, ch);
	g_mutex_unlock(&lock);
	close(ch->sock);
	g_mutex_clear(&ch->lock);
	g_free(ch);
	return NULL;
}

/* CHANNEL: serve the socket that came with it on a thread of its own. */
static int open_channel(const uint8_t *buf, size_t len, int fd)
{
	struct x9p_px_req q;
	struct channel *ch;
	struct stat st;
	GThread *t;

	if (x9p_px_decode_req(buf, len, &q) != 0 || fd < 0)
		return -EPROTO;
	if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode))
		return -ENOTSOCK;
	ch = g_new0(struct channel, 1);
	ch->sock = fd;
	g_mutex_init(&ch->lock);
	g_mutex_lock(&lock);
	if (channels->len >= X9P_PX_MAX_CHANNELS) {
		g_mutex_unlock(&lock);
		g_mutex_clear(&ch->lock);
		g_free(ch);
		return -EMFILE;
	}
	g_ptr_array_add(channels, ch);
	g_mutex_unlock(&lock);
	t = g_thread_try_new("x9p-helper-ch", channel_thread, ch, NULL);
	if (!t) {
		g_mutex_lock(&lock);
		g_ptr_array_remove_fast(channels, ch);
		g_mutex_unlock(&lock);
		g_mutex_clear(&ch->lock);
		g_free(ch);
		return -EAGAIN;
	}
	g_thread_unref(t);
	return 0;
}

int hx_serve(int s, unsigned threads, unsigned max_queue)
{
	uint8_t *buf = g_malloc(X9P_PX_MAX_MSG + 1);
	GError *err = NULL;
	GThreadPool *pool;
	int rc = 0;

	sock = s;
	running = g_hash_table_new(g_int64_hash, g_int64_equal);
	channels = g_ptr_array_new();
	pool = g_thread_pool_new(work, NULL, (gint)threads, TRUE, &err);
	if (!pool) {
		g_critical("cannot start %u worker threads: %s", threads, err->message);
		g_error_free(err);
		return -EAGAIN;
	}
	for (;;) {
		struct x9p_px_hdr h;
		struct job *j;
		size_t len;
		int fd, r = next_request(sock, buf, &len, &h, &fd);

		if (r == -EAGAIN)
			continue;
		if (r == 1)
			break;
		if (r < 0) {
			g_warning("proxy socket: %s", g_strerror(-r));
			rc = r;
			break;
		}
		if (h.op == X9P_PX_CHANNEL) {
			int ce = open_channel(buf, len, fd);

			if (ce < 0 && fd >= 0)
				close(fd);
			send_status(sock, h.op, h.id, ce);
			continue;
		}
		if (h.op == X9P_PX_CANCEL) {
			cancel(buf, len);
			continue;
		}
		if (h.op == X9P_PX_CLUNK) {
			/* Releasing a node never blocks, and one comes with every
			 * clunked fid: not worth a hand-off to the pool. */
			struct job cj = { .buf = buf, .len = len, .id = h.id, .fd = -1 };

			execute(&cj, sock);
			continue;
		}
		j = g_new0(struct job, 1);
		j->buf = g_memdup2(buf, len);
		j->len = len;
		j->id = h.id;
		j->fd = fd;
		g_mutex_lock(&lock);
		while (queued >= max_queue)
			g_cond_wait(&cond, &lock);
		queued++;
		g_hash_table_insert(running, &j->id, j);
		g_mutex_unlock(&lock);
		g_thread_pool_push(pool, j, NULL);
	}
	g_thread_pool_free(pool, FALSE, TRUE);
	/* Channel threads end when the backend closes them (or we exit). */
	g_hash_table_destroy(running);
	g_free(buf);
	return rc;
}
