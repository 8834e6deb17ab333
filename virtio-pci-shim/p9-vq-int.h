/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Internals shared by p9-vq.c and p9-vq-restore.c. */
#ifndef X9P_P9_VQ_INT_H
#define X9P_P9_VQ_INT_H

#include <glib.h>

#include "p9-vq.h"

struct p9vq {
	struct x9p_server *srv;
	struct x9p_session *sess;
	uint32_t max_msize;
	bool may_inline;             /* see p9vq_set_inline() */
	char *label;
	GMutex lock;
	GHashTable *tags;            /* tag -> struct p9req, from pop to reply */
	gint said_dup, said_fit;     /* guest mistakes logged once at info level */
	struct x9p_journal *journal; /* see p9vq_set_journal() */
	bool restoring;              /* it holds a previous worker's session */
	struct x9p_rec *rec;         /* see p9vq_set_recorder() */
	gint dialect;                /* enum p9_dialect, from the last Rversion */
};

/* One request: its chain, held by the reply path and, for a Twrite left in
 * guest memory, by the engine until it releases the payload. */
struct p9req {
	struct p9vq *p;
	struct vu_elem *e;
	gint refs;
	int flush_oldtag;            /* Tflush: the tag it flushes, else -1 */
	uint16_t tag;
	bool journaled;              /* recorded in the journal under tag, as rid */
	uint64_t rid;
};

/* Completes r's chain with len bytes of reply (see p9-vq.c). */
void p9vq_finish(struct p9vq *p, struct p9req *r, uint32_t len);
struct p9req *p9vq_req_new(struct p9vq *p, struct vu_elem *e, uint16_t tag);
void p9vq_req_unref(struct p9req *r);
/* ops->starting (p9-vq-restore.c). */
uint16_t p9vq_restore(void *opaque, struct vu_queue *q, uint16_t base);

#endif
