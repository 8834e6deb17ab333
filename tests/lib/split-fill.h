/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A zero-copy reply path (x9p_transport_ops.send_fill) for in-process test
 * transports: the payload lands in `parts` pieces of a buffer of the
 * transport's own, as on a ring whose free space wraps, then the size and
 * count fields are filled in and the whole reply goes to `send`.  Header
 * only, so that programs built without the test library (the fuzzers) can
 * use it too.
 */
#ifndef X9P_TESTS_SPLIT_FILL_H
#define X9P_TESTS_SPLIT_FILL_H

#include <glib.h>
#include <stdint.h>
#include <sys/uio.h>

#include "core/server.h"

static inline void x9p_test_put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline int x9p_test_send_fill_split(uint8_t *hdr, size_t hdrlen, size_t max,
					   x9p_fill_fn fill, void *arg, size_t parts,
					   int (*send)(void *, const struct iovec *, int),
					   void *opaque)
{
	uint8_t *seg = g_malloc0(max + 1);
	struct iovec iov[2] = { { seg, max / parts }, { seg + max / parts, max - max / parts } };
	ssize_t n = fill(arg, iov, 2);
	struct iovec out[2];
	int ret;

	if (n < 0) {
		g_free(seg);
		return (int)n;
	}
	x9p_reply_set_count(hdr, hdrlen, (size_t)n);
	out[0].iov_base = hdr;
	out[0].iov_len = hdrlen;
	out[1].iov_base = seg;
	out[1].iov_len = (size_t)n;
	ret = send(opaque, out, 2);
	g_free(seg);
	return ret;
}

#endif
