/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A worker's confinement, entered once, before the worker reads a byte of
 * any guest or client and before it starts a thread.
 *
 * After x9p_worker_lockdown() returns 0 the process
 *  - runs as cfg->uid/cfg->gid (real, effective, saved) with no
 *    supplementary groups;
 *  - has empty effective, permitted, inheritable, ambient and bounding
 *    capability sets (checked), NoNewPrivs and is not dumpable;
 *  - with MW_SANDBOX_NAMESPACE: lives in new user, mount, network, ipc and
 *    uts namespaces, and its root is an empty read-only tmpfs (nodev,
 *    nosuid, noexec) it pivoted into; with MW_SANDBOX_CHROOT (root
 *    monitors without namespaces): its root is an empty directory that was
 *    removed before it chrooted there, so nothing can be created in it;
 *    MW_SANDBOX_NONE keeps the host's view (debugging);
 *  - with MW_SECCOMP_KILL: runs under the worker filter
 *    (x9p_sb_seccomp_worker), which kills the whole process on any other
 *    system call; MW_SECCOMP_LOG logs instead; MW_SECCOMP_NONE has none;
 *  - dies with SIGKILL when its parent (the monitor) dies.
 * *proc_fd gets a detached clone of /proc/self/fd (O_PATH; ".." cannot
 * leave it), or -1 if none could be made: the only directory openat() may
 * start from afterwards (the synthetic filesystem reopens its files
 * there).  Other descriptors are untouched: the caller holds only what the
 * monitor gave.
 * Returns 0, or -errno with a message in *err (g_free); the process may be
 * half confined then and must exit.
 */
#ifndef X9P_WORKER_LOCKDOWN_H
#define X9P_WORKER_LOCKDOWN_H

#include <sys/types.h>

#include "privsep/mw.h"

struct x9p_lockdown_cfg {
	uid_t uid;
	gid_t gid;
	enum mw_sandbox sandbox;
	enum mw_seccomp seccomp;
	pid_t parent;               /* the monitor, seen at start */
	bool xen;                   /* holds gntdev/evtchn handles: IOCTL_EVTCHN_NOTIFY allowed */
	bool synthetic;             /* serves the synthetic filesystem: memfds allowed */
	bool record;                /* --record: ftruncate (rotation) allowed */
};

int x9p_worker_lockdown(const struct x9p_lockdown_cfg *cfg, int *proc_fd, char **err);

#endif
