/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internals of the Xen backend shared by its files:
 *   manager.c   XenStore connection, watches, spawn protocol, device table
 *   device.c    one device: configuration and its state machine
 *   conn.c      one connection of a device: mapping, binding, teardown
 *   ring.c      the data path of one ring (I/O thread, replies)
 *   quota.c     max-files / max-space / auto-delete (quota.h)
 *   dm-shim.c   the device-model stand-in for libxl 4.17
 *
 * Threads: the manager, devices and connection set-up/teardown decisions
 * live in the main-context thread; each ring has an I/O thread; replies
 * are produced by engine workers; a connection is torn down in a
 * short-lived thread so that a slow filesystem never stalls XenStore
 * handling for the other devices.
 */
#ifndef X9P_XEN_INT_H
#define X9P_XEN_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <glib.h>
#include <xenctrl.h>
#include <xenevtchn.h>
#include <xengnttab.h>
#include <xenstore.h>
#include <xen/io/9pfs.h>

#include "9p/p9.h"
#include "core/server.h"
#include "xen/quota.h"
#include "xen/x9p-xen.h"

#define XEN_PG 4096u
/* Bytes of one direction of a ring of 2^order pages (XEN_FLEX_RING_SIZE). */
#define XRING_SIZE(order) (1u << ((order) + 12 - 1))

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
	struct x9p_trace *trace;
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

	/* configuration */
	char *path, *secmodel, *tag;
	uint64_t max_files, max_open_files, max_space_mib;
	bool auto_delete;
	struct x9p_server *srv;
	struct xq *quota;            /* NULL without max-files/max-space */

	struct xconn *conn;
	GThread *td_thread;          /* teardown in progress */
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
/* Main thread: records the negotiated session (key x9p-session). */
void xdev_record_session(struct xdev *d, struct xconn *c, enum p9_dialect dl, uint32_t msize);
/* Called (main thread) when a ring of d's connection c broke. */
void xdev_on_fault(struct xdev *d, struct xconn *c, const char *why);

/* ---- conn.c ---- */

/* Twrite payload still in a ring, released by the engine. */
struct xheld {
	struct xring *r;
	uint32_t start, end;
	bool released;
};

struct xring {
	struct xconn *c;
	unsigned idx;
	struct xen_9pfs_data_intf *intf;
	uint8_t *data;               /* 2^order pages: in (replies), then out (requests) */
	uint8_t *in, *out;
	unsigned order;
	uint32_t size;               /* bytes per direction */
	xenevtchn_handle *xce;
	evtchn_port_t port;          /* local port */
	bool bound, mapped;
	int wake_fd;                 /* eventfd: stop the I/O thread */
	GThread *thread;

	GMutex cons_lock;            /* out_read, out_cons, held */
	uint32_t out_read;           /* requests before this index were taken */
	uint32_t out_cons;           /* published consumer index */
	GQueue held;

	GMutex prod_lock;            /* in_prod and the free part of `in` */
	GCond space;
	uint32_t in_prod;
};

struct xconn {
	struct xdev *dev;            /* ref */
	char *label;
	GMainContext *ctx;
	unsigned fe_domid;
	unsigned nrings;
	struct xring rings[X9P_XEN_MAX_RINGS];
	xengnttab_handle *xgt;
	struct x9p_session *session;
	uint32_t max_msize;
	struct xq *quota;            /* not owned */
	gint dead;                   /* stop: no more replies, no more requests */
	gint stopping;               /* handover: no more requests, replies go on */
	gint dialect;                /* enum p9_dialect, from the last Rversion */
	GMutex fault_lock;
	bool faulted;
	uint8_t tag_ring[65536];     /* ring each tag last arrived on */
};

/* A session negotiated with a previous x9p-backend (XenStore key
 * x9p-session of the backend directory), to be resumed. */
struct xresume {
	enum p9_dialect dialect;
	uint32_t msize;
};

/* Reads the frontend's keys, maps and binds, starts the rings; NULL + err.
 * resume: take over a live frontend without a Tversion (may be NULL). */
struct xconn *xconn_new(struct xdev *d, const struct xresume *resume, GError **err);
/* Daemon shutdown with the frontend left Connected for the next daemon:
 * stops taking requests, lets the ones in flight finish (answering EINTR
 * for what does not within a few seconds), publishes the consumer index,
 * then frees like xconn_free.  Requests still in the rings stay there. */
void xconn_handover(struct xconn *c);
/* Any thread: an Rversion went out; records it in XenStore (main thread). */
void xconn_note_version(struct xconn *c, enum p9_dialect d, uint32_t msize);
/* Stops the rings, closes the session, unmaps and unbinds; any thread but
 * the connection's own ring threads. */
void xconn_free(struct xconn *c);
/* A ring broke: log it, stop the connection, tell the main thread (once). */
void xconn_fault(struct xconn *c, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* ---- ring.c ---- */

extern const struct x9p_transport_ops xring_ops;   /* opaque: struct xconn */
gpointer xring_thread(gpointer ring);
void xring_wake(struct xring *r);
/* Publishes out_cons up to what was taken and is no longer held. */
void xring_publish_cons(struct xring *r);

#endif
