/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * An export's quotas, as libxl's xen_9pfs devices give them: max-files,
 * max-space and auto-delete (max-open-files is the engine's
 * max_open_files).  A filesystem driver in front of another, whatever the
 * transport; the Xen worker puts one in front of each device's driver.
 *
 * Contract:
 *  - x9p_quota_wrap() puts a filesystem driver in front of `inner` (taken
 *    over; destroyed with the wrapper) that forwards every call and
 *    accounts for what it can see:
 *      files  every node below the export root (directories, regular
 *             files, symlinks, special files); counted exactly by a scan.
 *      space  the sum of allocated bytes (st_blocks * 512) of those nodes.
 *  - Counts are kept as estimates, corrected by a full scan of the export
 *    through the driver (one readdir batch per directory, with attributes)
 *    whenever an operation would cross a limit by the estimate, and at
 *    the first check.  The estimate only errs upward between scans (a
 *    replaced rename target, freed blocks), so a refusal is always
 *    confirmed by a fresh scan.  Changes made on the host behind the
 *    guest's back are seen at the next scan.
 *  - Creating a node (create, mkdir, mknod, symlink, link) when the export
 *    already holds max-files nodes fails with -EDQUOT; a Twrite of count
 *    bytes that would take the export past max-space fails with -ENOSPC
 *    (xq_charge_write(), called by the transport before the write reaches
 *    the engine; a write is charged at its full size, so close to the
 *    limit an overwrite is refused too).
 *  - With auto-delete, instead of refusing, the oldest regular files (by
 *    modification time) are removed, one at a time, until the operation
 *    fits; only when no regular file is left does it fail.
 *  - Thread-safe; scans are serialized per device.
 */
#ifndef X9P_FS_QUOTA_H
#define X9P_FS_QUOTA_H

#include <stdbool.h>
#include <stdint.h>

#include "fs/fs.h"

struct xq_limits {
	uint64_t max_files;          /* 0: unlimited */
	uint64_t max_space;          /* bytes; 0: unlimited */
	bool auto_delete;
};

struct xq;

/* Never fails; *q receives the accounting handle for xq_charge_write(). */
struct x9p_fs *x9p_quota_wrap(struct x9p_fs *inner, const struct xq_limits *lim,
			      const char *label, struct xq **q);
/* 0 if count more bytes fit (possibly after auto-deleting), else -ENOSPC. */
int xq_charge_write(struct xq *q, uint64_t count);
/* Current estimates (tests, logs). */
void xq_usage(struct xq *q, uint64_t *files, uint64_t *space);

#endif
