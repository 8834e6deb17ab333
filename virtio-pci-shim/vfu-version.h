/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vfio-user VERSION negotiation: the client's capabilities JSON in, the
 * server's reply payload out.
 *
 * Contract:
 *  - vfu_caps_parse() reads a capabilities document ({"capabilities":
 *    {...}}; NULL means none) into *c, starting from the protocol's
 *    defaults.  Known keys must have their documented types (non-negative
 *    integers; write_multiple a boolean; migration and twin_socket
 *    objects, twin_socket.supported a boolean); unknown keys are ignored.
 *    Text that is not JSON, or longer than VFU_MAX_CAPS_JSON bytes or
 *    nested deeper than VFU_MAX_CAPS_DEPTH, a top level that is not an
 *    object or a known key of the wrong type is -EPROTO with *why naming
 *    it.
 *  - vfu_version_reply() answers a decoded VERSION command: the same major
 *    (any other is -EPROTONOSUPPORT), the lower of both minors, and the
 *    server's capabilities `ours` narrowed to what the client proposed
 *    (max_dma_maps and pgsizes intersected, write_multiple only if both
 *    take it; twin sockets and migration are never offered).  The reply
 *    payload (version numbers, NUL-terminated JSON) is g_malloc'd into
 *    *payload; *client receives the client's capabilities.
 */
#ifndef X9P_VFU_VERSION_H
#define X9P_VFU_VERSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vfu-msg.h"

/* QEMU's document is about 200 bytes; the bounds keep json-glib's
 * recursive parser far from the stack's end. */
#define VFU_MAX_CAPS_JSON 4096
#define VFU_MAX_CAPS_DEPTH 8

struct vfu_caps {
	uint64_t max_msg_fds;           /* default 1 */
	uint64_t max_data_xfer_size;    /* default 1 MiB */
	uint64_t max_dma_maps;          /* default 65535 */
	uint64_t pgsizes;               /* default 4096 */
	bool write_multiple;
	bool twin_socket;               /* twin_socket.supported */
	bool migration;                 /* a migration object was present */
};

void vfu_caps_defaults(struct vfu_caps *c);
int vfu_caps_parse(const char *json, struct vfu_caps *c, const char **why);
int vfu_version_reply(const struct vfu_req *req, const struct vfu_caps *ours,
		      struct vfu_caps *client, uint8_t **payload, size_t *len, const char **why);

#endif
