/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Guest memory: the regions of a vhost-user SET_MEM_TABLE or of vfio-user
 * DMA maps, mapped into this process.
 *
 * Contract:
 *  - vu_mem_new() validates the whole table before mapping anything:
 *    1..VU_MAX_MEM_REGIONS regions, one descriptor each, non-empty, no
 *    address arithmetic that wraps, no two regions overlapping in guest
 *    physical or frontend virtual addresses, and each descriptor a regular
 *    file (a memfd, a shared-memory or hugetlbfs file; a device such as
 *    /dev/zero could fault past what it backs) large enough for
 *    mmap_offset + memory_size.  Any violation: NULL and an
 *    error message; descriptors are closed in every case.
 *  - A table is reference-counted: every request in flight holds the table
 *    its buffers were translated against, so a new SET_MEM_TABLE or a
 *    disconnect never unmaps memory a worker is still using.
 *  - Translations check the whole range [addr, addr + len) against the
 *    table; a guest address range may span adjacent regions
 *    (vu_mem_gpa_iov), ring structures must lie in one (vu_mem_uva).
 */
#ifndef X9P_VU_MEM_H
#define X9P_VU_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <glib.h>

#include "vu-msg.h"

struct vu_region {
	uint64_t gpa;       /* guest physical address */
	uint64_t size;
	uint64_t uva;       /* frontend's virtual address */
	uint8_t *host;      /* where gpa lives in this process */
	void *map;          /* the mmap()ed range (starts at or before host) */
	size_t map_len;
};

struct vu_mem {
	gint refs;
	unsigned nregions;
	struct vu_region r[];
};

/* One region to map: [offset, offset + size) of fd at guest physical
 * address gpa and frontend address uva (vfio-user has none: uva = gpa). */
struct vu_mem_src {
	uint64_t gpa, size, uva, offset;
	int fd;
};

/* Maps src[0..n) (1 <= n <= max) after the checks above; the descriptors
 * stay the caller's (a mapping does not need them open). */
struct vu_mem *vu_mem_map(const struct vu_mem_src *src, unsigned n, unsigned max, GError **err);
/* A SET_MEM_TABLE; takes the descriptors fds[0..nfds) over (closed on return). */
struct vu_mem *vu_mem_new(const struct vu_memory_msg *msg, int *fds, int nfds, GError **err);
/*
 * Replaces the memory of every region lying inside [gpa, gpa + size) with
 * private zeroed memory, in place: threads using the table go on reading
 * and writing, but no longer the guest's memory.
 */
void vu_mem_revoke(struct vu_mem *m, uint64_t gpa, uint64_t size);
struct vu_mem *vu_mem_ref(struct vu_mem *m);
void vu_mem_unref(struct vu_mem *m);

/* Host pointer for [uva, uva + len) if it lies inside one region, else NULL. */
void *vu_mem_uva(const struct vu_mem *m, uint64_t uva, uint64_t len);
/* Host pointer for [gpa, gpa + len) if it lies inside one region, else NULL. */
void *vu_mem_gpa(const struct vu_mem *m, uint64_t gpa, uint64_t len);
/*
 * Appends the host iovecs covering [gpa, gpa + len) to iov[*n..max).
 * Returns 0, -EFAULT if any byte lies outside guest memory, -E2BIG if more
 * than max entries would be needed.  A zero len appends nothing.
 */
int vu_mem_gpa_iov(const struct vu_mem *m, uint64_t gpa, uint64_t len,
		   struct iovec *iov, unsigned *n, unsigned max);

#endif
