/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The helper's filesystem operations, one per proxy request op.
 *
 * Contract: each handler gets a request that x9p_px_decode_req() accepted
 * (names are valid components, values within bounds), fills the reply
 * fields of o->rep and returns 0 or a negative errno (the reply status).
 * A handler that hands out a descriptor stores it in o->fd (the caller
 * sends and closes it).  READDIR builds its whole reply in o->msg and sets
 * o->msg_len.  Handlers never follow symlinks, never leave the export and
 * refuse every change on a read-only export with EROFS.
 */
#ifndef X9P_HELPER_OPS_H
#define X9P_HELPER_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "nodes.h"
#include "proxy.h"

struct hx_out {
	struct x9p_px_rep *rep;
	int fd;
	int in_fd;               /* the request's descriptor (ADOPT); a handler
				  * that keeps it sets -1, else the caller closes it */
	uint8_t *scratch;        /* X9P_PX_MAX_MSG bytes for reply data */
	uint8_t *msg;            /* X9P_PX_MAX_MSG bytes: the reply message */
	size_t msg_len;
};

typedef int (*hx_op_fn)(const struct x9p_px_req *q, struct hx_out *o);

int hx_op_hello(const struct x9p_px_req *q, struct hx_out *o);
int hx_op_attach(const struct x9p_px_req *q, struct hx_out *o);
int hx_op_walk(const struct x9p_px_req *q, struct hx_out *o);
int hx_op_clunk(const struct x9p_px_req *q, struct hx_out *o);
int hx_op_getattr(const struct x9p_px_req *q, struct hx_out *o);
int hx_op_statfs(const struct x9p_px_req *q, struct hx_out *o);
int hx_op_fsync(const struct x9p_px_req *q, struct hx_out *o);
int hx_op_readlink(const struct x9p_px_req *q, struct hx_out *o);
int hx_op_open(const struct x9p_px_req *q, struct hx_out *o);
int hx_op_create(const struct x9p_px_req *q, struct hx_out *o);
int hx_op_mkdir(const struct x9p_px_req *q, struct hx_out *o);
int hx_op_mknod(const struct x9p_px_req *q, struct hx_out *o);
int hx_op_symlink(const struct x9p_px_req *q, struct hx_out *o);
int hx_op_link(const struct x9p_px_req *q, struct hx_out *o);
int hx_op_setattr(const struct x9p_px_req *q, struct hx_out *o);
int hx_op_rename(const struct x9p_px_req *q, struct hx_out *o);
int hx_op_unlink(const struct x9p_px_req *q, struct hx_out *o);
int hx_op_readdir(const struct x9p_px_req *q, struct hx_out *o);
int hx_op_getxattr(const struct x9p_px_req *q, struct hx_out *o);
int hx_op_listxattr(const struct x9p_px_req *q, struct hx_out *o);
int hx_op_setxattr(const struct x9p_px_req *q, struct hx_out *o);
int hx_op_removexattr(const struct x9p_px_req *q, struct hx_out *o);
int hx_op_adopt(const struct x9p_px_req *q, struct hx_out *o);

/* ---- shared by the handlers (op-common.c) ---- */

/* A NUL-terminated copy of a protocol string (names are short). */
#define HX_NAME(var, str)                                   \
	char var[X9P_PX_TARGET_MAX + 1];                    \
	memcpy(var, (str).s, (str).len);                    \
	var[(str).len] = 0

/* The node for an id (new reference) or -ESTALE. */
int hx_get_node(uint64_t id, struct hx_node **out);
/* A directory node that is still inside the export, or -ENOTDIR / -ESTALE. */
int hx_get_dir(uint64_t id, struct hx_node **out);
/* Names a new entry may not have: -EINVAL for reserved ones. */
int hx_check_new_name(const char *name);
/* Publishes a new node for fd (taken) at dir/name and fills its attributes. */
int hx_publish(int fd, struct hx_node *dir, const char *name, struct x9p_px_rep *rep);
/* The same with the statx of fd the caller took just now (hx_stat), and
 * the mapped model's metadata it just stored (known), when not NULL. */
struct hx_meta;
int hx_publish_stx(int fd, const struct statx *stx, struct hx_node *dir, const char *name,
		   const struct hx_meta *known, struct x9p_px_rep *rep);
/* Publishes a new node for the export root. */
int hx_publish_root(struct x9p_px_rep *rep);
/* O_* flags for X9P_PXO_* flags (bit by bit). */
int hx_open_flags(uint32_t px);
/* Whether the current request was cancelled (long operations poll it). */
bool hx_cancelled(void);

#endif
