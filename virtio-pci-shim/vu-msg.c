// SPDX-License-Identifier: GPL-2.0-or-later
/* Reading and writing vhost-user messages; see vu-msg.h. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "unix-io.h"
#include "vu-msg.h"

_Static_assert(sizeof(struct vu_vring_addr) == 40, "vring addr layout");
_Static_assert(sizeof(struct vu_mem_region_msg) == 32, "memory region layout");
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "little-endian hosts only");

void vu_msg_close_fds(struct vu_msg *m)
{
	uio_close_fds(m->fds, m->nfds);
	m->nfds = 0;
}

int vu_msg_take_fd(struct vu_msg *m, int i)
{
	return uio_take_fd(m->fds, m->nfds, i);
}

int vu_msg_recv(int sock, struct vu_msg *m)
{
	uint8_t hdr[VU_HDR_SIZE];
	bool excess;
	ssize_t n;
	int err;

	m->nfds = 0;
	m->size = 0;
	n = uio_recv_fds(sock, hdr, sizeof(hdr), m->fds, VU_MAX_FDS, &m->nfds, &excess);
	if (n < 0)
		return (int)n;
	if (n == 0) {
		vu_msg_close_fds(m);
		return -ECONNRESET;
	}
	/* More descriptors than any request takes: as truncated ancillary data. */
	if (excess) {
		err = -EPROTO;
		goto fail;
	}
	if ((size_t)n < sizeof(hdr) && (err = uio_read_full(sock, hdr + n, sizeof(hdr) - (size_t)n)) < 0)
		goto fail;
	memcpy(&m->request, hdr, 4);
	memcpy(&m->flags, hdr + 4, 4);
	memcpy(&m->size, hdr + 8, 4);
	if ((m->flags & VU_VERSION_MASK) != VU_VERSION || m->size > VU_MAX_PAYLOAD) {
		err = -EPROTO;
		goto fail;
	}
	/* Unused payload bytes read as zero, so a short payload never leaves
	 * stale fields behind. */
	memset(&m->payload, 0, sizeof(m->payload));
	if (m->size && (err = uio_read_full(sock, m->payload.bytes, m->size)) < 0)
		goto fail;
	return 0;
fail:
	vu_msg_close_fds(m);
	return err;
}

int vu_msg_reply(int sock, const struct vu_msg *req, const void *payload, uint32_t size)
{
	uint8_t buf[VU_HDR_SIZE + VU_MAX_PAYLOAD];
	uint32_t flags = VU_VERSION | VU_FLAG_REPLY;
	size_t len = VU_HDR_SIZE + size;

	if (size > VU_MAX_PAYLOAD)
		return -EINVAL;
	memcpy(buf, &req->request, 4);
	memcpy(buf + 4, &flags, 4);
	memcpy(buf + 8, &size, 4);
	if (size)
		memcpy(buf + VU_HDR_SIZE, payload, size);
	return uio_send_all(sock, &(struct iovec){ buf, len }, 1, NULL, 0);
}

const char *vu_request_name(uint32_t request)
{
	static const char *const names[] = {
		[VU_GET_FEATURES] = "GET_FEATURES",
		[VU_SET_FEATURES] = "SET_FEATURES",
		[VU_SET_OWNER] = "SET_OWNER",
		[VU_RESET_OWNER] = "RESET_OWNER",
		[VU_SET_MEM_TABLE] = "SET_MEM_TABLE",
		[VU_SET_LOG_BASE] = "SET_LOG_BASE",
		[VU_SET_LOG_FD] = "SET_LOG_FD",
		[VU_SET_VRING_NUM] = "SET_VRING_NUM",
		[VU_SET_VRING_ADDR] = "SET_VRING_ADDR",
		[VU_SET_VRING_BASE] = "SET_VRING_BASE",
		[VU_GET_VRING_BASE] = "GET_VRING_BASE",
		[VU_SET_VRING_KICK] = "SET_VRING_KICK",
		[VU_SET_VRING_CALL] = "SET_VRING_CALL",
		[VU_SET_VRING_ERR] = "SET_VRING_ERR",
		[VU_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
		[VU_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
		[VU_GET_QUEUE_NUM] = "GET_QUEUE_NUM",
		[VU_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
		[VU_SEND_RARP] = "SEND_RARP",
		[VU_NET_SET_MTU] = "NET_SET_MTU",
		[VU_SET_BACKEND_REQ_FD] = "SET_BACKEND_REQ_FD",
		[VU_IOTLB_MSG] = "IOTLB_MSG",
		[VU_SET_VRING_ENDIAN] = "SET_VRING_ENDIAN",
		[VU_GET_CONFIG] = "GET_CONFIG",
		[VU_SET_CONFIG] = "SET_CONFIG",
		[VU_RESET_DEVICE] = "RESET_DEVICE",
		[VU_GET_MAX_MEM_SLOTS] = "GET_MAX_MEM_SLOTS",
	};

	if (request < sizeof(names) / sizeof(names[0]) && names[request])
		return names[request];
	return "?";
}
