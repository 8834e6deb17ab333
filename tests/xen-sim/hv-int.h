/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internals of the simulated hypervisor shared by its files:
 *   hv-store.c   XenStore: tree, permissions, watches, transactions
 *   hv-server.c  the unix-socket side the stand-in libraries talk to
 *   hv.c         life cycle, domains, grants, event channels
 * One lock (hv->lock) guards everything.
 */
#ifndef X9P_XENSIM_HV_INT_H
#define X9P_XENSIM_HV_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "hv.h"
#include "sim-proto.h"

#define PERM_R 1u
#define PERM_W 2u

struct perm {
	uint32_t id, perm;
};

struct node {
	char *value;
	size_t len;
	GArray *perms;               /* struct perm, at least one */
	GHashTable *kids;            /* name -> struct node */
};

struct watch {
	struct conn *conn;
	char *path;                  /* absolute or @special */
	char *token;
	bool relative;
	unsigned dom;
};

struct tx {
	uint32_t id;
	unsigned dom;
	struct conn *conn;           /* NULL: in-process */
	struct node *root;           /* private copy */
	uint64_t base;
	GPtrArray *changed;          /* paths, for watches at commit */
	GPtrArray *removed;
};

struct grant {
	int fd;
	uint32_t page;
	unsigned to;
};

struct chan {
	unsigned dom, port, remote;
	int fd_dom, fd_remote;       /* eventfds: dom waits on fd_dom */
	bool bound;
	struct conn *bound_by;
	uint32_t bound_port;
};

struct dom {
	unsigned id;
	bool alive;
	GHashTable *grants;          /* ref -> struct grant */
	uint32_t next_ref;
	GHashTable *chans;           /* port -> struct chan */
	uint32_t next_port;
};

struct mapping {
	uint32_t id;
	struct conn *conn;
	unsigned dom;
	unsigned pages;
};

struct conn {
	struct hv *hv;
	int fd;
	unsigned dom;
	uint32_t id;
	uint32_t role;
	int ev_fd;                   /* rpc: the paired event connection's socket */
	struct conn *rpc;            /* events: the rpc connection */
	GThread *thread;
	bool closed;
};

struct probe {
	char *path;
	unsigned dom;
	int result;
};

struct hv {
	GMutex lock;
	GCond changed;
	uint64_t gen;                /* bumped on every committed change */
	struct node *root;
	GPtrArray *watches;
	GHashTable *txs;             /* id -> struct tx */
	uint32_t next_tx;
	GHashTable *doms;            /* id -> struct dom */
	GHashTable *maps;            /* id -> struct mapping */
	uint32_t next_map;
	GPtrArray *conns;
	uint32_t next_conn;
	GPtrArray *probes;
	char *dir, *sock;
	int lfd;
	GThread *acceptor;
	bool stopping;
};

/* ---- hv-store.c: XenStore model (caller holds hv->lock) ---- */
struct node *hvx_node_new(const GArray *perms);
void hvx_node_free(struct node *n);
/* Absolute form of a request path of domain dom; NULL if invalid. */
char *hvx_resolve(unsigned dom, const char *p, bool *relative);
struct node *hvx_lookup(struct node *root, const char *path);
unsigned hvx_perm_of(const struct node *n, unsigned dom);
struct node *hvx_create(struct node *root, const char *path, unsigned dom);
int hvx_do_rm(struct node *root, unsigned dom, const char *path);
int hvx_do_set_perms(struct node *root, unsigned dom, const char *path,
		     const struct perm *perms, unsigned n);
void hvx_send_event(struct watch *w, const char *path);
void hvx_fire(struct hv *hv, const char *path, bool removed);
/* A committed change: wake waiters and tell watchers. */
void hvx_changed(struct hv *hv, const char *path, bool removed);
struct tx *hvx_get_tx(struct hv *hv, uint32_t id, unsigned dom);
int hvx_op_read(struct hv *hv, unsigned dom, uint32_t txid, const char *path, char **val,
		size_t *len);
int hvx_op_write(struct hv *hv, unsigned dom, uint32_t txid, const char *path,
		 const char *val, size_t len, bool mkdir_only);
int hvx_op_rm(struct hv *hv, unsigned dom, uint32_t txid, const char *path);
uint32_t hvx_op_tx_start(struct hv *hv, unsigned dom, struct conn *c);
int hvx_op_tx_end(struct hv *hv, unsigned dom, uint32_t txid, bool abort);
void hvx_tx_free(struct tx *t);

/* ---- hv.c: domains ---- */
struct dom *hvx_get_dom(struct hv *hv, unsigned id);
struct dom *hvx_dom_get_or_new(struct hv *hv, unsigned id);

/* ---- hv-server.c: the socket side ---- */
gpointer hvx_accept_thread(gpointer hv);

#endif
