/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The monitor-worker protocol: every message the privileged monitor and an
 * unprivileged worker exchange, in one place.
 *
 * Transport: a SOCK_SEQPACKET socketpair, one message per packet, at most
 * MW_MAX_MSG bytes and MW_MAX_FDS descriptors (SCM_RIGHTS).  A message is
 *   u16 version (MW_VERSION)  u16 type  u32 seq  u32 payload length
 * followed by the payload: the type's number of u32 fields (all little
 * endian), then zero or more strings, each u16 length + bytes (no NUL, at
 * most MW_MAX_STR bytes).  A reply carries the seq of its request.
 *
 * The decoder treats every packet as hostile: wrong version, unknown type,
 * a direction the receiver does not accept, a length that does not match,
 * a string too long or holding a NUL, more strings or descriptors than the
 * type allows: -EPROTO, and every descriptor that came with it is closed.
 * The monitor closes a worker that sends one malformed message and kills
 * it; nothing a worker sends makes the monitor act on anything but that
 * worker's own helper.
 *
 * Messages (M: monitor, W: worker):
 *   CONFIG       M->W  everything the worker serves; descriptors: the
 *                      endpoints (listening sockets, connections), the
 *                      session journal if MW_CF_JOURNAL, the two
 *                      recording files if MW_CF_RECORD (record/record.h),
 *                      then the trace file if MW_CF_TRACE.  Strings: label,
 *                      synthetic spec, mount tag, then per endpoint its
 *                      label.
 *   READY        W->M  the worker is confined and serving.
 *   HELPER_START W->M  start the export's x9p-helper for me.
 *   HELPER       M->W  reply: status (0 or -errno), pid; string: why it
 *                      failed; descriptor: the socket to the helper.
 *   HELPER_KILL  W->M  kill my helper (it broke the protocol).
 *   HELPER_REAP  W->M  wait for my helper to end, killing it after
 *                      grace_ms.
 *   HELPER_GONE  M->W  reply: string: how it ended.
 *   SESSION      W->M  xen: an Rversion went out (dialect, msize); the
 *                      monitor records it for a successor to resume.
 *   FAULT        W->M  xen: the frontend broke its rings (string: how);
 *                      the monitor closes the device and the worker.
 *   KEEP_FD      W->M  an open file no name leads to any more, of
 *                      journal node `slot` (descriptor: the file, which
 *                      must be regular); the monitor keeps it for the
 *                      device's next worker (at most MW_KEPT_FDS_MAX).
 *   DROP_FD      W->M  the node of `slot` is gone: close its file.
 *   KEPT_FD      M->W  one kept file (slot, descriptor), sent right
 *                      after CONFIG, MW_CF_KEPT_FDS of them.
 *   KEEP_DEVICE  W->M  vhost: the frontend connection and its set-up
 *                      (strings: the set-up as text cut at spaces,
 *                      virtio-pci-shim/vu-state.c and vfu-state.c;
 *                      descriptors: the connection first, then those of
 *                      the set-up), each time it changes; none: the
 *                      connection is over.  The monitor holds the latest,
 *                      unread, for the device's next worker.
 *   KEPT_DEVICE  M->W  vhost: that message back, after the KEPT_FDs when
 *                      MW_CF_KEPT_DEVICE.
 *   KEEP_CONN    W->M  sockets: a connection whose session has journal
 *                      session `session` (strings: label, peer;
 *                      descriptors: the connection's read and write ends
 *                      (one when they are the same), then its input and
 *                      output pipes, read end first; socket/stream.h).
 *                      The monitor holds it, unread, for the next worker.
 *   DROP_CONN    W->M  sockets: that connection is over: close it.
 *   KEPT_CONN    M->W  sockets: a KEEP_CONN back, after the KEPT_FDs,
 *                      MW_CF_KEPT_CONNS of them.
 */
#ifndef X9P_PRIVSEP_MW_H
#define X9P_PRIVSEP_MW_H

#include <stdbool.h>
#include <stdint.h>

#define MW_VERSION 1
#define MW_MAX_MSG 8192
#define MW_MAX_STR 1024
#define MW_MAX_U 32
#define MW_MAX_S 36
#define MW_MAX_FDS 17
#define MW_MAX_ENDPOINTS 16
#define MW_HDR 12

enum mw_type {
	MW_CONFIG = 1,
	MW_READY,
	MW_HELPER_START,
	MW_HELPER,
	MW_HELPER_KILL,
	MW_HELPER_REAP,
	MW_HELPER_GONE,
	MW_SESSION,
	MW_FAULT,
	MW_KEEP_FD,
	MW_DROP_FD,
	MW_KEPT_FD,
	MW_KEEP_DEVICE,
	MW_KEPT_DEVICE,
	MW_KEEP_CONN,
	MW_DROP_CONN,
	MW_KEPT_CONN,
	MW_TYPE_END
};

/* Who may send a type. */
enum mw_dir { MW_FROM_MONITOR = 1, MW_FROM_WORKER = 2 };

/* CONFIG's u32 fields. */
enum {
	MW_CF_ROLE,             /* enum mw_role */
	MW_CF_UID, MW_CF_GID,   /* ids the worker runs as */
	MW_CF_SANDBOX,          /* enum mw_sandbox */
	MW_CF_SECCOMP,          /* enum mw_seccomp */
	MW_CF_LOG_LEVEL,        /* GLogLevelFlags threshold */
	MW_CF_ATTACK,           /* test builds: the self-attack to try; 0 none */
	MW_CF_WORKERS, MW_CF_MAX_FIDS, MW_CF_MAX_OPEN_FILES, MW_CF_MAX_LOCKS,
	MW_CF_MAX_XATTR_BYTES,
	MW_CF_MAX_CONNS, MW_CF_REPLY_TIMEOUT, MW_CF_VERSION_TIMEOUT, MW_CF_MAX_CONNS_PER_PEER,
	MW_CF_FS,               /* enum mw_fs */
	MW_CF_MODEL, MW_CF_MULTIDEVS, MW_CF_MAX_NODES,
	MW_CF_FLAGS,            /* MW_CF_READONLY | ... */
	MW_CF_N_ENDPOINTS,
	MW_CF_STOP_GRACE_MS,    /* vhost: a queue stop waits this long */
	MW_CF_DOMID,            /* xen: the frontend's domain */
	MW_CF_RESUME,           /* xen: 0, or 1 + the dialect of a session to resume */
	MW_CF_RESUME_MSIZE,
	MW_CF_MAX_FILES,        /* xen: the device's quota (0: none) */
	MW_CF_MAX_SPACE_MIB,
	MW_CF_KEPT_FDS,         /* KEPT_FD messages that follow */
	MW_CF_KEPT_DEVICE,      /* vhost: 1 when a KEPT_DEVICE follows them */
	MW_CF_KEPT_CONNS,       /* sockets: KEPT_CONN messages that follow */
	MW_CF_RECORD_MIB,       /* with MW_CF_RECORD: the recording's size limit */
	MW_CF_NU
};
/* CONFIG's strings: label, synthetic spec, mount tag (vhost), endpoints. */
enum { MW_CF_S_LABEL, MW_CF_S_SYNTH, MW_CF_S_TAG, MW_CF_S_ENDPOINT0 };

/* Sockets: the 9P socket transport on every endpoint.  Vhost: one
 * vhost-user virtio-9p device on its one endpoint.  Xen: one 9pfs device
 * connection; its endpoints are its rings, "ring REF PORT" (the interface
 * page's grant reference and the frontend's event-channel port), with no
 * descriptor: the worker maps and binds them itself before its lockdown. */
enum mw_role { MW_ROLE_SOCKETS = 1, MW_ROLE_VHOST, MW_ROLE_XEN };
enum mw_sandbox { MW_SANDBOX_NAMESPACE, MW_SANDBOX_CHROOT, MW_SANDBOX_NONE };
enum mw_seccomp { MW_SECCOMP_KILL, MW_SECCOMP_LOG, MW_SECCOMP_NONE };
enum mw_fs { MW_FS_SYNTH, MW_FS_PROXY };
enum {
	MW_CF_READONLY = 1u << 0,
	MW_CF_NO_SETID = 1u << 1,
	MW_CF_TRACE = 1u << 2,
	MW_CF_AUTO_DELETE = 1u << 3,   /* xen quota */
	MW_CF_KEEP_FIDS = 1u << 4,     /* Tversion keeps fids (Xen frontends) */
	MW_CF_VFIO_USER = 1u << 5,     /* vhost role: a vfio-user virtio-pci device */
	MW_CF_JOURNAL = 1u << 6,       /* a session journal descriptor comes along */
	MW_CF_RECORD = 1u << 7,        /* xen: two recording files come along */
	MW_CF_RECORD_REDACT = 1u << 8, /* ... and it leaves data and names out */
	MW_CF_FLAGS_ALL = (1u << 9) - 1,
};

/* KEEP_FD's, DROP_FD's and KEPT_FD's u32 field. */
enum { MW_KF_SLOT, MW_KF_NU };
/* Files a device's workers have the monitor keep, at most. */
#define MW_KEPT_FDS_MAX 256

/* KEEP_CONN's, DROP_CONN's and KEPT_CONN's u32 field, strings and
 * descriptors. */
enum { MW_KC_SESSION, MW_KC_NU };
enum { MW_KC_S_LABEL, MW_KC_S_PEER, MW_KC_NS };
#define MW_KC_MAX_FDS 6
/* Connections a socket daemon's workers have the monitor keep, at most. */
#define MW_KEPT_CONNS_MAX 256

/* SESSION's u32 fields. */
enum { MW_SS_DIALECT, MW_SS_MSIZE, MW_SS_NU };
/* HELPER's and HELPER_REAP's u32 fields. */
enum { MW_HP_STATUS, MW_HP_PID, MW_HP_NU };
enum { MW_RP_GRACE_MS, MW_RP_NU };

struct mw_msg {
	uint16_t type;
	uint32_t seq;
	uint32_t u[MW_MAX_U];
	unsigned nu;
	char *s[MW_MAX_S];          /* owned, NUL-terminated */
	unsigned ns;
	int fds[MW_MAX_FDS];        /* owned */
	unsigned nfds;
};

/* A message of `type` with its fields zeroed and no strings or fds. */
void mw_init(struct mw_msg *m, enum mw_type type, uint32_t seq);
/* Appends a string (copied) or a descriptor (not duplicated; sent, not closed). */
void mw_add_str(struct mw_msg *m, const char *s);
/* Text of tokens separated by spaces, as strings cut at spaces (each at
 * most MW_MAX_STR bytes); false when that takes more strings than are
 * left, or a token is longer.  mw_text() joins every string back (g_free). */
bool mw_add_text(struct mw_msg *m, const char *text);
char *mw_text(const struct mw_msg *m);
void mw_add_fd(struct mw_msg *m, int fd);
/* Frees the strings and closes the descriptors the message owns. */
void mw_clear(struct mw_msg *m);
/* CONFIG: where the descriptor that comes with flag (MW_CF_JOURNAL,
 * MW_CF_RECORD: the first of its two, MW_CF_TRACE) is, after the
 * endpoints' in that order; the flag must be set. */
unsigned mw_cf_fd_at(const struct mw_msg *m, uint32_t flag);
/* CONFIG: how many descriptors come after the endpoints'. */
unsigned mw_cf_tail_fds(const struct mw_msg *m);
/* Frees the strings; descriptors are left to the caller (m->nfds = 0). */
void mw_clear_keep_fds(struct mw_msg *m);

/* Encodes m into buf; the length, or -EMSGSIZE / -EINVAL. */
int mw_encode(const struct mw_msg *m, uint8_t *buf, size_t size);
/*
 * Decodes a packet received by `receiver` (the side it came to: a worker
 * receives MW_FROM_MONITOR messages).  fds/nfds: what came with it; they
 * are owned by m on success and closed on failure.  0 or -EPROTO.
 */
int mw_decode(const uint8_t *buf, size_t len, enum mw_dir from, const int *fds, unsigned nfds,
	      struct mw_msg *m);

/* Sends m (descriptors included); 0 or -errno. */
int mw_send(int sock, const struct mw_msg *m);
/* Receives one message sent by `from`; 0, 1 at end of stream, or -errno
 * (-EPROTO for a malformed one). */
int mw_recv(int sock, enum mw_dir from, struct mw_msg *m);

/* The name of a type, for logs ("HELPER_START"), or "?" */
const char *mw_type_name(unsigned type);

#endif
