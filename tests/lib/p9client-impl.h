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

	/* Per tag: outstanding count, T type of the last request on it, and
	 * for a Tflush the flushed tag + 1 (0: none). */
	uint8_t *tag_count;
	uint8_t *tag_type;
	uint32_t *tag_flushes;
	unsigned outstanding;

	GQueue queue;           /* struct p9c_reply *, arrival order */
	char ename[256];
};

/* p9c_rpc with a chosen tag (or P9C_AUTOTAG). */
int p9c_rpc_on(struct p9c *c, const struct p9_msg *t, int tag, struct p9c_reply *r);

#endif
