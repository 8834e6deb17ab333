/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The vfio-user client's DMA maps: which guest physical ranges exist, and
 * which of them this process can reach (those that came with a memory
 * descriptor).
 *
 * Contract:
 *  - vfu_dma_add() records one DMA_MAP.  Refused, with the table left as
 *    it was: an empty range, one that wraps, is not page aligned or lacks
 *    VFIO_DMA_MAP_FLAG_READ (-EINVAL); one that overlaps an existing map
 *    (-EEXIST, as the kernel's type1 IOMMU answers); a full table
 *    (-ENOSPC; VFU_MAX_DMA_MAPS is what VERSION announces as
 *    max_dma_maps); a descriptor that is not a regular file (a memfd or
 *    a file), or too small for offset + size (-EINVAL).  The descriptor is taken over in every
 *    case.
 *  - vfu_dma_remove() undoes the maps lying inside [addr, addr + size);
 *    one that straddles either end refuses the whole call (-EINVAL), as a
 *    map cannot be split.  *removed receives the bytes unmapped.
 *  - vfu_dma_mem() maps the descriptor-backed entries as a guest memory
 *    table (vu-mem.h, with uva = gpa), or NULL when there are none.  The
 *    table lives on its own: later changes to the DMA table do not touch
 *    it, and chains in flight keep their memory while they hold it.
 *  - Not thread-safe: the vfio-user control thread owns the table.
 */
#ifndef X9P_VFU_DMA_H
#define X9P_VFU_DMA_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "vfu-proto.h"
#include "vu-mem.h"

/* QEMU maps each RAM section separately: a q35 guest's low RAM comes in
 * about 15 pieces around the legacy BIOS areas; 64 leaves room for
 * memory hotplug. */
#define VFU_MAX_DMA_MAPS 64

struct vfu_dma_entry {
	uint64_t addr, size, offset;
	uint32_t flags;
	int fd;                 /* -1: the client keeps this memory to itself */
};

struct vfu_dma {
	unsigned n;
	struct vfu_dma_entry e[VFU_MAX_DMA_MAPS];
};

void vfu_dma_init(struct vfu_dma *t);
void vfu_dma_clear(struct vfu_dma *t);
int vfu_dma_add(struct vfu_dma *t, const struct vfu_dma_map *m, int fd, const char **why);
int vfu_dma_remove(struct vfu_dma *t, uint64_t addr, uint64_t size, uint64_t *removed,
		   const char **why);
struct vu_mem *vfu_dma_mem(const struct vfu_dma *t, GError **err);

#endif
