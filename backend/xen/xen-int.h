/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internals of the Xen backend's monitor side, shared by its files:
 *   manager.c   XenStore connection, watches, spawn protocol, device table
 *   device.c    one device: configuration and its state machine
 *   conn.c      one connection of a device: the frontend's keys read and
 *               checked, and the worker that maps, binds and serves the
 *               rings (backend/worker/serve-xen.c)
 *   dm-shim.c   the device-model stand-in for libxl 4.17
 *
 * Threads: everything here runs in the main-context thread, but a
 * connection is torn down in a short-lived thread (which waits for its
 * worker to end) so that XenStore handling never waits for one device.
 */
#ifndef X9P_XEN_INT_H
#define X9P_XEN_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <glib.h>
#include <xenstore.h>

#include "9p/p9.h"
#include "fs/helper-launch.h"
#include "monitor/session-keep.h"
#include "monitor/worker.h"
#include "privsep/mw.h"
#include "xen/x9p-xen.h"

/* XenbusState values (xen/io/xenbus.h), kept local for readability. */
enum {
	XB_UNKNOWN = 0,
	XB_INITIALISING = 1,
	XB_INITWAIT = 2,
	XB_INITIALISED = 3,
	XB_CONNECTED = 4,
	XB_CLOSING = 5,
	XB_CLOSED = 6,
};

struct xmgr;
struct xdev;
struct xconn;

/* ---- manager.c ---- */

struct xmgr {
	struct xs_handle *xsh;
	unsigned domid;
	char *home;                  /* /local/domain/<domid> */
	char **kinds;
	GHashTable *devs;            /* "kind/domid/devid" -> struct xdev (ref) */
	guint watch_src;
	GMainContext *ctx;
	bool spawn_claimed;          /* we wrote libxl/xen-9pfs/state */
	/* configuration, copied */
	bool synthetic;
	char *synth_spec;
	unsigned workers, max_fids, max_open_files, max_rings, max_locks, max_xattr_bytes;
	enum x9p_multidevs multidevs;
	bool no_setid;
	unsigned max_nodes;
	char *helper_log_level;
	int trace_fd;                /* -1: none */
	char *worker;                /* the worker program */
	char *state_dir;             /* journals as files there; NULL: memfds */
	bool for_exec;               /* stopping for a reload (x9p_xen_stop_for_exec) */
};

/* XenStore helpers; paths are printf formats.  xs_get returns g_malloc'd
 * text (NUL-terminated) or NULL. */
char *xm_get(struct xmgr *m, xs_transaction_t t, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
bool xm_put(struct xmgr *m, xs_transaction_t t, const char *path, const char *val);
bool xm_putf(struct xmgr *m, xs_transaction_t t, const char *path, const char *fmt, ...)
	G_GNUC_PRINTF(4, 5);
/* Strict decimal parse of a XenStore value; false if absent or malformed. */
bool xm_uint(const char *s, uint64_t max, uint64_t *out);
void xm_forget_device(struct xmgr *m, struct xdev *d);
/* Runs fn(data) later in the manager's thread (never in the caller's). */
void xm_in_main(GMainContext *ctx, GSourceFunc fn, gpointer data);

/* ---- device.c ---- */

enum xdev_phase {
	PH_NEW,         /* not looked at yet by this process */
	PH_FAILED,      /* invalid configuration: Closed + error */
	PH_INITWAIT,    /* features published, waiting for the frontend */
	PH_CONNECTED,
	PH_DOWN,        /* connection torn down; next state not written yet */
	PH_CLOSING,     /* we wrote Closing; waiting for the frontend */
	PH_CLOSED,
};

struct xdev {
	gint ref;
	struct xmgr *m;              /* NULL once forgotten or stopped */
	char *kind;
	unsigned domid, devid;
	char *key;                   /* kind/domid/devid */
	char *label;                 /* dom<domid>/<kind>/<devid>, for logs */
	char *be;                    /* backend directory */
	char *fe;                    /* frontend directory (once configured) */
	char *fe_token;
	bool fe_watched;
	enum xdev_phase phase;
	int wrote;                   /* last state we wrote, -1 none */
	bool fe_dead;                /* the frontend's domain is gone */
	bool fault;                  /* the last connection ended by a fault */
	bool revive;                 /* ...by its worker's death: take the rings over */
	gint64 revive_window;        /* monotonic start of the minute counted */
	unsigned revives;            /* workers that crashed in it */
	unsigned kills;              /* workers killed (SIGKILL) in it */
	/* The session journal every worker of this connection gets (a memfd
	 * the monitor never reads); -1 until the first, and again once the
	 * connection ends for good. */
	int journal_fd;
	char *journal_path;          /* its file in the state directory, or NULL */
	/* The open files no name leads to that its workers handed over. */
	struct x9p_kept *kept;

	/* configuration */
	char *path, *secmodel, *tag;
	enum x9p_secmodel model;
	uint64_t max_files, max_open_files, max_space_mib;
	bool auto_delete;

	struct xconn *conn;
	/* A connection whose worker is starting (xconn_new waits for it): its
	 * messages about the session count as the connection's. */
	struct xconn *starting;
	GThread *td_thread;          /* teardown in progress */
	gint td_done;                /* atomic: its connection is freed */
	bool busy, dirty;
};

struct xdev *xdev_new(struct xmgr *m, const char *kind, unsigned domid, unsigned devid);
struct xdev *xdev_ref(struct xdev *d);
void xdev_unref(struct xdev *d);
/* Re-reads XenStore and moves the device on; main thread only. */
void xdev_step(struct xdev *d);
/* Daemon shutdown: hands a connected device over (it stays Connected for
 * the next daemon, xconn_handover); main thread. */
void xdev_shutdown(struct xdev *d);
/* Asks a connected device's worker to start its handover now, so that
 * every device drains at once; xdev_shutdown() then waits. */
void xdev_shutdown_begin(struct xdev *d);
/* Main thread: records the negotiated session (key x9p-session). */
void xdev_record_session(struct xdev *d, struct xconn *c, enum p9_dialect dl, uint32_t msize);
/* The helpers of one connection (NULL for a synthetic filesystem); false
 * with err when the export cannot be served. */
bool xdev_helpers(struct xdev *d, struct x9p_helper_launcher **out, GError **err);
/* Called (main thread) when a ring of d's connection c broke. */
void xdev_on_fault(struct xdev *d, struct xconn *c, const char *why);
/*
 * c's worker ended (wait status, described by why) while serving.  A new
 * worker takes the same rings over and the session from the journal, as
 * after a daemon restart, unless its seccomp filter ended it (SIGSYS: it
 * was compromised), or it is the XDEV_REVIVE_MAX + 1st death this minute
 * by anything but SIGKILL (a crash: its own doing, likely again), or the
 * MWORKER_KILL_RESTARTS + 1st by SIGKILL (from outside: an operator, the OOM
 * killer): then it is a fault of the device.
 */
#define XDEV_REVIVE_MAX 3
void xdev_on_worker_end(struct xdev *d, struct xconn *c, int status, const char *why);
/*
 * The session journal for d's next worker (d->journal_fd, or -1): the one
 * its previous worker had; else, resuming a connection a previous daemon
 * served, the journal file that one left in the state directory; else a
 * blank one (a file there, or a memfd).  Sized, and sealed when a memfd;
 * the monitor never reads it.
 */
int xdev_journal(struct xdev *d, bool resuming);
/* A KEEP_FD or DROP_FD of c's worker (unchecked values, checked here). */
void xdev_kept_fd(struct xdev *d, struct xconn *c, const struct mw_msg *m);
/* The KEPT_FD messages for d's next worker (g_ptr_array_unref frees them;
 * their descriptors stay d's). */
GPtrArray *xdev_kept_fd_msgs(struct xdev *d);

/* ---- conn.c ---- */

/* A session negotiated with a previous x9p-backend (XenStore key
 * x9p-session of the backend directory), to be resumed. */
struct xresume {
	enum p9_dialect dialect;
	uint32_t msize;
};

struct xconn;

/*
 * Reads and checks the frontend's keys, starts the device's worker and
 * waits until it has mapped and bound every ring and serves them; NULL +
 * err (the worker's own account of a failure, when it gave one).
 * resume: take over a live frontend without a Tversion (may be NULL).
 */
/* NULL with err; XCONN_ERROR's XCONN_KILLED when the worker started and
 * was killed (SIGKILL) before serving the rings, XCONN_ENDED when it ended
 * otherwise. */
struct xconn *xconn_new(struct xdev *d, const struct xresume *resume, GError **err);
#define XCONN_ERROR (g_quark_from_static_string("x9p-xen-conn"))
enum { XCONN_FAILED, XCONN_ENDED, XCONN_KILLED };
/* Daemon shutdown with the frontend left Connected for the next daemon:
 * the worker stops taking requests, lets the ones in flight finish
 * (answering EINTR for what does not within a few seconds), publishes the
 * consumer index and exits; requests still in the rings stay there.
 * xconn_handover_begin() only asks it to, so that many devices drain at
 * once; xconn_handover() waits (main thread, outside a dispatch) and frees. */
void xconn_handover_begin(struct xconn *c);
void xconn_handover(struct xconn *c);
/* Ends the worker at once (the kernel unmaps and unbinds what it held),
 * waits for it and frees; any thread but the main one. */
void xconn_free(struct xconn *c);

#endif
