/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Stream transport: 9P over unix sockets, loopback TCP and inherited
 * descriptors (for `mount -t 9p -o trans=unix|tcp|fd`, tests, debugging).
 *
 * Contract:
 *  - A listen address is text: "unix:PATH", "tcp:HOST:PORT" (HOST numeric,
 *    "[v6]" for IPv6, or "localhost"; PORT 0 picks a free port) or
 *    "fd:N" / "fd:R,W" (one already-connected descriptor, or a read and a
 *    write descriptor).  x9p_sock_addr_parse() checks the syntax only.
 *  - TCP listens only on loopback addresses unless allow_remote is set:
 *    9P has neither authentication nor encryption.
 *  - A unix socket path that exists is replaced only if it is a socket
 *    nobody listens on (stale); anything else there is an error.  The
 *    socket gets `unix_mode` (default 0600) before it accepts anything and
 *    is unlinked again by x9p_sock_server_free() if it is still ours.
 *  - Every connection gets one x9p_session and, while it is active, one
 *    I/O thread.  A connection whose client has sent nothing for
 *    X9P_SOCK_PARK_MS, with no request in flight and no reply queued, is
 *    parked: its thread ends, its read buffer is freed, and a watch in the
 *    server's context starts a new thread when the client sends again (or
 *    the connection is closed).  The thread
 *    reads whole frames and submits them; a frame whose size field is
 *    outside 7..x9p_session_max_frame() is a fault of that connection
 *    only: it is logged with the connection label and the connection is
 *    closed.  Replies are written whole and in order (MSG_NOSIGNAL on
 *    sockets); a failed write closes the connection.
 *  - A client that does not read its replies holds up only itself: the
 *    engine's workers never wait for it (its replies queue, up to
 *    X9P_SOCK_MAX_QUEUED bytes); while more than two frames' worth is
 *    queued, or its requests in flight could answer with more than half
 *    of that limit, its requests are not read; when queued replies make no
 *    progress for reply_timeout_s, or the queue would pass its limit,
 *    the connection is closed with a log line naming it.
 *  - Fairness between clients: one peer (uid of a unix-socket client,
 *    address of a TCP client) holds at most max_conns_per_peer of the
 *    max_conns connections; and when all max_conns are taken, a new client
 *    is admitted by closing the oldest connection that has sent no
 *    Tversion for version_timeout_s (a client that connects early and
 *    mounts late, such as a booting guest's console, keeps its connection
 *    while there is room).  Refusals and evictions are logged.
 *  - Descriptors handed to the server (accepted or "fd:") are owned by it,
 *    switched to non-blocking and close-on-exec, and closed when the
 *    connection ends.  Writes to a non-socket descriptor can raise SIGPIPE:
 *    programs serving "fd:" pipes should ignore SIGPIPE.
 *  - The end of an "fd:" connection is reported through cfg->fd_closed
 *    (x9p-backend exits then); accepted connections just go away.
 *  - x9p_sock_server_*() are called from the thread that runs the
 *    server's GMainContext (or while that context is not running).
 *    Listeners and connection reaping run as sources of that context.
 *  - x9p_sock_server_free() stops accepting, wakes every connection, lets
 *    each I/O thread close its session (which waits for its workers) and
 *    joins them; after it returns no thread of the transport remains.
 */
#ifndef X9P_SOCKET_H
#define X9P_SOCKET_H

#include <stdbool.h>
#include <sys/types.h>
#include <stdint.h>
#include <sys/uio.h>

#include <glib.h>

#include "core/server.h"
#include "9p/p9.h"

/*
 * Largest frame a socket connection carries in either direction: a 1 MiB
 * data payload plus the Rread/Twrite header.  Linux's fd/unix/tcp client
 * never asks for more than 1 MiB (its transport maximum), and one buffer
 * of this size per connection in flight keeps memory per client bounded.
 */
#define X9P_SOCK_MAX_MSIZE ((1u << 20) + P9_IOHDR_SIZE)
#define X9P_SOCK_DEFAULT_MODE 0600u
#define X9P_SOCK_DEFAULT_MAX_CONNS 64u
#define X9P_SOCK_DEFAULT_REPLY_TIMEOUT 60u
#define X9P_SOCK_DEFAULT_VERSION_TIMEOUT 30u
/* Unread replies one connection may hold in memory before it is closed. */
#define X9P_SOCK_MAX_QUEUED (64u << 20)
/* A connection idle this long gives up its thread and read buffer. */
#define X9P_SOCK_PARK_MS 1000

/* GError domain of this module; the code is an errno value. */
#define X9P_SOCK_ERROR (x9p_sock_error_quark())
GQuark x9p_sock_error_quark(void);

enum x9p_sock_kind {
	X9P_SOCK_UNIX,
	X9P_SOCK_TCP,
	X9P_SOCK_FD,
};

struct x9p_sock_addr {
	enum x9p_sock_kind kind;
	char *path;                 /* unix */
	char *host;                 /* tcp, numeric; IPv6 without brackets */
	uint16_t port;              /* tcp */
	int rfd, wfd;               /* fd (equal for "fd:N") */
};

/* Fills *a (free with x9p_sock_addr_clear) or returns false with *err set. */
bool x9p_sock_addr_parse(const char *text, struct x9p_sock_addr *a, GError **err);
void x9p_sock_addr_clear(struct x9p_sock_addr *a);

/* True for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104. */
bool x9p_sock_sockaddr_is_loopback(const void *sa, unsigned salen);

/*
 * Listening sockets, usable on their own (x9p-vhost listens on a unix
 * socket the same way).  Both return a non-blocking, close-on-exec
 * listening descriptor, or -1 with *err set.
 */
int x9p_sock_listen_unix(const char *path, unsigned mode, GError **err);
int x9p_sock_listen_tcp(const char *host, uint16_t port, bool allow_remote,
			uint16_t *bound_port, GError **err);

struct x9p_sock_cfg {
	unsigned unix_mode;         /* 0 = X9P_SOCK_DEFAULT_MODE */
	bool allow_remote;          /* TCP on non-loopback addresses */
	unsigned max_conns;         /* accepted connections at once; 0 = default */
	uint32_t max_msize;         /* 0 = X9P_SOCK_MAX_MSIZE; never more */
	/* Seconds a client may leave replies unread before it is disconnected;
	 * 0 = X9P_SOCK_DEFAULT_REPLY_TIMEOUT. */
	unsigned reply_timeout_s;
	/* Seconds after which a connection that has negotiated no version
	 * (Tversion) may be closed to admit a new client when all max_conns
	 * are taken; 0 = X9P_SOCK_DEFAULT_VERSION_TIMEOUT. */
	unsigned version_timeout_s;
	/* Connections one peer (a unix-socket uid, a TCP address) may hold at
	 * once; 0 = half of max_conns. */
	unsigned max_conns_per_peer;
	/* An "fd:" connection ended; clean = orderly end of stream.  May be NULL. */
	void (*fd_closed)(void *opaque, const char *label, bool clean);
	/*
	 * The session journal (journal/journal.h) whose sessions past the first
	 * the connections take (socket/stream.h), or NULL.  Each journaled
	 * connection is handed to keep_conn() once (its read and write ends,
	 * one when they are the same, then its four pipe ends; copies are the
	 * keeper's), and drop_conn() says when it is over.
	 */
	struct x9p_journal *journal;
	void (*keep_conn)(void *opaque, unsigned session, const char *label, const char *peer,
			  const int *fds, unsigned nfds);
	void (*drop_conn)(void *opaque, unsigned session);
	void *opaque;
};

/*
 * What an address names, opened: a listening socket to accept on, or one
 * connection ("fd:N", "fd:R,W").  A privilege-separated daemon opens it
 * in the monitor and serves it in a worker.  x9p_sock_endpoint_open()
 * binds (unix: created with unix_mode, a stale socket replaced; tcp:
 * loopback unless allow_remote) or checks inherited descriptors.
 * x9p_sock_endpoint_clear() closes what is still open and removes the
 * unix socket file if it is still the one created here.
 */
struct x9p_sock_endpoint {
	bool listening;
	const char *family;         /* "unix", "tcp" or "fd": its connections' label prefix */
	int rfd, wfd;               /* equal unless "fd:R,W"; -1 once given away */
	char *bound;                /* "unix:PATH", "tcp:127.0.0.1:PORT", "fd:N" */
	char *path;                 /* unix: the socket file to remove at the end */
	dev_t dev;
	ino_t ino;
};

bool x9p_sock_endpoint_open(const struct x9p_sock_addr *a, unsigned unix_mode,
			    bool allow_remote, struct x9p_sock_endpoint *ep, GError **err);
void x9p_sock_endpoint_clear(struct x9p_sock_endpoint *ep);

struct x9p_sock_server;

/* engine is not owned; ctx NULL = the global default context. */
struct x9p_sock_server *x9p_sock_server_new(struct x9p_server *engine,
					    const struct x9p_sock_cfg *cfg,
					    GMainContext *ctx);
/*
 * Starts listening on (or, for "fd:", serving) a.  On success *bound, if
 * bound is non-NULL, gets the effective address as text (g_free), with the
 * chosen port for "tcp:...:0".
 */
bool x9p_sock_server_add(struct x9p_sock_server *ss, const struct x9p_sock_addr *a,
			 char **bound, GError **err);
/* Serves an endpoint: its descriptors (and socket file) are taken over. */
bool x9p_sock_server_adopt(struct x9p_sock_server *ss, struct x9p_sock_endpoint *ep,
			   GError **err);
/*
 * A new worker, before any endpoint is adopted: takes over the journaled
 * connections its previous worker left (each as keep_conn() gave it: the
 * connection's ends then its pipes, all taken over), rebuilds their
 * sessions from the journal and runs again what was not answered.  An
 * "fd:" endpoint adopted later whose address is a taken-over connection's
 * label is that connection: its descriptors are closed.  Called once,
 * also with none, whenever cfg->journal holds a previous worker's state.
 */
struct x9p_sock_kept_conn {
	unsigned session;
	const char *label, *peer;
	int fds[6];
	unsigned nfds;
};
void x9p_sock_server_resume(struct x9p_sock_server *ss, struct x9p_sock_kept_conn *kept,
			    unsigned n);
/* Connections currently open (accepted and fd:), for tests and logs. */
unsigned x9p_sock_server_connections(struct x9p_sock_server *ss);
void x9p_sock_server_free(struct x9p_sock_server *ss);

#endif
