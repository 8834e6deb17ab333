/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * x9p-helper confinement.
 *
 * x9p_sandbox_enter() confines the calling (still single-threaded) helper
 * process, in this order: close every descriptor but the ones listed,
 * PR_SET_NO_NEW_PRIVS, drop supplementary groups, unshare user (when not
 * keeping host capabilities)/mount/pid/net/ipc namespaces where the kernel
 * allows (falling back, with a logged reason, when it does not), bind the
 * export onto itself nodev,nosuid,noexec and pivot_root into it, set
 * rlimits, clear capabilities to the minimum the security model needs
 * (libcap-ng) and install a seccomp allowlist that kills the process on any
 * other system call (libseccomp).  It must be called before any thread is
 * started.
 *
 * On success *export_fd is replaced by an O_PATH descriptor of the export
 * root as seen from inside the sandbox, and 0 is returned; on failure a
 * negative errno, with a message in *err.
 */
#ifndef X9P_HELPER_SANDBOX_H
#define X9P_HELPER_SANDBOX_H

#include <stdbool.h>
#include <sys/types.h>

enum x9p_caps_need {
	X9P_CAPS_NONE,        /* mapped-xattr, mapped-file, none: no capabilities */
	X9P_CAPS_PASSTHROUGH, /* CHOWN DAC_OVERRIDE FOWNER FSETID SETUID SETGID MKNOD */
};

struct x9p_sandbox_cfg {
	int sock_fd;              /* kept open */
	enum x9p_caps_need caps;
	bool readonly;            /* bind-mount the export read-only too */
	bool no_namespaces;       /* documented fallback, forced */
	bool no_seccomp;          /* for debugging only */
	uid_t run_uid;            /* switch to this uid/gid; (uid_t)-1 = stay */
	gid_t run_gid;
	unsigned max_files;       /* RLIMIT_NOFILE */
};

int x9p_sandbox_enter(const struct x9p_sandbox_cfg *cfg, int *export_fd, char **err);

#endif
