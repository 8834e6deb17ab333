/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Internals shared by vfu-dev.c and vfu-state.c. */
#ifndef X9P_VFU_INT_H
#define X9P_VFU_INT_H

#include <glib.h>

#include "vfu-dev.h"
#include "vfu-dma.h"
#include "vfu-version.h"
#include "virtio-pci.h"
#include "vu-int.h"

struct vfu_dev {
	char *label;
	struct vpci *pci;
	struct vfu_dma dma;
	int sock;
	int err_fd;             /* the client's error eventfd, never signalled */
	GPtrArray *tables;      /* guest memory tables that may still be in use */
	bool versioned;
	struct vfu_caps ours, client;
	struct vu_dev *vdev;
};

/* vfu-dev.c: the DMA table mapped anew for the device; the client's error
 * eventfd (taken over); the command loop on a connection set up already. */
int vfu_remap(struct vfu_dev *d);
void vfu_set_err_fd(struct vfu_dev *d, int fd);
int vfu_serve_loop(struct vfu_dev *d, int sock, int stop_fd, int reject_fd);

/* vfu-state.c: hands the set-up to the device's keeper (vu-dev.h). */
void vfu_state_save(struct vfu_dev *d);

#endif
