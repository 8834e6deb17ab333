/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fixture of the simulated-Xen tests: the hypervisor (hv.h), the real
 * x9p-backend program started on the stand-in libraries, and a toolstack
 * that adds and removes devices the way libxl does.
 *
 * Waits use SIM_HANG_MS only as a guard against a hung test; the one
 * deadline that is part of a contract is libxl's 10 s for a removed
 * device to reach Closed (SIM_LIBXL_REMOVE_MS).
 */
#ifndef X9P_XENSIM_SIM_H
#define X9P_XENSIM_SIM_H

#include <stdbool.h>
#include <sys/types.h>

#include "fe.h"
#include "hv.h"
#include "p9client.h"

#define SIM_HANG_MS 60000
#define SIM_LIBXL_REMOVE_MS 10000

struct sim {
	struct hv *hv;
	pid_t be_pid;
	unsigned be_dom;             /* domain the backend runs in (0: dom0) */
	char *state_dir;             /* the backend's --xen-state-dir (removed by sim_free) */
};

struct sim *sim_new(void);
/* Stops the backend (SIGTERM, expecting exit status 0) and the hypervisor. */
void sim_free(struct sim *s);

/* Starts build/x9p-backend --xen with extra arguments; waits for ready. */
bool sim_backend_start(struct sim *s, const char *const *extra);
/* Sends sig and reaps: the exit status, or 128 + the signal that killed it. */
int sim_backend_stop(struct sim *s, int sig);
bool sim_backend_alive(struct sim *s);

/* A device as libxl writes it (one transaction, libxl's permissions). */
struct sim_dev {
	const char *kind;            /* "9pfs", "xen_9pfs", ... */
	unsigned domid, devid;       /* frontend domain and device */
	const char *path;
	const char *secmodel;
	const char *tag;
	const char *const *extra;    /* more backend keys: "key", "value", ..., NULL */
};
void sim_add_device(struct sim *s, const struct sim_dev *d);
/* libxl's removal: online=0 + Closing, wait for Closed, delete both sides.
 * Returns whether the backend reached Closed within libxl's 10 s. */
bool sim_remove_device(struct sim *s, const char *kind, unsigned domid, unsigned devid);

char *sim_be_path(struct sim *s, const char *kind, unsigned domid, unsigned devid);
char *sim_be_read(struct sim *s, const char *kind, unsigned domid, unsigned devid,
		  const char *key);
bool sim_wait_be_state(struct sim *s, const char *kind, unsigned domid, unsigned devid,
		       int state);
/* Waits for the backend to close the device: Closing or Closed.  One wait
 * for each in turn can miss Closing, passed on the way to Closed between
 * two looks, and then lasts the whole hang guard. */
bool sim_wait_be_closing(struct sim *s, const char *kind, unsigned domid, unsigned devid);

/* A Linux-like (or Mini-OS-like) frontend on a fresh device; waits for
 * Connected. */
struct fe *sim_frontend(struct sim *s, enum fe_kind kind, unsigned domid, unsigned devid);
struct fe *sim_frontend_with(struct sim *s, const struct fe_opts *o);
/* A domain with a synthetic-backed 9pfs device 0 and a connected frontend. */
struct fe *sim_guest(struct sim *s, enum fe_kind kind, unsigned domid);
/* Reads /file through a fresh client: true if it says "hello, world". */
bool sim_9p_works(struct fe *fe);
/* The pid of the backend's worker for device LABEL ("dom5/9pfs/0"), or 0. */
pid_t sim_worker_pid(struct sim *s, const char *label);
/* A 9P client on the frontend's current connection, versioned and
 * attached with fid `root`; NULL on failure. */
struct p9c *sim_client(struct fe *fe, const char *version, uint32_t root);

#endif
