/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A vfio-user server for a virtio-pci function (virtio-pci.h): the
 * protocol on the client's socket (QEMU's vfio-user-pci), with the DMA
 * map table (vfu-dma.h) as guest memory and SET_IRQS eventfds as MSI-X
 * vectors.
 *
 * Contract:
 *  - vfu_dev_serve() runs one client connection until the client
 *    disconnects, breaks the protocol, or stop_fd becomes readable.  On
 *    return the device has forgotten the client (its memory, eventfds and
 *    the driver's settings: a device reset), and serves the next client
 *    as a new machine would be.
 *  - A message that is not a message (vfu_msg_recv) or a command
 *    malformed in itself (vfu_decode -EPROTO), or anything but VERSION
 *    first, ends the connection (-EPROTO).  A well-formed command the
 *    device refuses (a region or IRQ index out of range, an access outside
 *    its region, an overlapping or unknown DMA range, a second VERSION)
 *    gets an error reply with an errno and the connection goes on.
 *    Commands the device does not implement get ENOSYS.
 *  - Connections arriving on reject_fd (a listening socket, or -1) while
 *    one is served are closed at once: one client at a time.
 */
#ifndef X9P_VFU_DEV_H
#define X9P_VFU_DEV_H

#include "vu-dev.h"

struct vfu_dev;

/* dev: the virtio device (not owned); virtio_id: its virtio device type. */
struct vfu_dev *vfu_dev_new(struct vu_dev *dev, unsigned virtio_id, const char *label);
void vfu_dev_free(struct vfu_dev *d);
/* Takes sock over (closed on return).  0: the client disconnected or
 * stop_fd fired; -EPROTO: it broke the protocol; other -errno. */
int vfu_dev_serve(struct vfu_dev *d, int sock, int stop_fd, int reject_fd);

/*
 * Serves a connection an earlier process served, whose set-up it kept
 * (vfu-state.c; the keeper is the vhost-user device's, vu_dev_set_keeper):
 * state and fds[0..nfds) (taken over).  As vfu_dev_serve(); -EINVAL
 * (logged) when the set-up cannot be used, sock closed then too.
 */
int vfu_dev_serve_adopted(struct vfu_dev *d, int sock, const char *state, int *fds,
			  unsigned nfds, int stop_fd, int reject_fd);

#endif
