/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The helper's view of the filesystem (see sandbox-priv.h for conventions).
 *
 * x9p_sb_pivot_to_export(), in a private mount namespace:
 *   1. makes "/" MS_SLAVE|MS_REC, so nothing done here reaches the host;
 *   2. finds the export in this namespace: export_fd was opened in the
 *      host's, and the kernel refuses to bind-mount a mount of another
 *      namespace, so the path /proc/self/fd/N names is opened again here
 *      and must be the same inode (st_dev, st_ino) or the call fails;
 *   3. clones /proc/self/fd into a detached mount (open_tree) and keeps it
 *      as the private proc fd: its root is the fd directory itself, so ".."
 *      cannot climb into the rest of procfs;
 *   4. clones the export tree (open_tree, AT_RECURSIVE), sets nodev, nosuid,
 *      noexec (and rdonly) on every mount of the clone (mount_setattr),
 *      attaches it over the export (move_mount), pivot_root()s into it and
 *      lazily unmounts the old root;
 *   5. checks that "/" is the export inode with those flags.
 * It needs open_tree/move_mount/mount_setattr (Linux 5.12).  A failure
 * before pivot_root leaves the root as it was (and nothing outside the
 * namespace changed): *fatal is false and the caller may fall back to
 * x9p_sb_chroot_to_export().  After pivot_root, *fatal is true.
 *
 * x9p_sb_chroot_to_export() is the fallback when there is no mount
 * namespace: chroot(2) into the export (CAP_SYS_CHROOT needed), host mount
 * flags unchanged.  The proc fd is still a detached clone when the caller
 * may clone mounts, else none is kept (a plain /proc/self/fd descriptor
 * would lead out of the chroot through "..").
 *
 * x9p_sb_plain_proc_fd() is for the last resort, when no filesystem
 * confinement at all was possible and the helper sees the host's tree
 * anyway: a plain O_PATH descriptor of /proc/self/fd.
 *
 * x9p_sb_clone_proc_fd() is step 3 alone, for processes that need
 * nothing else of it (workers): a detached clone of /proc/self/fd, checked
 * to be procfs and to show the caller's descriptor probe_fd.
 *
 * All descriptors returned are O_PATH|O_CLOEXEC.  *proc_fd is -1 when no
 * proc fd could be made.
 */
#ifndef X9P_HELPER_SANDBOX_MOUNT_H
#define X9P_HELPER_SANDBOX_MOUNT_H

#include "sandbox-priv.h"

int x9p_sb_pivot_to_export(int export_fd, bool readonly, int *root_fd, int *proc_fd,
			   bool *fatal, char **err);
int x9p_sb_chroot_to_export(int export_fd, int *root_fd, int *proc_fd, char **err);
int x9p_sb_plain_proc_fd(void);
int x9p_sb_clone_proc_fd(int probe_fd, int *proc_fd, char **err);

#endif
