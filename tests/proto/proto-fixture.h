/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shared fixture of the protocol tests: a real x9p-backend serving the
 * synthetic driver on a private unix socket, and one connected client that
 * has negotiated 9P2000.L and attached fid 0 to the root.
 */
#ifndef X9P_PROTO_FIXTURE_H
#define X9P_PROTO_FIXTURE_H

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "backend-proc.h"
#include "p9client.h"

struct pfx {
	struct x9p_backend_proc be;
	struct p9c *c;
	struct p9_qid root;
	uint32_t msize;
};

static inline struct p9c *pfx_connect(struct pfx *f)
{
	int err = 0;
	struct p9c *c = p9c_connect(f->be.addr, &err);

	g_assert_nonnull(c);
	p9c_set_timeout(c, 20000);
	return c;
}

/* Starts the backend with extra arguments; version + attach unless raw. */
static inline void pfx_start(struct pfx *f, const char *const *args, bool raw)
{
	char ver[32];

	memset(f, 0, sizeof(*f));
	g_assert_true(x9p_backend_start(&f->be, args));
	f->c = pfx_connect(f);
	if (raw)
		return;
	g_assert_cmpint(p9c_version(f->c, 65536, "9P2000.L", &f->msize, ver, sizeof(ver)), ==, 0);
	g_assert_cmpstr(ver, ==, "9P2000.L");
	g_assert_cmpint(p9c_attach(f->c, 0, P9_NOFID, "", "", 0, &f->root), ==, 0);
}

static inline void pfx_stop(struct pfx *f)
{
	if (f->c)
		p9c_free(f->c);
	g_assert_true(x9p_backend_alive(&f->be)); /* it must have survived the test */
	x9p_backend_stop(&f->be);
}

#endif
