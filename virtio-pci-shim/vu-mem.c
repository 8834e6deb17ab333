// SPDX-License-Identifier: GPL-2.0-or-later
/* Mapping and translating guest memory; see vu-mem.h. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vu-mem.h"

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static void unmap_all(struct vu_mem *m)
{
	for (unsigned i = 0; i < m->nregions; i++)
		if (m->r[i].map)
			munmap(m->r[i].map, m->r[i].map_len);
}

/* The checks common to both sources of a table: sizes, wrapping, overlaps. */
static bool check_regions(const struct vu_mem_src *src, unsigned n, unsigned max, GError **err)
{
	if (n == 0 || n > max) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL,
			    "memory table with %u regions (1..%u)", n, max);
		return false;
	}
	for (unsigned i = 0; i < n; i++) {
		const struct vu_mem_src *a = &src[i];

		if (a->size == 0 || a->gpa + a->size < a->gpa || a->uva + a->size < a->uva ||
		    a->offset + a->size < a->offset || a->offset + a->size > (uint64_t)SIZE_MAX / 2) {
			g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL,
				    "memory region %u: bad size or addresses", i);
			return false;
		}
		for (unsigned j = 0; j < i; j++) {
			const struct vu_mem_src *b = &src[j];

			if (ranges_overlap(a->gpa, a->size, b->gpa, b->size) ||
			    ranges_overlap(a->uva, a->size, b->uva, b->size)) {
				g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL,
					    "memory regions %u and %u overlap", j, i);
				return false;
			}
		}
	}
	return true;
}

struct vu_mem *vu_mem_map(const struct vu_mem_src *src, unsigned n, unsigned max, GError **err)
{
	struct vu_mem *m;
	long page = sysconf(_SC_PAGESIZE);

	if (!check_regions(src, n, max, err))
		return NULL;
	m = g_malloc0(sizeof(*m) + n * sizeof(m->r[0]));
	m->refs = 1;
	for (unsigned i = 0; i < n; i++) {
		const struct vu_mem_src *a = &src[i];
		struct vu_region *r = &m->r[i];
		uint64_t start = a->offset & ~((uint64_t)page - 1);
		uint64_t end = a->offset + a->size;
		struct stat st;
		void *p;

		/* Touching pages past the end of the file would raise SIGBUS; so
		 * would pages past what a device (/dev/zero) backs. */
		if (fstat(a->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL,
				    "memory region %u: descriptor is not a memfd or a file", i);
			goto fail;
		}
		if ((uint64_t)st.st_size < end) {
			g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL,
				    "memory region %u: descriptor smaller than offset + size", i);
			goto fail;
		}
		p = mmap(NULL, end - start, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
			 a->fd, (off_t)start);
		if (p == MAP_FAILED) {
			g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno),
				    "memory region %u: mmap of %llu bytes: %s", i,
				    (unsigned long long)(end - start), g_strerror(errno));
			goto fail;
		}
		r->map = p;
		r->map_len = end - start;
		r->host = (uint8_t *)p + (a->offset - start);
		r->gpa = a->gpa;
		r->size = a->size;
		r->uva = a->uva;
		m->nregions = i + 1;
	}
	return m;
fail:
	unmap_all(m);
	g_free(m);
	return NULL;
}

struct vu_mem *vu_mem_new(const struct vu_memory_msg *msg, int *fds, int nfds, GError **err)
{
	struct vu_mem_src src[VU_MAX_MEM_REGIONS];
	struct vu_mem *m = NULL;

	if ((uint32_t)nfds != msg->nregions) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL,
			    "memory table with %u regions came with %d descriptors",
			    msg->nregions, nfds);
	} else if (msg->nregions > VU_MAX_MEM_REGIONS) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL,
			    "memory table with %u regions (1..%d)", msg->nregions, VU_MAX_MEM_REGIONS);
	} else {
		for (unsigned i = 0; i < msg->nregions; i++) {
			const struct vu_mem_region_msg *a = &msg->regions[i];

			src[i] = (struct vu_mem_src){ .gpa = a->guest_phys_addr, .size = a->memory_size,
						      .uva = a->userspace_addr, .offset = a->mmap_offset,
						      .fd = fds[i] };
		}
		m = vu_mem_map(src, msg->nregions, VU_MAX_MEM_REGIONS, err);
	}
	for (int i = 0; i < nfds; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return m;
}

void vu_mem_revoke(struct vu_mem *m, uint64_t gpa, uint64_t size)
{
	for (unsigned i = 0; m && i < m->nregions; i++) {
		struct vu_region *r = &m->r[i];

		/* MAP_FIXED swaps the pages atomically: no access ever faults. */
		if (r->gpa >= gpa && r->gpa - gpa < size && r->size <= size - (r->gpa - gpa) &&
		    mmap(r->map, r->map_len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0) == MAP_FAILED)
			g_warning("revoking guest memory: mmap: %s", g_strerror(errno));
	}
}

struct vu_mem *vu_mem_ref(struct vu_mem *m)
{
	if (m)
		g_atomic_int_inc(&m->refs);
	return m;
}

void vu_mem_unref(struct vu_mem *m)
{
	if (m && g_atomic_int_dec_and_test(&m->refs)) {
		unmap_all(m);
		g_free(m);
	}
}

void *vu_mem_uva(const struct vu_mem *m, uint64_t uva, uint64_t len)
{
	if (!m || uva + len < uva)
		return NULL;
	for (unsigned i = 0; i < m->nregions; i++) {
		const struct vu_region *r = &m->r[i];

		if (uva >= r->uva && uva - r->uva <= r->size && len <= r->size - (uva - r->uva))
			return r->host + (uva - r->uva);
	}
	return NULL;
}

void *vu_mem_gpa(const struct vu_mem *m, uint64_t gpa, uint64_t len)
{
	if (!m || gpa + len < gpa)
		return NULL;
	for (unsigned i = 0; i < m->nregions; i++) {
		const struct vu_region *r = &m->r[i];

		if (gpa >= r->gpa && gpa - r->gpa <= r->size && len <= r->size - (gpa - r->gpa))
			return r->host + (gpa - r->gpa);
	}
	return NULL;
}

int vu_mem_gpa_iov(const struct vu_mem *m, uint64_t gpa, uint64_t len,
		   struct iovec *iov, unsigned *n, unsigned max)
{
	if (gpa + len < gpa)
		return -EFAULT;
	while (len) {
		const struct vu_region *r = NULL;
		uint64_t chunk;

		for (unsigned i = 0; i < m->nregions; i++) {
			if (gpa >= m->r[i].gpa && gpa - m->r[i].gpa < m->r[i].size) {
				r = &m->r[i];
				break;
			}
		}
		if (!r)
			return -EFAULT;
		if (*n >= max)
			return -E2BIG;
		chunk = MIN(len, r->size - (gpa - r->gpa));
		iov[*n].iov_base = r->host + (gpa - r->gpa);
		iov[*n].iov_len = (size_t)chunk;
		(*n)++;
		gpa += chunk;
		len -= chunk;
	}
	return 0;
}
