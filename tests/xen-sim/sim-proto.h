/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Wire protocol between the simulated-Xen stand-in libraries
 * (libxenstore.so.4, libxengnttab.so.1, libxenevtchn.so.1 built from
 * stub-*.c) and the in-process "hypervisor" of the tests (hv.c).
 *
 * One SOCK_SEQPACKET unix socket connection per library handle, at
 * $X9P_XENSIM_SOCK.  The first message is HELLO carrying the domain the
 * process claims to be ($X9P_XENSIM_DOMID, default 0: dom0, privileged).
 * Every request gets exactly one reply with the same op; err is 0 or an
 * errno value.  Descriptors (grant pages, event channels) travel as
 * SCM_RIGHTS.  A XenStore handle opens a second connection (role EVENTS)
 * on which the hypervisor pushes watch events (op SIM_EV_WATCH).
 *
 * Paths in XenStore requests may be relative: the hypervisor resolves
 * them against /local/domain/<domid of the connection>.
 */
#ifndef X9P_XENSIM_PROTO_H
#define X9P_XENSIM_PROTO_H

#include <stdint.h>

#define SIM_ENV_SOCK "X9P_XENSIM_SOCK"
#define SIM_ENV_DOMID "X9P_XENSIM_DOMID"
#define SIM_MAX_MSG (128u * 1024)
#define SIM_MAX_FDS 16

enum sim_op {
	SIM_HELLO = 1,           /* a0 = domid, a1 = role, a2 = rpc conn id (events) -> a0 = id */
	SIM_XS_READ,             /* a0 = tx; data = path -> data = value */
	SIM_XS_WRITE,            /* a0 = tx; data = path NUL value */
	SIM_XS_MKDIR,            /* a0 = tx; data = path */
	SIM_XS_RM,               /* a0 = tx; data = path */
	SIM_XS_DIRECTORY,        /* a0 = tx; data = path -> a1 = n, data = names NUL-separated */
	SIM_XS_GET_PERMS,        /* a0 = tx; data = path -> a1 = n, data = n x {id, perms} u32 */
	SIM_XS_SET_PERMS,        /* a0 = tx, a1 = n; data = path NUL, then n x {id, perms} */
	SIM_XS_WATCH,            /* data = path NUL token */
	SIM_XS_UNWATCH,          /* data = path NUL token */
	SIM_XS_TX_START,         /* -> a0 = tx */
	SIM_XS_TX_END,           /* a0 = tx, a1 = abort -> err EAGAIN on conflict */
	SIM_XS_INTRODUCED,       /* a0 = domid -> a1 = 0/1 */
	SIM_GNT_MAP,             /* a0 = granting domid, a1 = n, a2 = writable; data = refs
				    -> a0 = map id, data = n x {fd index, page}, fds */
	SIM_GNT_UNMAP,           /* a0 = map id */
	SIM_EVT_BIND,            /* a0 = remote domid, a1 = remote port
				    -> a0 = local port, fds: [to us, to them] */
	SIM_EVT_UNBIND,          /* a0 = local port */
	SIM_EV_WATCH,            /* pushed: data = path NUL token */
};

enum sim_role {
	SIM_ROLE_RPC = 0,
	SIM_ROLE_EVENTS = 1,
};

struct sim_hdr {
	uint32_t op;
	int32_t err;
	uint32_t a[4];
	uint32_t len;            /* bytes of data after the header */
};

struct sim_gnt_page {
	uint32_t fd_index;
	uint32_t page;
};

#endif
