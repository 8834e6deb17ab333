/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Security models: what the guest sees as owner, mode and device number,
 * and where that is kept on the host.  On-disk formats are those of
 * QEMU's local fs driver (docs/security-models.md):
 *
 *   mapped-xattr  user.virtfs.uid / .gid / .mode (le32), user.virtfs.rdev
 *                 (le64) on the object itself
 *   mapped-file   text lines "virtfs.uid=N" ... in DIR/.virtfs_metadata/NAME,
 *                 and in EXPORT/.virtfs_metadata_root for the export root
 *   passthrough, none: the host's own attributes
 *
 * Contract: metadata that is missing or malformed on disk is ignored
 * (the host value shows through), never trusted blindly: a stored mode
 * keeps its permission bits but an impossible file type is replaced by the
 * host's; metadata files are opened O_NOFOLLOW|O_NONBLOCK and must be
 * regular files.
 */
#ifndef X9P_HELPER_SECMODEL_H
#define X9P_HELPER_SECMODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "nodes.h"
#include "proxy.h"

#define HX_META_DIR ".virtfs_metadata"
#define HX_META_ROOT ".virtfs_metadata_root"

#define HX_M_UID 0x1u
#define HX_M_GID 0x2u
#define HX_M_MODE 0x4u
#define HX_M_RDEV 0x8u

struct hx_meta {
	unsigned have;
	uint32_t uid, gid, mode;
	uint64_t rdev;
};

/* Names the guest may never see or use (mapped-file only). */
bool hx_reserved_name(const char *name);

/* Attributes of node n as the guest sees them. */
int hx_node_attr(struct hx_node *n, struct x9p_px_attr *a);
/* The same from a statx of n taken just now (hx_stat), and with the
 * metadata just stored for it (known), when not NULL. */
struct statx;
void hx_node_attr_stx(struct hx_node *n, const struct statx *stx, const struct hx_meta *known,
		      struct x9p_px_attr *a);

/*
 * Attributes of dirfd/name for a directory listing.  metafd: the listed
 * directory's metadata directory (mapped-file) or -1.
 */
int hx_entry_attr(int dirfd, const char *name, int metafd, struct x9p_px_attr *a);

/*
 * The file type the guest sees for dirfd/name, whose host type is
 * host_type (a directory entry's d_type, as S_IF*): the same but for a
 * regular file that a mapped model records as another type.  Returns the
 * type, or 0 when only hx_entry_attr() can tell (mapped-file).
 */
mode_t hx_entry_type(int dirfd, const char *name, mode_t host_type);

/*
 * Stores the fields of m->have for an object (mapped models; a no-op
 * otherwise).  dirfd/name locate it (name NULL: the export root); fd is
 * its O_PATH descriptor and type its host file type.
 */
int hx_meta_store(int dirfd, const char *name, int fd, mode_t type, const struct hx_meta *m);
/* Same for a node; -ESTALE if its location cannot be trusted (mapped-file). */
int hx_meta_store_node(struct hx_node *n, const struct hx_meta *m);
/* What is stored for node n (m->have says which fields). */
void hx_meta_load_node(struct hx_node *n, struct hx_meta *m);

/* mapped-file bookkeeping around namespace changes (no-ops otherwise). */
int hx_mf_before_rmdir(int dirfd, const char *name);
void hx_mf_after_unlink(int dirfd, const char *name);
int hx_mf_after_rename(int odirfd, const char *oname, int ndirfd, const char *nname);
int hx_mf_after_link(int odirfd, const char *oname, int ndirfd, const char *nname);

#endif
