/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Guest memory: the regions of a SET_MEM_TABLE, mapped into this process.
 *
 * Contract:
 *  - vu_mem_new() validates the whole table before mapping anything:
 *    1..VU_MAX_MEM_REGIONS regions, one descriptor each, non-empty, no
 *    address arithmetic that wraps, no two regions overlapping in guest
 *    physical or frontend virtual addresses, and each descriptor large
 *    enough for mmap_offset + memory_size.  Any violation: NULL and an
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
	struct vu_region r[VU_MAX_MEM_REGIONS];
};

/* Takes the descriptors fds[0..nfds) over (closed on return). */
struct vu_mem *vu_mem_new(const struct vu_memory_msg *msg, int *fds, int nfds, GError **err);
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
