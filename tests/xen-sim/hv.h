/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The simulated hypervisor of the Xen tests: XenStore (tree, permissions,
 * watches, transactions), domains, grant tables and interdomain event
 * channels, served in-process to the test (frontend simulators, the
 * test's own toolstack actions) and over a unix socket (sim-proto.h) to
 * programs running on the stand-in libraries (x9p-backend, xs-tool).
 *
 * XenStore semantics modelled after xenstored: domain 0 is privileged;
 * other domains need the node's permissions (owner: everything; then the
 * entry for the domain, else the default of the first entry); a new node
 * inherits its parent's permissions and an unprivileged creator owns it;
 * creating needs write access to the nearest existing ancestor; watches
 * fire for the changed node and its ancestors' watches, for watches below
 * a removed node, and once at registration; a transaction commits
 * atomically and fails with EAGAIN if anything changed since it started.
 *
 * Grants are pages of memfds owned by the granting side.  Mappings and
 * bound channels are counted per granting domain so that tests can check
 * that a backend let go of a guest's memory.  A connection that closes
 * (a killed backend) drops its mappings, channels, watches and
 * transactions, as the kernel would.
 *
 * All calls are thread-safe.  In-process XenStore calls return 0 or
 * -errno; `as` is the domain acting.
 */
#ifndef X9P_XENSIM_HV_H
#define X9P_XENSIM_HV_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

struct hv;

struct hv *hv_new(void);
void hv_free(struct hv *hv);
/* Environment for programs that should use this hypervisor:
 * X9P_XENSIM_SOCK=<path> (and LD_LIBRARY_PATH is the caller's business). */
const char *hv_sock_path(struct hv *hv);

/* ---- domains ---- */
/* Creates /local/domain/<domid> (owned by it) with domid and name keys. */
void hv_domain_create(struct hv *hv, unsigned domid, const char *name);
/* The domain dies: its /local/domain tree goes, @releaseDomain fires. */
void hv_domain_destroy(struct hv *hv, unsigned domid);

/* ---- XenStore ---- */
char *hv_read(struct hv *hv, unsigned as, const char *path);      /* g_free; NULL if absent */
int hv_write(struct hv *hv, unsigned as, const char *path, const char *value);
int hv_mkdir(struct hv *hv, unsigned as, const char *path);
int hv_rm(struct hv *hv, unsigned as, const char *path);
/* perms: "b5 r0" style, first entry owner + default (xenstore-chmod syntax). */
int hv_set_perms(struct hv *hv, unsigned as, const char *path, const char *perms);
/* "n5 r0" (owner/default first), or NULL if absent. */
char *hv_get_perms(struct hv *hv, const char *path);
/* Children names, NULL-terminated (g_strfreev), or NULL if absent. */
char **hv_list(struct hv *hv, unsigned as, const char *path);
bool hv_exists(struct hv *hv, const char *path);

/* Transactions (in-process): 0 on start failure never happens. */
uint32_t hv_tx_start(struct hv *hv, unsigned as);
int hv_tx_write(struct hv *hv, uint32_t tx, const char *path, const char *value);
char *hv_tx_read(struct hv *hv, uint32_t tx, const char *path);
/* 0, -EAGAIN (conflict: retry) or another -errno. */
int hv_tx_end(struct hv *hv, uint32_t tx, bool abort);

/* Waits until pred(hv, arg) holds, re-checking after every change of the
 * simulated system; false after timeout_ms (a hang guard, not a timing
 * assertion).  pred may call any hv function. */
bool hv_wait(struct hv *hv, bool (*pred)(struct hv *hv, void *arg), void *arg, int timeout_ms);
/* Waits until path reads value (value NULL: until path is absent). */
bool hv_wait_value(struct hv *hv, const char *path, const char *value, int timeout_ms);
/* Wakes hv_wait callers (for conditions outside XenStore). */
void hv_poke(struct hv *hv);

/*
 * Records, when `path` is first created, whether domain `dom` may then
 * write the directory containing it (the frontend-race check): 1 yes,
 * 0 no, -1 not created yet.
 */
void hv_probe_arm(struct hv *hv, const char *path, unsigned dom);
int hv_probe_result(struct hv *hv, const char *path);

/* ---- grants and event channels (the frontend side) ---- */
/* Grants page `page` of memfd (duplicated) to domain `to`; returns the ref. */
uint32_t hv_grant(struct hv *hv, unsigned dom, unsigned to, int memfd, uint32_t page);
void hv_ungrant(struct hv *hv, unsigned dom, uint32_t ref);
/* Live mappings of dom's grants, in pages. */
unsigned hv_mapped_pages(struct hv *hv, unsigned dom);
/* Allocates an unbound port of dom for `remote`.  *wait_fd becomes
 * readable when the remote notifies; writing 1 (uint64) to *kick_fd
 * notifies the remote.  Both are the caller's (close them). */
uint32_t hv_evtchn_alloc(struct hv *hv, unsigned dom, unsigned remote, int *wait_fd,
			 int *kick_fd);
void hv_evtchn_close(struct hv *hv, unsigned dom, uint32_t port);
/* dom's channels currently bound by their remote. */
unsigned hv_bound_channels(struct hv *hv, unsigned dom);
/* Socket connections currently open (programs on the stand-in libraries). */
unsigned hv_connections(struct hv *hv);

#endif
