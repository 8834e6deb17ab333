/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Frontend simulators for the Xen tests, running in the test process on
 * the simulated hypervisor (hv.h) as an unprivileged guest domain.
 *
 *  FE_LINUX   like Linux net/9p/trans_xen.c: requires versions to contain
 *             1 and max-rings >= 2; 2 rings of order min(max-ring-page-
 *             order, 9); one transaction writes version, num-rings,
 *             ring-ref<N>, event-channel-<N>, then state Initialised; a
 *             request goes on ring tag % 2 and is written only when it
 *             fits whole; replies are read as soon as a header is visible.
 *  FE_MINIOS  like Mini-OS 9pfront.c: requires the backend in exactly
 *             InitWait; 1 ring of order min(max-ring-page-order, 4); state
 *             Initialised written in the same transaction.
 *
 * Both follow the backend like a xenbus frontend: backend Connected ->
 * Connected; backend Closing or Closed while connected -> free the rings,
 * Closed.  fe_reconnect() goes back to Initialising.
 *
 * 9P travels through a socketpair: fe_socket() gives the test end to use
 * with the test client (tests/lib/p9client.h); a pump thread moves frames
 * between it and the rings.  The pump checks the backend's side of the
 * ring protocol and counts violations (a reply header visible before the
 * whole reply, a producer index beyond the ring, a reply on another ring
 * than its request's, a bad reply size).
 *
 * With raw set there is no pump: the test writes ring memory itself
 * (fe_ring) to play a hostile frontend.
 */
#ifndef X9P_XENSIM_FE_H
#define X9P_XENSIM_FE_H

#include <stdbool.h>
#include <stdint.h>

#include "hv.h"

enum fe_kind {
	FE_LINUX,
	FE_MINIOS,
};

struct fe_opts {
	enum fe_kind kind;
	unsigned domid, devid;
	unsigned backend_domid;
	bool raw;                    /* no pump */
	uint32_t start_index;        /* initial ring indices (wrap-around tests) */
	int force_order;             /* > 0: ring_order written into the page */
	int force_rings;             /* > 0: num-rings written */
	bool bad_ref;                /* ring-ref0 names a page never granted */
	unsigned max_order;          /* > 0: rings of at most this order */
	bool keep_rings;             /* raw: rings stay mapped after the backend
				      * closes, until fe_free (a test still
				      * reading them must not fault) */
};

struct fe_ring {
	uint8_t *intf;               /* struct xen_9pfs_data_intf */
	uint8_t *data;               /* in, then out */
	uint32_t size;               /* bytes per direction */
	unsigned order;
};

struct fe;

/* Starts following the backend (the device's XenStore nodes must exist). */
struct fe *fe_new(struct hv *hv, const struct fe_opts *o);
/* Stops following; frees the rings without any XenStore write. */
void fe_free(struct fe *fe);

/* The frontend's own state as last written. */
int fe_state(struct fe *fe);
/* Waits for Connected / Closed (hang guard timeout). */
bool fe_wait_state(struct fe *fe, int state, int timeout_ms);
/* The frontend gave up during set-up (e.g. max-rings < 2 for Linux): why, or NULL. */
const char *fe_error(struct fe *fe);

/* A new descriptor (caller owns it) for 9P over the current connection. */
int fe_socket(struct fe *fe);
/* Largest msize this frontend would ask for (Linux: min(128 KiB, ring/2)). */
uint32_t fe_msize(struct fe *fe);
unsigned fe_nrings(struct fe *fe);

/* Frontend-initiated close: Closing, wait for the backend, free, Closed. */
void fe_close(struct fe *fe);
/* After Closed: Initialising again (reconnect). */
void fe_reconnect(struct fe *fe);

/* Violations of the ring protocol seen by the pump, and the first one. */
unsigned fe_violations(struct fe *fe);
char *fe_violation_text(struct fe *fe);
/* Replies that arrived on ring i (pump mode). */
unsigned fe_replies_on(struct fe *fe, unsigned ring);

/* Raw access (any mode): ring i of the current connection, and a kick of
 * its event channel. */
struct fe_ring *fe_ring(struct fe *fe, unsigned i);
void fe_kick(struct fe *fe, unsigned i);
/* Waits for a notification from the backend on ring i (raw mode). */
bool fe_wait_event(struct fe *fe, unsigned i, int timeout_ms);

/* Ring index helpers for raw tests (the interface page layout). */
uint32_t fe_load(const uint8_t *intf, unsigned off);
void fe_store(uint8_t *intf, unsigned off, uint32_t v);
#define FE_IN_CONS 0
#define FE_IN_PROD 4
#define FE_OUT_CONS 64
#define FE_OUT_PROD 68
#define FE_RING_ORDER 128
#define FE_REF0 132

#endif
