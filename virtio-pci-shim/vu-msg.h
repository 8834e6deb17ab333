/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vhost-user wire format and message I/O on the frontend's socket.
 *
 * Contract:
 *  - vu_msg_recv() reads one whole message (12-byte header, payload of at
 *    most VU_MAX_PAYLOAD bytes) and the descriptors passed with it (at most
 *    VU_MAX_FDS).  A short read, an unsupported version, an oversized
 *    payload or truncated ancillary data is a protocol fault: -EPROTO
 *    (every received descriptor is closed).  The peer closing the socket
 *    between messages is -ECONNRESET.
 *  - Descriptors received are owned by the message: a handler takes the
 *    ones it keeps with vu_msg_take_fd(); vu_msg_close_fds() closes the
 *    rest.
 *  - vu_msg_reply() sends a reply to `req` with the same request code and
 *    the reply flag set.
 *  - Only little-endian hosts are supported (the frontend's byte order).
 */
#ifndef X9P_VU_MSG_H
#define X9P_VU_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum vu_request {
	VU_GET_FEATURES = 1,
	VU_SET_FEATURES = 2,
	VU_SET_OWNER = 3,
	VU_RESET_OWNER = 4,
	VU_SET_MEM_TABLE = 5,
	VU_SET_LOG_BASE = 6,
	VU_SET_LOG_FD = 7,
	VU_SET_VRING_NUM = 8,
	VU_SET_VRING_ADDR = 9,
	VU_SET_VRING_BASE = 10,
	VU_GET_VRING_BASE = 11,
	VU_SET_VRING_KICK = 12,
	VU_SET_VRING_CALL = 13,
	VU_SET_VRING_ERR = 14,
	VU_GET_PROTOCOL_FEATURES = 15,
	VU_SET_PROTOCOL_FEATURES = 16,
	VU_GET_QUEUE_NUM = 17,
	VU_SET_VRING_ENABLE = 18,
	VU_SEND_RARP = 19,
	VU_NET_SET_MTU = 20,
	VU_SET_BACKEND_REQ_FD = 21,
	VU_IOTLB_MSG = 22,
	VU_SET_VRING_ENDIAN = 23,
	VU_GET_CONFIG = 24,
	VU_SET_CONFIG = 25,
	VU_RESET_DEVICE = 34,
	VU_GET_MAX_MEM_SLOTS = 36,
};

/* Header flags. */
#define VU_VERSION 0x1u
#define VU_VERSION_MASK 0x3u
#define VU_FLAG_REPLY 0x4u
#define VU_FLAG_NEED_REPLY 0x8u

/* Protocol feature bits (GET/SET_PROTOCOL_FEATURES). */
#define VU_PROTOCOL_F_MQ 0
#define VU_PROTOCOL_F_REPLY_ACK 3
#define VU_PROTOCOL_F_CONFIG 9

/* Virtio/vhost feature bits. */
#define VU_F_PROTOCOL_FEATURES 30

/* SET_VRING_KICK/CALL/ERR payload: queue index and "no descriptor". */
#define VU_VRING_IDX_MASK 0xffu
#define VU_VRING_NOFD_MASK (1u << 8)

#define VU_MAX_MEM_REGIONS 8
#define VU_MAX_CONFIG_SIZE 256
#define VU_MAX_PAYLOAD 4096
#define VU_MAX_FDS 8
#define VU_HDR_SIZE 12

struct vu_vring_state {
	uint32_t index;
	uint32_t num;
};

struct vu_vring_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc_user_addr;
	uint64_t used_user_addr;
	uint64_t avail_user_addr;
	uint64_t log_guest_addr;
};

struct vu_mem_region_msg {
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr;
	uint64_t mmap_offset;
};

struct vu_memory_msg {
	uint32_t nregions;
	uint32_t padding;
	struct vu_mem_region_msg regions[VU_MAX_MEM_REGIONS];
};

struct vu_config_msg {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
	uint8_t region[VU_MAX_CONFIG_SIZE];
};
#define VU_CONFIG_HDR_SIZE 12

struct vu_msg {
	uint32_t request;
	uint32_t flags;
	uint32_t size;              /* payload bytes received */
	union {
		uint64_t u64;
		struct vu_vring_state state;
		struct vu_vring_addr addr;
		struct vu_memory_msg memory;
		struct vu_config_msg config;
		uint8_t bytes[VU_MAX_PAYLOAD];
	} payload;
	int fds[VU_MAX_FDS];
	int nfds;
};

/* 0, -ECONNRESET (orderly close before a header), -EPROTO, or -errno. */
int vu_msg_recv(int sock, struct vu_msg *m);
/* Sends a reply to req carrying `size` payload bytes.  0 or -errno. */
int vu_msg_reply(int sock, const struct vu_msg *req, const void *payload, uint32_t size);
/* Takes descriptor i out of the message (-1 if there is none). */
int vu_msg_take_fd(struct vu_msg *m, int i);
void vu_msg_close_fds(struct vu_msg *m);
/* Human-readable request name for logs ("SET_MEM_TABLE"), or "?". */
const char *vu_request_name(uint32_t request);

#endif
