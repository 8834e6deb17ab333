/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers shared by the operation handlers, and the session-level ops. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "helper.h"
#include "ops.h"
#include "secmodel.h"

int hx_get_node(uint64_t id, struct hx_node **out)
{
	*out = hx_node_get(id);
	return *out ? 0 : -ESTALE;
}

int hx_get_dir(uint64_t id, struct hx_node **out)
{
	struct hx_node *n = hx_node_get(id);
	int e;

	*out = NULL;
	if (!n)
		return -ESTALE;
	if (!S_ISDIR(n->type)) {
		hx_node_put(n);
		return -ENOTDIR;
	}
	e = hx_beneath(n);
	if (e) {
		hx_node_put(n);
		return e;
	}
	*out = n;
	return 0;
}

int hx_check_new_name(const char *name)
{
	return hx_reserved_name(name) ? -EINVAL : 0;
}

int hx_publish_stx(int fd, const struct statx *stx, struct hx_node *dir, const char *name,
		   const struct hx_meta *known, struct x9p_px_rep *rep)
{
	struct hx_node *n = hx_node_new(fd, hx_stx_dev(stx), stx->stx_ino, stx->stx_mode, dir,
					name);
	int e;

	hx_node_attr_stx(n, stx, known, &rep->attr);
	e = hx_node_publish(n, &rep->node);
	hx_node_put(n);
	return e;
}

int hx_publish(int fd, struct hx_node *dir, const char *name, struct x9p_px_rep *rep)
{
	struct statx stx;
	int e = hx_stat(fd, NULL, &stx);

	if (e) {
		close(fd);
		return e;
	}
	return hx_publish_stx(fd, &stx, dir, name, NULL, rep);
}

int hx_op_hello(const struct x9p_px_req *q, struct hx_out *o)
{
	if (q->version != X9P_PX_VERSION)
		return -EPROTONOSUPPORT;
	o->rep->version = X9P_PX_VERSION;
	o->rep->model = hx.model;
	o->rep->multidevs = hx.multidevs;
	o->rep->hflags = (hx.readonly ? X9P_PXH_READONLY : 0) |
			 (hx.no_setid ? X9P_PXH_NO_SETID : 0) |
			 (hx.proc_fd >= 0 ? X9P_PXH_PROCFD : 0);
	o->rep->root_dev = hx.root_dev;
	o->rep->root_ino = hx.root_ino;
	return 0;
}

int hx_publish_root(struct x9p_px_rep *rep)
{
	int fd = fcntl(hx.root_fd, F_DUPFD_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	return hx_publish(fd, NULL, NULL, rep);
}

int hx_op_attach(const struct x9p_px_req *q, struct hx_out *o)
{
	return hx_publish_root(o->rep);
}

int hx_op_clunk(const struct x9p_px_req *q, struct hx_out *o)
{
	return hx_node_clunk(q->node);
}
