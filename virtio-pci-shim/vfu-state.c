// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A vfio-user connection's set-up, saved for and adopted by another
 * process, as vu-state.c does for vhost-user: QEMU's vfio-user client
 * never reconnects, so when x9p-vhost's worker dies the monitor holds the
 * connection and this set-up, and the next worker goes on presenting the
 * same function.
 *
 * The text: "caps=MSG_FDS:XFER:DMA_MAPS:PGSIZES:WRITE_MULTIPLE:TWIN:MIGRATION"
 * (the client's, from VERSION), per DMA map
 * "dma=ADDR:SIZE:OFFSET:FLAGS:FD" (FD: an index into the descriptors, -1
 * for memory the client keeps to itself), "err=FD" (the client's error
 * eventfd), then the virtio-pci function's tokens (virtio-pci.h,
 * vpci_save: configuration space, MSI-X table, registers, queues, vector
 * eventfds).  Numbers in hex but FD indexes.  Descriptors: DMA maps
 * backed by the same file share one.  Read back by the device's next
 * worker and checked as the client's own commands are: the maps through
 * vfu_dma_add(), the registers against the function's bounds.
 */
#define G_LOG_DOMAIN "x9p-vhost"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vfu-int.h"

#define MAX_FDS 16

/* Index of fd among fds[0..*n) (a file already there shares it), or -1. */
static int fd_index(int fd, int *fds, unsigned *n)
{
	struct stat a, b;

	if (fd < 0 || fstat(fd, &a) < 0)
		return -1;
	for (unsigned i = 0; i < *n; i++)
		if (fstat(fds[i], &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
			return (int)i;
	if (*n >= MAX_FDS)
		return -1;
	fds[*n] = fd;
	return (int)(*n)++;
}

void vfu_state_save(struct vfu_dev *d)
{
	int fds[MAX_FDS];
	unsigned n = 0;
	GString *t;

	if (!d->vdev->keep || !d->versioned || d->sock < 0)
		return;
	t = g_string_new(NULL);
	g_string_append_printf(t, "caps=%" PRIx64 ":%" PRIx64 ":%" PRIx64 ":%" PRIx64 ":%d:%d:%d",
			       d->client.max_msg_fds, d->client.max_data_xfer_size,
			       d->client.max_dma_maps, d->client.pgsizes, d->client.write_multiple,
			       d->client.twin_socket, d->client.migration);
	for (unsigned i = 0; i < d->dma.n; i++) {
		const struct vfu_dma_entry *e = &d->dma.e[i];

		g_string_append_printf(t, " dma=%" PRIx64 ":%" PRIx64 ":%" PRIx64 ":%x:%d", e->addr,
				       e->size, e->offset, e->flags, fd_index(e->fd, fds, &n));
	}
	if (d->err_fd >= 0 && n < MAX_FDS) {
		g_string_append_printf(t, " err=%u", n);
		fds[n++] = d->err_fd;
	}
	vpci_save(d->pci, t, fds, &n, MAX_FDS);
	vu_dev_call_keeper(d->vdev, d->sock, t->str, fds, n);
	g_string_free(t, TRUE);
}

static bool adopt_token(struct vfu_dev *d, const char *tok, int *fds, unsigned nfds)
{
	struct vfu_caps *c = &d->client;
	struct vfu_dma_map m = { .argsz = sizeof(m) };
	const char *why = NULL;
	int wm, twin, mig, fd;

	if (sscanf(tok, "caps=%" SCNx64 ":%" SCNx64 ":%" SCNx64 ":%" SCNx64 ":%d:%d:%d",
		   &c->max_msg_fds, &c->max_data_xfer_size, &c->max_dma_maps, &c->pgsizes, &wm,
		   &twin, &mig) == 7) {
		c->write_multiple = wm;
		c->twin_socket = twin;
		c->migration = mig;
		d->versioned = true;
		return true;
	}
	if (sscanf(tok, "dma=%" SCNx64 ":%" SCNx64 ":%" SCNx64 ":%x:%d", &m.addr, &m.size,
		   &m.offset, &m.flags, &fd) == 5) {
		if (fd >= (int)nfds || (fd >= 0 && (fd = dup(fds[fd])) < 0))
			return false;
		return vfu_dma_add(&d->dma, &m, fd < 0 ? -1 : fd, &why) == 0;
	}
	if (sscanf(tok, "err=%d", &fd) == 1) {
		if (fd < 0 || fd >= (int)nfds || (fd = dup(fds[fd])) < 0)
			return false;
		vfu_set_err_fd(d, fd);
		return true;
	}
	return vpci_restore_token(d->pci, tok, fds, nfds);
}

int vfu_dev_serve_adopted(struct vfu_dev *d, int sock, const char *state, int *fds,
			  unsigned nfds, int stop_fd, int reject_fd)
{
	gchar **tok = g_strsplit(state, " ", -1);
	const char *bad = NULL;

	d->versioned = false;
	for (gchar **t = tok; *t && !bad; t++)
		if (**t && !adopt_token(d, *t, fds, nfds))
			bad = *t;
	if (!bad && !d->versioned)
		bad = "(no version)";
	if (!bad && vfu_remap(d) < 0)
		bad = "(guest memory)";
	if (!bad && !vpci_restart(d->pci))
		bad = "(features this build does not offer)";
	vu_state_close_fds(fds, nfds);
	if (bad) {
		g_warning("%s: the connection kept for this worker cannot be served: bad '%.40s'",
			  d->label, bad);
		g_strfreev(tok);
		vu_state_drop(d->vdev);
		vpci_disconnect(d->pci);
		vfu_dma_clear(&d->dma);
		vfu_set_err_fd(d, -1);
		close(sock);
		return -EINVAL;
	}
	g_strfreev(tok);
	d->sock = sock;
	g_info("%s: serving the vfio-user connection the previous worker left", d->label);
	return vfu_serve_loop(d, sock, stop_fd, reject_fd);
}
