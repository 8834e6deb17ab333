/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vfio-user messages on the client's socket: receiving, structural
 * decoding, encoding and replying (wire format in vfu-proto.h; VERSION's
 * JSON in vfu-version.h).
 *
 * Contract:
 *  - vfu_msg_recv() reads one whole message from a connected SOCK_STREAM
 *    unix socket: the header, hdr.size - 16 payload bytes (heap) and the
 *    SCM_RIGHTS descriptors that came with the header.  A short read, a
 *    size below the header or above VFU_MAX_MSG, an unknown message type
 *    or flag bit, the error flag on a command or no-reply on a reply,
 *    truncated ancillary data or more than VFU_MAX_FDS descriptors is a
 *    protocol fault: -EPROTO, every received descriptor closed, nothing
 *    allocated.  The peer closing the socket between messages is
 *    -ECONNRESET; other socket errors are -errno.  *why (optional) names
 *    the fault.
 *  - A received message owns its payload and descriptors until
 *    vfu_msg_clear(); a handler keeps a descriptor with vfu_msg_take_fd().
 *  - vfu_decode() checks a received command against its command's layout
 *    (exact payload size, argsz, counts against the payload and against
 *    the descriptors, known flags, sums that cannot overflow, transfers of
 *    at most VFU_MAX_DATA_XFER) and gives a typed view (struct vfu_req)
 *    whose pointers point into the message.  -EPROTO for a malformed
 *    command (the connection is no longer trustworthy), -ENOSYS for a
 *    well-formed header whose command this codec does not take (the
 *    device replies ENOSYS and carries on).  Checks that need the device
 *    (a region index or offset out of range, an unknown IRQ index) are
 *    the device's.
 *  - vfu_encode() is decoding's inverse: a decoded command encodes to the
 *    bytes it was decoded from.  It also builds the server's own commands
 *    (DMA_READ / DMA_WRITE).
 *  - vfu_reply() / vfu_reply_error() answer a command (same id and
 *    command, reply type) with a payload and descriptors, or with the
 *    error flag and an errno and no payload.  A command that asked for no
 *    reply gets none: both return 0 without sending.  The caller keeps its
 *    descriptors.
 */
#ifndef X9P_VFU_MSG_H
#define X9P_VFU_MSG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vfu-proto.h"

/* The server announces these in VERSION (max_data_xfer_size and
 * max_msg_fds) and enforces them on everything it receives.  1 MiB is
 * QEMU's default; 16 is the most descriptors QEMU accepts to announce. */
#define VFU_MAX_DATA_XFER (1u << 20)
#define VFU_MAX_FDS 16
/* The largest message: a REGION_WRITE of VFU_MAX_DATA_XFER bytes. */
#define VFU_MAX_MSG (sizeof(struct vfu_hdr) + sizeof(struct vfu_region_rw) + VFU_MAX_DATA_XFER)

struct vfu_msg {
	struct vfu_hdr hdr;
	uint8_t *payload;       /* len bytes (NULL when len is 0) */
	uint32_t len;
	int fds[VFU_MAX_FDS];   /* -1 once taken */
	int nfds;
};

/* A decoded command; pointers point into the vfu_msg it came from. */
struct vfu_req {
	struct vfu_hdr hdr;
	union {
		struct {
			struct vfu_version v;
			const char *json;       /* NUL-terminated, or NULL */
			uint32_t json_len;      /* bytes including the NUL; 0 if none */
		} version;
		struct vfu_dma_map dma_map;     /* descriptor: fds[0] if nfds is 1 */
		struct vfu_dma_unmap dma_unmap;
		struct vfu_device_info device_info;
		struct vfu_region_info region_info;
		struct vfu_irq_info irq_info;
		struct {
			struct vfu_irq_set s;
			const uint8_t *bools;   /* s.count bytes with DATA_BOOL */
		} set_irqs;                     /* eventfds: fds[0..count) */
		struct {
			struct vfu_region_rw rw;
			const uint8_t *data;    /* rw.count bytes for a write */
		} region_rw;
		struct {
			struct vfu_dma_rw rw;
			const uint8_t *data;    /* rw.count bytes for a DMA_WRITE */
		} dma_rw;
		struct {
			uint64_t n;
			const struct vfu_wr_one *wrs;
		} multi;
	} u;
	const int *fds;         /* the message's descriptors, still its own */
	int nfds;
};

int vfu_msg_recv(int sock, struct vfu_msg *m, const char **why);
void vfu_msg_clear(struct vfu_msg *m);
/* Takes descriptor i out of the message (-1 if there is none). */
int vfu_msg_take_fd(struct vfu_msg *m, int i);

/* 0, -EPROTO or -ENOSYS; see above. */
int vfu_decode(const struct vfu_msg *m, struct vfu_req *r, const char **why);
/* The message for r (hdr.size computed), g_malloc'd into *buf.  0, or
 * -EINVAL if r is not encodable (a command vfu_decode() does not take, a
 * transfer above VFU_MAX_DATA_XFER). */
int vfu_encode(const struct vfu_req *r, uint8_t **buf, size_t *len);
/* Encodes r and sends it with the descriptors.  0 or -errno. */
int vfu_send(int sock, const struct vfu_req *r, const int *fds, int nfds);

int vfu_reply(int sock, const struct vfu_hdr *req, const struct iovec *iov, int iovcnt,
	      const int *fds, int nfds);
int vfu_reply_error(int sock, const struct vfu_hdr *req, int err);

/* "DMA_MAP", or "?" for an unknown command. */
const char *vfu_command_name(unsigned command);

#endif
