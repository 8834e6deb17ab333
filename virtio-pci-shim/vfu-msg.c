// SPDX-License-Identifier: GPL-2.0-or-later
/* vfio-user message I/O and structural decoding; see vfu-msg.h. */
#include <errno.h>
#include <linux/vfio.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "unix-io.h"
#include "vfu-msg.h"

#define HDR_SIZE sizeof(struct vfu_hdr)

static int fault(const char **why, const char *what)
{
	if (why)
		*why = what;
	return -EPROTO;
}

void vfu_msg_clear(struct vfu_msg *m)
{
	uio_close_fds(m->fds, m->nfds);
	m->nfds = 0;
	g_free(m->payload);
	m->payload = NULL;
	m->len = 0;
}

int vfu_msg_take_fd(struct vfu_msg *m, int i)
{
	return uio_take_fd(m->fds, m->nfds, i);
}

/* Why a header cannot start a message, or NULL. */
static const char *bad_header(const struct vfu_hdr *h)
{
	uint32_t type = h->flags & VFU_F_TYPE_MASK;

	if (h->size < HDR_SIZE)
		return "message size below the header's";
	if (h->size > VFU_MAX_MSG)
		return "message larger than max_data_xfer_size allows";
	if (h->flags & ~VFU_F_KNOWN)
		return "unknown header flag bits";
	if (type != VFU_F_TYPE_COMMAND && type != VFU_F_TYPE_REPLY)
		return "unknown message type";
	if (type == VFU_F_TYPE_COMMAND && (h->flags & VFU_F_ERROR))
		return "error flag on a command";
	if (type == VFU_F_TYPE_REPLY && (h->flags & VFU_F_NO_REPLY))
		return "no-reply flag on a reply";
	return NULL;
}

int vfu_msg_recv(int sock, struct vfu_msg *m, const char **why)
{
	const char *what = NULL;
	bool excess;
	ssize_t n;
	int err;

	m->payload = NULL;
	m->len = 0;
	m->nfds = 0;
	n = uio_recv_fds(sock, &m->hdr, HDR_SIZE, m->fds, VFU_MAX_FDS, &m->nfds, &excess);
	if (n < 0) {
		err = (int)n;
		what = err == -EPROTO ? "truncated ancillary data" : "receive failed";
		goto fail;
	}
	if (n == 0) {
		err = -ECONNRESET;
		what = "peer closed the connection";
		goto fail;
	}
	if (excess) {
		err = fault(&what, "more descriptors than max_msg_fds");
		goto fail;
	}
	if ((size_t)n < HDR_SIZE &&
	    (err = uio_read_full(sock, (uint8_t *)&m->hdr + n, HDR_SIZE - (size_t)n)) < 0) {
		what = err == -EPROTO ? "short read of the header" : "receive failed";
		goto fail;
	}
	if ((what = bad_header(&m->hdr))) {
		err = -EPROTO;
		goto fail;
	}
	m->len = m->hdr.size - (uint32_t)HDR_SIZE;
	if (m->len) {
		m->payload = g_malloc(m->len);
		if ((err = uio_read_full(sock, m->payload, m->len)) < 0) {
			what = err == -EPROTO ? "short read of the payload" : "receive failed";
			goto fail;
		}
	}
	return 0;
fail:
	vfu_msg_clear(m);
	if (why)
		*why = what;
	return err;
}

static bool wraps(uint64_t base, uint64_t len)
{
	return base + len < base;
}

static bool one_bit(uint32_t v)
{
	return v && !(v & (v - 1));
}

/* The fixed part of a payload that must be exactly that size. */
static int exact(const struct vfu_msg *m, void *dst, size_t size, const char **why,
		 const char *what)
{
	if (m->len != size)
		return fault(why, what);
	memcpy(dst, m->payload, size);
	return 0;
}

/* A fixed-size query whose argsz, its first field, must leave room for
 * the reply. */
static int decode_query(const struct vfu_msg *m, void *dst, size_t size, const char **why,
			const char *bad_size, const char *small_argsz)
{
	uint32_t argsz;

	if (exact(m, dst, size, why, bad_size))
		return -EPROTO;
	memcpy(&argsz, dst, sizeof(argsz));
	return argsz < size ? fault(why, small_argsz) : 0;
}
static_assert(offsetof(struct vfu_device_info, argsz) == 0, "argsz first");
static_assert(offsetof(struct vfu_region_info, argsz) == 0, "argsz first");
static_assert(offsetof(struct vfu_irq_info, argsz) == 0, "argsz first");

static int decode_dma_map(const struct vfu_msg *m, struct vfu_dma_map *d, const char **why)
{
	if (exact(m, d, sizeof(*d), why, "DMA_MAP payload is not 32 bytes"))
		return -EPROTO;
	if (d->argsz != sizeof(*d))
		return fault(why, "DMA_MAP argsz is not 32");
	if (d->flags & ~(uint32_t)(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE))
		return fault(why, "unknown DMA_MAP flags");
	if (m->nfds > 1)
		return fault(why, "more than one descriptor with DMA_MAP");
	if (!m->nfds && d->offset)
		return fault(why, "DMA_MAP file offset without a descriptor");
	if (!d->size)
		return fault(why, "empty DMA_MAP");
	if (wraps(d->addr, d->size) || wraps(d->offset, d->size))
		return fault(why, "DMA_MAP range wraps around");
	return 0;
}

static int decode_dma_unmap(const struct vfu_msg *m, struct vfu_dma_unmap *d, const char **why)
{
	if (exact(m, d, sizeof(*d), why, "DMA_UNMAP payload is not 24 bytes"))
		return -EPROTO;
	if (d->argsz < sizeof(*d))
		return fault(why, "DMA_UNMAP argsz leaves no room for the reply");
	if (d->flags & ~(uint32_t)VFIO_DMA_UNMAP_FLAG_ALL)
		return fault(why, "unknown DMA_UNMAP flags (dirty bitmaps are not supported)");
	if (d->flags & VFIO_DMA_UNMAP_FLAG_ALL) {
		if (d->addr || d->size)
			return fault(why, "DMA_UNMAP of everything with an address or size");
	} else if (!d->size || wraps(d->addr, d->size)) {
		return fault(why, "DMA_UNMAP range empty or wrapping around");
	}
	return 0;
}

static int decode_set_irqs(const struct vfu_msg *m, struct vfu_req *r, const char **why)
{
	struct vfu_irq_set *s = &r->u.set_irqs.s;
	uint32_t data, action;

	if (m->len < sizeof(*s))
		return fault(why, "SET_IRQS payload shorter than 20 bytes");
	memcpy(s, m->payload, sizeof(*s));
	if (s->argsz != m->len)
		return fault(why, "SET_IRQS argsz is not its payload's size");
	data = s->flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
	action = s->flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;
	if (s->flags & ~(uint32_t)(VFIO_IRQ_SET_DATA_TYPE_MASK | VFIO_IRQ_SET_ACTION_TYPE_MASK))
		return fault(why, "unknown SET_IRQS flags");
	if (!one_bit(data) || !one_bit(action))
		return fault(why, "SET_IRQS needs exactly one data type and one action");
	if ((uint64_t)s->start + s->count > UINT32_MAX)
		return fault(why, "SET_IRQS start + count wraps around");
	switch (data) {
	case VFIO_IRQ_SET_DATA_NONE:
		if (m->len != sizeof(*s) || m->nfds)
			return fault(why, "SET_IRQS with DATA_NONE carries data");
		break;
	case VFIO_IRQ_SET_DATA_BOOL:
		if (m->len != sizeof(*s) + (uint64_t)s->count || m->nfds)
			return fault(why, "SET_IRQS booleans do not match count");
		r->u.set_irqs.bools = m->payload + sizeof(*s);
		break;
	default: /* eventfds; none at all de-assigns */
		if (m->len != sizeof(*s))
			return fault(why, "SET_IRQS with DATA_EVENTFD carries inline data");
		if (m->nfds && (uint32_t)m->nfds != s->count)
			return fault(why, "SET_IRQS eventfds do not match count");
		break;
	}
	return 0;
}

static int decode_region_rw(const struct vfu_msg *m, struct vfu_req *r, bool write,
			    const char **why)
{
	struct vfu_region_rw *rw = &r->u.region_rw.rw;

	if (m->len < sizeof(*rw))
		return fault(why, "region access payload shorter than 16 bytes");
	memcpy(rw, m->payload, sizeof(*rw));
	if (rw->count > VFU_MAX_DATA_XFER)
		return fault(why, "region access count above max_data_xfer_size");
	if (wraps(rw->offset, rw->count))
		return fault(why, "region access offset + count wraps around");
	if (m->len != sizeof(*rw) + (write ? rw->count : 0))
		return fault(why, write ? "REGION_WRITE data does not match count"
					: "REGION_READ payload is not 16 bytes");
	if (write)
		r->u.region_rw.data = m->payload + sizeof(*rw);
	return 0;
}

static int decode_write_multi(const struct vfu_msg *m, struct vfu_req *r, const char **why)
{
	const struct vfu_wr_one *w;
	uint64_t n;

	if (m->len < sizeof(struct vfu_wr_multi))
		return fault(why, "REGION_WRITE_MULTI payload shorter than 8 bytes");
	memcpy(&n, m->payload, sizeof(n));
	if (n < 1 || n > VFU_MULTI_MAX)
		return fault(why, "REGION_WRITE_MULTI count outside 1..200");
	if (m->len != sizeof(struct vfu_wr_multi) + n * sizeof(*w))
		return fault(why, "REGION_WRITE_MULTI entries do not match count");
	w = (const struct vfu_wr_one *)(m->payload + sizeof(struct vfu_wr_multi));
	for (uint64_t i = 0; i < n; i++) {
		uint64_t off = w[i].offset;
		uint32_t count = w[i].count;

		if (count < 1 || count > VFU_MULTI_DATA)
			return fault(why, "REGION_WRITE_MULTI entry count outside 1..8");
		if (wraps(off, count))
			return fault(why, "REGION_WRITE_MULTI entry offset + count wraps around");
	}
	r->u.multi.n = n;
	r->u.multi.wrs = w;
	return 0;
}

static int decode_version(const struct vfu_msg *m, struct vfu_req *r, const char **why)
{
	const char *json;
	uint32_t jl;

	if (m->len < sizeof(struct vfu_version))
		return fault(why, "VERSION payload shorter than its version numbers");
	memcpy(&r->u.version.v, m->payload, sizeof(struct vfu_version));
	if (m->len == sizeof(struct vfu_version))
		return 0;
	json = (const char *)m->payload + sizeof(struct vfu_version);
	jl = m->len - (uint32_t)sizeof(struct vfu_version);
	if (memchr(json, 0, jl) != json + jl - 1)
		return fault(why, "VERSION data is not one NUL-terminated string");
	r->u.version.json = json;
	r->u.version.json_len = jl;
	return 0;
}

/* Commands that take descriptors: DMA_MAP (one) and SET_IRQS (eventfds). */
static bool takes_fds(unsigned command)
{
	return command == VFU_CMD_DMA_MAP || command == VFU_CMD_DEVICE_SET_IRQS;
}

int vfu_decode(const struct vfu_msg *m, struct vfu_req *r, const char **why)
{
	memset(r, 0, sizeof(*r));
	r->hdr = m->hdr;
	r->fds = m->fds;
	r->nfds = m->nfds;
	if ((m->hdr.flags & VFU_F_TYPE_MASK) != VFU_F_TYPE_COMMAND)
		return fault(why, "a reply where a command was expected");
	if (m->nfds && !takes_fds(m->hdr.command))
		return fault(why, "descriptors with a command that takes none");
	switch (m->hdr.command) {
	case VFU_CMD_VERSION:
		return decode_version(m, r, why);
	case VFU_CMD_DMA_MAP:
		return decode_dma_map(m, &r->u.dma_map, why);
	case VFU_CMD_DMA_UNMAP:
		return decode_dma_unmap(m, &r->u.dma_unmap, why);
	case VFU_CMD_DEVICE_GET_INFO:
		return decode_query(m, &r->u.device_info, sizeof(r->u.device_info), why,
				    "DEVICE_GET_INFO payload is not 16 bytes",
				    "DEVICE_GET_INFO argsz leaves no room for the reply");
	case VFU_CMD_DEVICE_GET_REGION_INFO:
		return decode_query(m, &r->u.region_info, sizeof(r->u.region_info), why,
				    "DEVICE_GET_REGION_INFO payload is not 32 bytes",
				    "DEVICE_GET_REGION_INFO argsz leaves no room for the reply");
	case VFU_CMD_DEVICE_GET_IRQ_INFO:
		return decode_query(m, &r->u.irq_info, sizeof(r->u.irq_info), why,
				    "DEVICE_GET_IRQ_INFO payload is not 16 bytes",
				    "DEVICE_GET_IRQ_INFO argsz leaves no room for the reply");
	case VFU_CMD_DEVICE_SET_IRQS:
		return decode_set_irqs(m, r, why);
	case VFU_CMD_REGION_READ:
		return decode_region_rw(m, r, false, why);
	case VFU_CMD_REGION_WRITE:
		return decode_region_rw(m, r, true, why);
	case VFU_CMD_DEVICE_RESET:
		return m->len ? fault(why, "DEVICE_RESET with a payload") : 0;
	case VFU_CMD_REGION_WRITE_MULTI:
		return decode_write_multi(m, r, why);
	case VFU_CMD_DMA_READ:
	case VFU_CMD_DMA_WRITE:
		return fault(why, "DMA_READ/DMA_WRITE are server-to-client commands");
	default:
		if (why)
			*why = "command not supported";
		return -ENOSYS;
	}
}

int vfu_encode(const struct vfu_req *r, uint8_t **buf, size_t *len)
{
	const void *fixed = NULL, *var = NULL;
	size_t flen = 0, vlen = 0;
	struct vfu_hdr h = r->hdr;

	switch (r->hdr.command) {
	case VFU_CMD_VERSION:
		fixed = &r->u.version.v, flen = sizeof(r->u.version.v);
		var = r->u.version.json, vlen = r->u.version.json_len;
		break;
	case VFU_CMD_DMA_MAP:
		fixed = &r->u.dma_map, flen = sizeof(r->u.dma_map);
		break;
	case VFU_CMD_DMA_UNMAP:
		fixed = &r->u.dma_unmap, flen = sizeof(r->u.dma_unmap);
		break;
	case VFU_CMD_DEVICE_GET_INFO:
		fixed = &r->u.device_info, flen = sizeof(r->u.device_info);
		break;
	case VFU_CMD_DEVICE_GET_REGION_INFO:
		fixed = &r->u.region_info, flen = sizeof(r->u.region_info);
		break;
	case VFU_CMD_DEVICE_GET_IRQ_INFO:
		fixed = &r->u.irq_info, flen = sizeof(r->u.irq_info);
		break;
	case VFU_CMD_DEVICE_SET_IRQS:
		fixed = &r->u.set_irqs.s, flen = sizeof(r->u.set_irqs.s);
		if (r->u.set_irqs.s.flags & VFIO_IRQ_SET_DATA_BOOL)
			var = r->u.set_irqs.bools, vlen = r->u.set_irqs.s.count;
		break;
	case VFU_CMD_REGION_READ:
	case VFU_CMD_REGION_WRITE:
		fixed = &r->u.region_rw.rw, flen = sizeof(r->u.region_rw.rw);
		if (r->u.region_rw.rw.count > VFU_MAX_DATA_XFER)
			return -EINVAL;
		if (r->hdr.command == VFU_CMD_REGION_WRITE)
			var = r->u.region_rw.data, vlen = r->u.region_rw.rw.count;
		break;
	case VFU_CMD_DMA_READ:
	case VFU_CMD_DMA_WRITE:
		fixed = &r->u.dma_rw.rw, flen = sizeof(r->u.dma_rw.rw);
		if (r->u.dma_rw.rw.count > VFU_MAX_DATA_XFER)
			return -EINVAL;
		if (r->hdr.command == VFU_CMD_DMA_WRITE)
			var = r->u.dma_rw.data, vlen = r->u.dma_rw.rw.count;
		break;
	case VFU_CMD_DEVICE_RESET:
		break;
	case VFU_CMD_REGION_WRITE_MULTI:
		if (r->u.multi.n > VFU_MULTI_MAX)
			return -EINVAL;
		fixed = &r->u.multi.n, flen = sizeof(r->u.multi.n);
		var = r->u.multi.wrs, vlen = r->u.multi.n * sizeof(struct vfu_wr_one);
		break;
	default:
		return -EINVAL;
	}
	if (vlen && !var)
		return -EINVAL;
	*len = HDR_SIZE + flen + vlen;
	h.size = (uint32_t)*len;
	*buf = g_malloc(*len);
	memcpy(*buf, &h, HDR_SIZE);
	if (flen)
		memcpy(*buf + HDR_SIZE, fixed, flen);
	if (vlen)
		memcpy(*buf + HDR_SIZE + flen, var, vlen);
	return 0;
}

int vfu_send(int sock, const struct vfu_req *r, const int *fds, int nfds)
{
	uint8_t *buf;
	size_t len;
	int err = vfu_encode(r, &buf, &len);

	if (err)
		return err;
	err = uio_send_all(sock, &(struct iovec){ buf, len }, 1, fds, nfds);
	g_free(buf);
	return err;
}

int vfu_reply(int sock, const struct vfu_hdr *req, const struct iovec *iov, int iovcnt,
	      const int *fds, int nfds)
{
	struct vfu_hdr h = { .id = req->id, .command = req->command, .flags = VFU_F_TYPE_REPLY };
	struct iovec v[8] = { { &h, HDR_SIZE } };
	uint64_t size = HDR_SIZE;

	if (req->flags & VFU_F_NO_REPLY)
		return 0;
	if (iovcnt < 0 || iovcnt > 7)
		return -EINVAL;
	for (int i = 0; i < iovcnt; i++) {
		v[i + 1] = iov[i];
		size += iov[i].iov_len;
	}
	if (size > UINT32_MAX)
		return -EINVAL;
	h.size = (uint32_t)size;
	return uio_send_all(sock, v, iovcnt + 1, fds, nfds);
}

int vfu_reply_error(int sock, const struct vfu_hdr *req, int err)
{
	struct vfu_hdr h = {
		.id = req->id, .command = req->command, .size = HDR_SIZE,
		.flags = VFU_F_TYPE_REPLY | VFU_F_ERROR, .error = (uint32_t)(err < 0 ? -err : err),
	};

	if (req->flags & VFU_F_NO_REPLY)
		return 0;
	return uio_send_all(sock, &(struct iovec){ &h, HDR_SIZE }, 1, NULL, 0);
}

const char *vfu_command_name(unsigned command)
{
	static const char *const names[] = {
		[VFU_CMD_VERSION] = "VERSION",
		[VFU_CMD_DMA_MAP] = "DMA_MAP",
		[VFU_CMD_DMA_UNMAP] = "DMA_UNMAP",
		[VFU_CMD_DEVICE_GET_INFO] = "DEVICE_GET_INFO",
		[VFU_CMD_DEVICE_GET_REGION_INFO] = "DEVICE_GET_REGION_INFO",
		[VFU_CMD_DEVICE_GET_REGION_IO_FDS] = "DEVICE_GET_REGION_IO_FDS",
		[VFU_CMD_DEVICE_GET_IRQ_INFO] = "DEVICE_GET_IRQ_INFO",
		[VFU_CMD_DEVICE_SET_IRQS] = "DEVICE_SET_IRQS",
		[VFU_CMD_REGION_READ] = "REGION_READ",
		[VFU_CMD_REGION_WRITE] = "REGION_WRITE",
		[VFU_CMD_DMA_READ] = "DMA_READ",
		[VFU_CMD_DMA_WRITE] = "DMA_WRITE",
		[VFU_CMD_DEVICE_RESET] = "DEVICE_RESET",
		[VFU_CMD_DIRTY_PAGES] = "DIRTY_PAGES",
		[VFU_CMD_REGION_WRITE_MULTI] = "REGION_WRITE_MULTI",
		[VFU_CMD_DEVICE_FEATURE] = "DEVICE_FEATURE",
		[VFU_CMD_MIG_DATA_READ] = "MIG_DATA_READ",
		[VFU_CMD_MIG_DATA_WRITE] = "MIG_DATA_WRITE",
	};

	if (command < G_N_ELEMENTS(names) && names[command])
		return names[command];
	return "?";
}
