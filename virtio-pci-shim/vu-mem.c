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

static bool check_table(const struct vu_memory_msg *msg, int nfds, GError **err)
{
	if (msg->nregions == 0 || msg->nregions > VU_MAX_MEM_REGIONS) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL,
			    "memory table with %u regions (1..%d)", msg->nregions, VU_MAX_MEM_REGIONS);
		return false;
	}
	if ((uint32_t)nfds != msg->nregions) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL,
			    "memory table with %u regions came with %d descriptors",
			    msg->nregions, nfds);
		return false;
	}
	for (unsigned i = 0; i < msg->nregions; i++) {
		const struct vu_mem_region_msg *a = &msg->regions[i];

		if (a->memory_size == 0 || a->guest_phys_addr + a->memory_size < a->guest_phys_addr ||
		    a->userspace_addr + a->memory_size < a->userspace_addr ||
		    a->mmap_offset + a->memory_size < a->mmap_offset ||
		    a->mmap_offset + a->memory_size > (uint64_t)SIZE_MAX / 2) {
			g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL,
				    "memory region %u: bad size or addresses", i);
			return false;
		}
		for (unsigned j = 0; j < i; j++) {
			const struct vu_mem_region_msg *b = &msg->regions[j];

			if (ranges_overlap(a->guest_phys_addr, a->memory_size,
					   b->guest_phys_addr, b->memory_size) ||
			    ranges_overlap(a->userspace_addr, a->memory_size,
					   b->userspace_addr, b->memory_size)) {
				g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL,
					    "memory regions %u and %u overlap", j, i);
				return false;
			}
		}
	}
	return true;
}

struct vu_mem *vu_mem_new(const struct vu_memory_msg *msg, int *fds, int nfds, GError **err)
{
	struct vu_mem *m = NULL;
	long page = sysconf(_SC_PAGESIZE);

	if (!check_table(msg, nfds, err))
		goto out;
	m = g_new0(struct vu_mem, 1);
	m->refs = 1;
	for (unsigned i = 0; i < msg->nregions; i++) {
		const struct vu_mem_region_msg *a = &msg->regions[i];
		struct vu_region *r = &m->r[i];
		uint64_t start = a->mmap_offset & ~((uint64_t)page - 1);
		uint64_t end = a->mmap_offset + a->memory_size;
		struct stat st;
		void *p;

		/* Touching pages past the end of the file would raise SIGBUS. */
		if (fstat(fds[i], &st) < 0 || (S_ISREG(st.st_mode) && (uint64_t)st.st_size < end)) {
			g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL,
				    "memory region %u: descriptor smaller than offset + size", i);
			goto fail;
		}
		p = mmap(NULL, end - start, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
			 fds[i], (off_t)start);
		if (p == MAP_FAILED) {
			g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno),
				    "memory region %u: mmap of %llu bytes: %s", i,
				    (unsigned long long)(end - start), g_strerror(errno));
			goto fail;
		}
		r->map = p;
		r->map_len = end - start;
		r->host = (uint8_t *)p + (a->mmap_offset - start);
		r->gpa = a->guest_phys_addr;
		r->size = a->memory_size;
		r->uva = a->userspace_addr;
		m->nregions = i + 1;
	}
	goto out;
fail:
	unmap_all(m);
	g_free(m);
	m = NULL;
out:
	for (int i = 0; i < nfds; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return m;
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
