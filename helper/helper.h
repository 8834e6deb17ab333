/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * x9p-helper: process-wide configuration shared by its modules.
 *
 * One helper serves one export.  `hx` is filled by main() before the
 * worker threads start and is read-only afterwards (apart from the
 * feature flags, which only ever go from "try" to "unsupported").
 */
#ifndef X9P_HELPER_H
#define X9P_HELPER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "proxy.h"

struct hx_config {
	enum x9p_secmodel model;
	enum x9p_multidevs multidevs;
	bool readonly;
	bool no_setid;          /* passthrough: drop set-ID bits too (--no-setid) */
	int root_fd;            /* O_PATH|O_DIRECTORY descriptor of the export */
	dev_t root_dev;
	ino_t root_ino;
	int proc_fd;            /* O_PATH descriptor of /proc/self/fd, or -1 */
	unsigned max_nodes;
	/* Feature probes: 1 = use, 0 = the kernel lacks it (set at run time). */
	volatile int have_openat2;
	volatile int have_xattrat;
	volatile int have_fchmodat2;
};

extern struct hx_config hx;

static inline bool hx_mapped(void)
{
	return hx.model == X9P_SM_MAPPED_XATTR || hx.model == X9P_SM_MAPPED_FILE;
}

/*
 * Permission bits a guest's mode may put on a host file.  Set-user-ID and
 * set-group-ID never reach the host in model none (the host's own owner,
 * often root, would run the guest's program with its rights) nor with
 * --no-setid; the mapped models keep the guest's bits in their metadata
 * and never call this.  Sticky and the rwx bits pass.
 */
static inline uint32_t hx_host_perm(uint32_t mode)
{
	uint32_t perm = mode & 07777;

	if (hx.model == X9P_SM_NONE || hx.no_setid)
		perm &= ~(uint32_t)(S_ISUID | S_ISGID);
	return perm;
}

/* Initialises `hx` from an export descriptor; -errno on failure. */
int hx_config_init(int export_fd, enum x9p_secmodel model, enum x9p_multidevs md,
		   bool readonly, unsigned max_nodes);

/* Logs once per device that the export spans several filesystems. */
void hx_note_device(dev_t dev);
/* May a node be made for something on device dev?  0, or -ENODEV with
 * multidevs=forbid for another filesystem than the export's (noted). */
int hx_device_allowed(dev_t dev);

#endif
