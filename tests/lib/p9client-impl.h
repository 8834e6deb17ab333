/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internals shared by the p9client-*.c files.  Not for tests to include.
 */
#ifndef X9P_TESTS_P9CLIENT_IMPL_H
#define X9P_TESTS_P9CLIENT_IMPL_H

#include <glib.h>

#include "p9client.h"

#define P9C_NTAGS 65536u

struct p9c {
	int rfd, wfd;
	bool wfd_is_socket;
	bool broken;            /* receive stream lost framing or hit EOF */
	int broken_rc;
	enum p9_dialect dialect;
	uint32_t msize;
	int timeout_ms;
	uint32_t next_fid;
	uint16_t next_tag;

	/* Receive buffer: bytes [rstart, rend) are unconsumed. */
	uint8_t *rbuf;
	size_t rcap, rstart, rend;

	/* Encode buffer for p9c_send. */
	uint8_t *tbuf;
	size_t tcap;

	/* Outgoing stream tracker: finds frame headers in whatever is sent,
	 * however it is split, so raw sends register their tags too. */
	uint8_t txhdr[9];
	size_t txhdr_len;
	uint64_t txskip;        /* body bytes of the current frame still to pass */
	bool txgarbage;         /* sent bytes no longer parse as frames */

	/* Per tag: outstanding count, T types of the oldest outstanding
	 * requests on it (P9C_TYPES_PER_TAG each), and for a Tflush the
	 * flushed tag + 1 (0: none).  See p9client-tags.c. */
	uint8_t *tag_count;
	uint8_t *tag_types;
	uint32_t *tag_flushes;
	unsigned outstanding;

	GQueue queue;           /* struct p9c_queued *, arrival order */
	char ename[256];
};

/* A reply received while waiting for another one, with its verdict. */
struct p9c_queued {
	struct p9c_reply r;
	int rc;                 /* 0 or -EPROTO */
};

#define P9C_TYPES_PER_TAG 4u

/* p9c_rpc with a chosen tag (or P9C_AUTOTAG). */
int p9c_rpc_on(struct p9c *c, const struct p9_msg *t, int tag, struct p9c_reply *r);

/* Tag bookkeeping (p9client-tags.c). */
void p9c_tags_init(struct p9c *c);
void p9c_tags_free(struct p9c *c);
void p9c_tags_reset(struct p9c *c);
/* flushed_tag: the oldtag of a Tflush, or -1. */
void p9c_tag_sent(struct p9c *c, uint8_t type, uint16_t tag, int flushed_tag);
int p9c_tag_alloc(struct p9c *c);
bool p9c_tag_has_type(struct p9c *c, uint16_t tag, uint8_t type);
/* Retires the request a reply answers: 0, or -EPROTO if the tag is not
 * outstanding or no request on it fits the reply type. */
int p9c_tag_reply(struct p9c *c, uint16_t tag, uint8_t rtype, bool is_error);
/* Retires one request on tag after a reply that could not be decoded. */
void p9c_tag_drop(struct p9c *c, uint16_t tag);

#endif
