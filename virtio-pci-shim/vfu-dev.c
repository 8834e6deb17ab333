// SPDX-License-Identifier: GPL-2.0-or-later
/* The vfio-user server of a virtio-pci function; see vfu-dev.h. */
#define G_LOG_DOMAIN "x9p-vhost"

#include <errno.h>
#include <linux/vfio.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>

#include "frontend.h"
#include "vfu-int.h"
#include "vfu-msg.h"


/* Handler results: replied (or nothing to reply), or end the connection. */
enum { H_OK = 0, H_FATAL = -1 };

struct vfu_dev *vfu_dev_new(struct vu_dev *dev, unsigned virtio_id, const char *label)
{
	struct vfu_dev *d = g_new0(struct vfu_dev, 1);

	d->label = g_strdup(label ? label : "vfio-user");
	d->pci = vpci_new(dev, virtio_id);
	d->vdev = dev;
	d->sock = d->err_fd = -1;
	d->tables = g_ptr_array_new_with_free_func((GDestroyNotify)vu_mem_unref);
	vfu_dma_init(&d->dma);
	vfu_caps_defaults(&d->ours);
	d->ours.max_msg_fds = VFU_MAX_FDS;
	d->ours.max_data_xfer_size = VFU_MAX_DATA_XFER;
	d->ours.max_dma_maps = VFU_MAX_DMA_MAPS;
	d->ours.pgsizes = 4096;
	d->ours.write_multiple = true;
	return d;
}

void vfu_dev_free(struct vfu_dev *d)
{
	if (!d)
		return;
	vpci_free(d->pci);
	vfu_dma_clear(&d->dma);
	g_ptr_array_free(d->tables, TRUE);
	g_free(d->label);
	g_free(d);
}

/* ---- replies ---- */

static int sent(struct vfu_dev *d, const struct vfu_req *r, int err)
{
	if (err < 0) {
		g_info("%s: replying to %s: %s", d->label, vfu_command_name(r->hdr.command),
		       g_strerror(-err));
		return H_FATAL;
	}
	return H_OK;
}

static int reply(struct vfu_dev *d, const struct vfu_req *r, const void *p, size_t len)
{
	struct iovec iov = { (void *)p, len };

	return sent(d, r, vfu_reply(d->sock, &r->hdr, &iov, len ? 1 : 0, NULL, 0));
}

static int refuse(struct vfu_dev *d, const struct vfu_req *r, int err, const char *why)
{
	g_info("%s: %s refused: %s", d->label, vfu_command_name(r->hdr.command), why);
	return sent(d, r, vfu_reply_error(d->sock, &r->hdr, err));
}

/* ---- commands ---- */

static int version(struct vfu_dev *d, const struct vfu_req *r)
{
	uint8_t *payload = NULL;
	size_t len = 0;
	const char *why = NULL;
	int err, h;

	if (d->versioned)
		return refuse(d, r, EINVAL, "the version was already negotiated");
	err = vfu_version_reply(r, &d->ours, &d->client, &payload, &len, &why);
	if (err < 0) {
		g_warning("%s: VERSION: %s", d->label, why ? why : g_strerror(-err));
		vfu_reply_error(d->sock, &r->hdr, -err);
		return H_FATAL;
	}
	h = reply(d, r, payload, len);
	g_free(payload);
	d->versioned = true;
	g_debug("%s: vfio-user %u.%u, client: %llu fds per message, %llu bytes per transfer",
		d->label, r->u.version.v.major, r->u.version.v.minor,
		(unsigned long long)d->client.max_msg_fds,
		(unsigned long long)d->client.max_data_xfer_size);
	return h;
}

/* Forgets the tables no request holds any more. */
static void prune_tables(struct vfu_dev *d)
{
	for (guint i = d->tables->len; i-- > 0;) {
		struct vu_mem *m = g_ptr_array_index(d->tables, i);

		if (g_atomic_int_get(&m->refs) == 1)
			g_ptr_array_remove_index_fast(d->tables, i);
	}
}

/* Maps the table anew and gives it to the device. */
int vfu_remap(struct vfu_dev *d)
{
	GError *err = NULL;
	struct vu_mem *mem = vfu_dma_mem(&d->dma, &err);

	if (!mem && err) {
		g_warning("%s: guest memory: %s", d->label, err->message);
		g_error_free(err);
		return -EINVAL;
	}
	prune_tables(d);
	if (mem)
		g_ptr_array_add(d->tables, vu_mem_ref(mem));
	vpci_set_mem(d->pci, mem);
	return 0;
}

/*
 * The client may reuse memory once its unmap is answered, but a request
 * in flight keeps the table it started with.  Its view of the unmapped
 * range becomes private scratch memory instead: what it writes there is
 * lost rather than landing in memory the guest no longer gave us.
 */
static void revoke_range(struct vfu_dev *d, uint64_t addr, uint64_t size)
{
	for (guint i = 0; i < d->tables->len; i++)
		vu_mem_revoke(g_ptr_array_index(d->tables, i), addr, size);
	prune_tables(d);
}

static int dma_map(struct vfu_dev *d, const struct vfu_req *r, struct vfu_msg *m)
{
	const struct vfu_dma_map *dm = &r->u.dma_map;
	const char *why = NULL;
	uint64_t removed;
	int err;

	err = vfu_dma_add(&d->dma, dm, r->nfds ? vfu_msg_take_fd(m, 0) : -1, &why);
	if (err < 0)
		return refuse(d, r, -err, why);
	if (vfu_remap(d) < 0) {
		vfu_dma_remove(&d->dma, dm->addr, dm->size, &removed, &why);
		vfu_remap(d);
		return refuse(d, r, EINVAL, "the memory cannot be mapped");
	}
	g_debug("%s: DMA map %#llx+%#llx%s", d->label, (unsigned long long)dm->addr,
		(unsigned long long)dm->size, r->nfds ? "" : " (not shared with the device)");
	return reply(d, r, NULL, 0);
}

static int dma_unmap(struct vfu_dev *d, const struct vfu_req *r)
{
	struct vfu_dma_unmap u = r->u.dma_unmap;
	const char *why = NULL;
	uint64_t removed = 0;
	int err;

	if (u.flags & VFIO_DMA_UNMAP_FLAG_ALL) {
		vfu_dma_clear(&d->dma);
	} else {
		err = vfu_dma_remove(&d->dma, u.addr, u.size, &removed, &why);
		if (err < 0)
			return refuse(d, r, -err, why);
		if (!removed)
			return refuse(d, r, ENOENT, "no map in the range");
	}
	vfu_remap(d);
	revoke_range(d, u.flags & VFIO_DMA_UNMAP_FLAG_ALL ? 0 : u.addr,
	       u.flags & VFIO_DMA_UNMAP_FLAG_ALL ? UINT64_MAX : u.size);
	u.argsz = sizeof(u);
	return reply(d, r, &u, sizeof(u));
}

static int device_info(struct vfu_dev *d, const struct vfu_req *r)
{
	struct vfu_device_info i = {
		.argsz = sizeof(i),
		.flags = VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET,
		.num_regions = VPCI_NUM_REGIONS,
		.num_irqs = VPCI_NUM_IRQS,
	};

	return reply(d, r, &i, sizeof(i));
}

static int region_info(struct vfu_dev *d, const struct vfu_req *r)
{
	struct vfu_region_info i = { .argsz = sizeof(i), .index = r->u.region_info.index };

	if (i.index >= VPCI_NUM_REGIONS)
		return refuse(d, r, EINVAL, "no such region");
	i.size = vpci_region_size(d->pci, i.index);
	if (i.size)
		i.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	return reply(d, r, &i, sizeof(i));
}

static int irq_info(struct vfu_dev *d, const struct vfu_req *r)
{
	struct vfu_irq_info i = { .argsz = sizeof(i), .index = r->u.irq_info.index };

	if (i.index >= VPCI_NUM_IRQS)
		return refuse(d, r, EINVAL, "no such interrupt index");
	if (i.index == VPCI_MSIX_IRQ) {
		i.flags = VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE;
		i.count = vpci_msix_vectors(d->pci);
	} else if (i.index == VFIO_PCI_ERR_IRQ_INDEX) {
		/* QEMU warns about a device without one.  It would stop the
		 * whole machine; a guest driver's fault stops only the queue. */
		i.flags = VFIO_IRQ_INFO_EVENTFD;
		i.count = 1;
	}
	return reply(d, r, &i, sizeof(i));
}

void vfu_set_err_fd(struct vfu_dev *d, int fd)
{
	if (d->err_fd >= 0)
		close(d->err_fd);
	d->err_fd = fd;
}

static int set_irqs(struct vfu_dev *d, const struct vfu_req *r, struct vfu_msg *m)
{
	const struct vfu_irq_set *s = &r->u.set_irqs.s;
	uint32_t data = s->flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
	uint32_t action = s->flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;
	unsigned nvec = vpci_msix_vectors(d->pci);
	int fds[VFU_MAX_FDS];

	if (s->index >= VPCI_NUM_IRQS)
		return refuse(d, r, EINVAL, "no such interrupt index");
	/* Turning off what was never on is fine for every index. */
	if (data == VFIO_IRQ_SET_DATA_NONE && action == VFIO_IRQ_SET_ACTION_TRIGGER &&
	    s->count == 0) {
		if (s->index == VPCI_MSIX_IRQ)
			vpci_set_msix(d->pci, 0, 0, NULL);
		if (s->index == VFIO_PCI_ERR_IRQ_INDEX)
			vfu_set_err_fd(d, -1);
		return reply(d, r, NULL, 0);
	}
	if (s->index == VFIO_PCI_ERR_IRQ_INDEX && data == VFIO_IRQ_SET_DATA_EVENTFD &&
	    action == VFIO_IRQ_SET_ACTION_TRIGGER && s->start == 0 && s->count == 1) {
		vfu_set_err_fd(d, r->nfds ? vfu_msg_take_fd(m, 0) : -1);
		return reply(d, r, NULL, 0);
	}
	if (s->index != VPCI_MSIX_IRQ)
		return refuse(d, r, EINVAL, "only MSI-X and error interrupts exist");
	if (action != VFIO_IRQ_SET_ACTION_TRIGGER)
		return refuse(d, r, EINVAL, "MSI-X vectors are not maskable here");
	if (s->start >= nvec || s->count > nvec - s->start)
		return refuse(d, r, EINVAL, "vectors out of range");
	if (data == VFIO_IRQ_SET_DATA_NONE) {
		vpci_trigger_msix(d->pci, s->start, s->count);
	} else if (data == VFIO_IRQ_SET_DATA_BOOL) {
		for (uint32_t i = 0; i < s->count; i++)
			if (r->u.set_irqs.bools[i])
				vpci_trigger_msix(d->pci, s->start + i, 1);
	} else {
		/* DATA_EVENTFD: one per vector, or none to unassign them. */
		for (uint32_t i = 0; i < s->count; i++)
			fds[i] = r->nfds ? vfu_msg_take_fd(m, (int)i) : -1;
		vpci_set_msix(d->pci, s->start, s->count, fds);
	}
	return reply(d, r, NULL, 0);
}

static bool access_ok(struct vfu_dev *d, uint32_t region, uint64_t off, uint32_t count)
{
	uint64_t size = region < VPCI_NUM_REGIONS ? vpci_region_size(d->pci, region) : 0;

	return count && off < size && count <= size - off;
}

static int region_read(struct vfu_dev *d, const struct vfu_req *r)
{
	const struct vfu_region_rw *rw = &r->u.region_rw.rw;
	struct iovec iov[2];
	uint8_t small[64], *buf = small;
	int err;

	if (!access_ok(d, rw->region, rw->offset, rw->count))
		return refuse(d, r, EINVAL, "read outside the region");
	if (rw->count > sizeof(small))
		buf = g_malloc(rw->count);
	vpci_read(d->pci, rw->region, rw->offset, buf, rw->count);
	iov[0] = (struct iovec){ (void *)rw, sizeof(*rw) };
	iov[1] = (struct iovec){ buf, rw->count };
	err = vfu_reply(d->sock, &r->hdr, iov, 2, NULL, 0);
	if (buf != small)
		g_free(buf);
	return sent(d, r, err);
}

static int region_write(struct vfu_dev *d, const struct vfu_req *r)
{
	struct vfu_region_rw rw = r->u.region_rw.rw;

	if (!access_ok(d, rw.region, rw.offset, rw.count))
		return refuse(d, r, EINVAL, "write outside the region");
	vpci_write(d->pci, rw.region, rw.offset, r->u.region_rw.data, rw.count);
	return reply(d, r, &rw, sizeof(rw));
}

static int write_multi(struct vfu_dev *d, const struct vfu_req *r)
{
	struct vfu_wr_multi done = { .wr_cnt = r->u.multi.n };

	/* All or nothing: an error reply could not say how many were done. */
	for (uint64_t i = 0; i < r->u.multi.n; i++) {
		const struct vfu_wr_one *w = &r->u.multi.wrs[i];

		if (!access_ok(d, w->region, w->offset, w->count))
			return refuse(d, r, EINVAL, "write outside the region");
	}
	for (uint64_t i = 0; i < r->u.multi.n; i++) {
		const struct vfu_wr_one *w = &r->u.multi.wrs[i];

		vpci_write(d->pci, w->region, w->offset, w->data, w->count);
	}
	return reply(d, r, &done, sizeof(done));
}

static int dispatch(struct vfu_dev *d, const struct vfu_req *r, struct vfu_msg *m)
{
	if (!d->versioned && r->hdr.command != VFU_CMD_VERSION) {
		g_warning("%s: %s before VERSION", d->label, vfu_command_name(r->hdr.command));
		return H_FATAL;
	}
	switch (r->hdr.command) {
	case VFU_CMD_VERSION: return version(d, r);
	case VFU_CMD_DMA_MAP: return dma_map(d, r, m);
	case VFU_CMD_DMA_UNMAP: return dma_unmap(d, r);
	case VFU_CMD_DEVICE_GET_INFO: return device_info(d, r);
	case VFU_CMD_DEVICE_GET_REGION_INFO: return region_info(d, r);
	case VFU_CMD_DEVICE_GET_IRQ_INFO: return irq_info(d, r);
	case VFU_CMD_DEVICE_SET_IRQS: return set_irqs(d, r, m);
	case VFU_CMD_REGION_READ: return region_read(d, r);
	case VFU_CMD_REGION_WRITE: return region_write(d, r);
	case VFU_CMD_REGION_WRITE_MULTI: return write_multi(d, r);
	case VFU_CMD_DEVICE_RESET:
		g_info("%s: device reset by the client", d->label);
		vpci_reset(d->pci);
		return reply(d, r, NULL, 0);
	default:
		/* DMA_READ/DMA_WRITE go the other way; nothing else is offered. */
		return refuse(d, r, ENOSYS, "not supported");
	}
}

/* Whether a command may change what vfu-state.c saves (region writes are
 * counted by the function itself). */
static bool changes_setup(const struct vfu_req *r)
{
	switch (r->hdr.command) {
	case VFU_CMD_VERSION:
	case VFU_CMD_DMA_MAP:
	case VFU_CMD_DMA_UNMAP:
	case VFU_CMD_DEVICE_SET_IRQS:
	case VFU_CMD_DEVICE_RESET:
		return true;
	default:
		return false;
	}
}

/* Receives, decodes and handles one message: 0, or the end's status. */
static int step(struct vfu_dev *d, struct vfu_msg *m, bool *end)
{
	struct vfu_req r;
	const char *why = NULL;
	int err;

	err = vfu_msg_recv(d->sock, m, &why);
	if (err == -ECONNRESET) {
		g_info("%s: the client disconnected", d->label);
		*end = true;
		return 0;
	}
	if (err < 0) {
		g_warning("%s: broken vfio-user message: %s", d->label, why ? why : g_strerror(-err));
		*end = true;
		return err;
	}
	err = vfu_decode(m, &r, &why);
	if (err == -ENOSYS) {
		err = refuse(d, &(struct vfu_req){ .hdr = m->hdr }, ENOSYS, "not supported");
	} else if (err < 0) {
		g_warning("%s: malformed %s: %s", d->label, vfu_command_name(m->hdr.command),
			  why ? why : g_strerror(-err));
		err = H_FATAL;
	} else if ((m->hdr.flags & VFU_F_TYPE_MASK) != VFU_F_TYPE_COMMAND) {
		g_warning("%s: a reply from the client, which was asked nothing", d->label);
		err = H_FATAL;
	} else {
		uint64_t changes = vpci_changes(d->pci);

		err = dispatch(d, &r, m);
		if (err != H_FATAL && (vpci_changes(d->pci) != changes || changes_setup(&r)))
			vfu_state_save(d);
	}
	vfu_msg_clear(m);
	if (err == H_FATAL) {
		*end = true;
		return -EPROTO;
	}
	return 0;
}

int vfu_dev_serve(struct vfu_dev *d, int sock, int stop_fd, int reject_fd)
{
	d->versioned = false;
	return vfu_serve_loop(d, sock, stop_fd, reject_fd);
}

int vfu_serve_loop(struct vfu_dev *d, int sock, int stop_fd, int reject_fd)
{
	struct vfu_msg m = { .nfds = 0 };
	bool end = false, handover = false;
	int ret = 0;

	d->sock = sock;
	vfu_state_save(d);
	while (!end) {
		int w = frontend_wait(sock, stop_fd, reject_fd, vpci_fault_fd(d->pci), d->label);

		if (w == FRONTEND_EVENT)
			vpci_check_faults(d->pci);
		else if (w == FRONTEND_MESSAGE)
			ret = step(d, &m, &end);
		else {
			ret = w < 0 ? w : 0;
			handover = w == FRONTEND_STOP;
			break;
		}
	}
	/* Handed over: the client and the function stay as they are, for the
	 * next process (vfu-state.c).  Otherwise the reset waits for every
	 * request in flight: no table is in use. */
	if (!(handover && vu_dev_handover(d->vdev))) {
		vu_state_drop(d->vdev);
		vpci_disconnect(d->pci);
	}
	vfu_dma_clear(&d->dma);
	g_ptr_array_set_size(d->tables, 0);
	vfu_set_err_fd(d, -1);
	close(sock);
	d->sock = -1;
	return ret;
}
