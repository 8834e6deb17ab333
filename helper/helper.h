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
#include <sys/types.h>

#include "proxy.h"

struct hx_config {
	enum x9p_secmodel model;
	enum x9p_multidevs multidevs;
	bool readonly;
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

/* Initialises `hx` from an export descriptor; -errno on failure. */
int hx_config_init(int export_fd, enum x9p_secmodel model, enum x9p_multidevs md,
		   bool readonly, unsigned max_nodes);

/* Logs once per device that the export spans several filesystems. */
void hx_note_device(dev_t dev);

#endif
