/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A Xen 9pfs device connection inside its worker: the grant-mapped rings,
 * their event channels, the engine session and one I/O thread per ring.
 *
 *   serve-xen.c  maps and binds (before the worker's lockdown: in a PV
 *                dom0 gntdev ties its mappings to the process that made
 *                them), starts the rings, hands over on SIGTERM, and tells
 *                the monitor about versions and faults
 *   xen-ring.c   the data path of one ring
 *   fs/quota.c   max-files / max-space / auto-delete (fs/quota.h)
 *
 * Nothing here reads XenStore: the monitor read and checked the
 * frontend's keys and passed the grant references and ports in CONFIG.
 */
#ifndef X9P_WORKER_XEN_RINGS_H
#define X9P_WORKER_XEN_RINGS_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>
/* For its memory barriers (xen_mb and friends) only: nothing is linked. */
#include <xenctrl.h>
#include <xenevtchn.h>
#include <xengnttab.h>
#include <xen/io/9pfs.h>

#include "9p/p9.h"
#include "core/server.h"
#include "record/record.h"
#include "fs/quota.h"
#include "xen/x9p-xen.h"

#define XEN_PG 4096u
/* Bytes of one direction of a ring of 2^order pages (XEN_FLEX_RING_SIZE). */
#define XRING_SIZE(order) (1u << ((order) + 12 - 1))

struct xconn;

/*
 * Request bytes the ring keeps (its consumer index is not published past
 * them): a Twrite payload the engine writes from, and with a journal every
 * request until it is answered, so that a new worker can run it again.
 * Released when refs (payload, answer) reach 0.
 */
struct xheld {
	struct xring *r;
	uint32_t start, end;
	unsigned refs;               /* cons_lock */
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
	char *label;
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
	/* With a journal (journal/journal.h): the request of each tag in flight
	 * (its held bytes), under the rings' cons_lock of held->r. */
	struct x9p_journal *journal;
	struct x9p_rec *rec;         /* --record; NULL: none (record/record.h) */
	bool restoring;              /* the journal holds a previous worker's session */
	GMutex tag_lock;
	struct xheld **tag_held;
};

/* ---- serve-xen.c ---- */

/* Any thread: an Rversion went out; the monitor records it in XenStore. */
void xconn_note_version(struct xconn *c, enum p9_dialect d, uint32_t msize);
/* A ring broke: log it, stop the connection, tell the monitor (once). */
void xconn_fault(struct xconn *c, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* ---- xen-ring.c ---- */

extern const struct x9p_transport_ops xring_ops;   /* opaque: struct xconn */
gpointer xring_thread(gpointer ring);
void xring_wake(struct xring *r);
/* Publishes out_cons up to what was taken and is no longer held. */
void xring_publish_cons(struct xring *r);
/*
 * Before the ring threads start, with a journal a previous worker of this
 * device left: settles each request it recorded (answered when its reply
 * was published, else kept), rebuilds the session's fids, then submits the
 * kept ones again.  Returns how many run again.
 */
unsigned xring_restore(struct xconn *c);
/* For xring_restore: copies len bytes of r's requests at idx; keeps
 * [at, at + sz) for tag until its answer, as journal_take does. */
void xring_read(struct xring *r, uint32_t idx, void *dst, size_t len);
void xring_keep(struct xring *r, uint16_t tag, uint32_t at, uint32_t sz);
/* Answers tag with an error in the session's dialect, from the transport. */
void xring_reply_error(struct xring *r, uint16_t tag, int err);

#endif
