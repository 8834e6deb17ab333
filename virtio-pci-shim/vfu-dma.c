// SPDX-License-Identifier: GPL-2.0-or-later
/* The DMA map table of a vfio-user device; see vfu-dma.h. */
#include <errno.h>
#include <linux/vfio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vfu-dma.h"

#define PAGE 4096u

void vfu_dma_init(struct vfu_dma *t)
{
	t->n = 0;
}

void vfu_dma_clear(struct vfu_dma *t)
{
	for (unsigned i = 0; i < t->n; i++)
		if (t->e[i].fd >= 0)
			close(t->e[i].fd);
	t->n = 0;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static int refuse(int fd, const char **why, const char *reason, int err)
{
	if (fd >= 0)
		close(fd);
	*why = reason;
	return err;
}

int vfu_dma_add(struct vfu_dma *t, const struct vfu_dma_map *m, int fd, const char **why)
{
	struct vfu_dma_entry *e;

	if (m->size == 0 || m->addr + m->size < m->addr || m->offset + m->size < m->offset)
		return refuse(fd, why, "empty or wrapping range", -EINVAL);
	if ((m->addr | m->size | m->offset) & (PAGE - 1))
		return refuse(fd, why, "range not page aligned", -EINVAL);
	if (!(m->flags & VFIO_DMA_MAP_FLAG_READ))
		return refuse(fd, why, "map without read access", -EINVAL);
	for (unsigned i = 0; i < t->n; i++)
		if (overlaps(m->addr, m->size, t->e[i].addr, t->e[i].size))
			return refuse(fd, why, "range overlaps an existing map", -EEXIST);
	if (t->n == VFU_MAX_DMA_MAPS)
		return refuse(fd, why, "too many maps", -ENOSPC);
	if (fd >= 0) {
		struct stat st;

		/* Pages past the end of the file (or past what a device such as
		 * /dev/zero backs) would raise SIGBUS when touched. */
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
			return refuse(fd, why, "descriptor is not a memfd or a file", -EINVAL);
		if ((uint64_t)st.st_size < m->offset + m->size)
			return refuse(fd, why, "descriptor smaller than offset + size", -EINVAL);
	}
	e = &t->e[t->n++];
	e->addr = m->addr;
	e->size = m->size;
	e->offset = m->offset;
	e->flags = m->flags;
	e->fd = fd;
	return 0;
}

int vfu_dma_remove(struct vfu_dma *t, uint64_t addr, uint64_t size, uint64_t *removed,
		   const char **why)
{
	unsigned k = 0;

	*removed = 0;
	if (size == 0 || addr + size < addr) {
		*why = "empty or wrapping range";
		return -EINVAL;
	}
	for (unsigned i = 0; i < t->n; i++) {
		const struct vfu_dma_entry *e = &t->e[i];

		if (overlaps(addr, size, e->addr, e->size) &&
		    (e->addr < addr || e->addr + e->size > addr + size)) {
			*why = "range splits a map";
			return -EINVAL;
		}
	}
	for (unsigned i = 0; i < t->n; i++) {
		struct vfu_dma_entry *e = &t->e[i];

		if (overlaps(addr, size, e->addr, e->size)) {
			*removed += e->size;
			if (e->fd >= 0)
				close(e->fd);
			continue;
		}
		t->e[k++] = *e;
	}
	t->n = k;
	return 0;
}

struct vu_mem *vfu_dma_mem(const struct vfu_dma *t, GError **err)
{
	struct vu_mem_src src[VFU_MAX_DMA_MAPS];
	unsigned n = 0;

	for (unsigned i = 0; i < t->n; i++) {
		const struct vfu_dma_entry *e = &t->e[i];

		if (e->fd >= 0)
			src[n++] = (struct vu_mem_src){ .gpa = e->addr, .size = e->size,
							.uva = e->addr, .offset = e->offset,
							.fd = e->fd };
	}
	return n ? vu_mem_map(src, n, VFU_MAX_DMA_MAPS, err) : NULL;
}
