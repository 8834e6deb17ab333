/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * x9p-helper confinement.
 *
 * x9p_sandbox_enter() confines the calling (still single-threaded) helper
 * process, in this order: close every descriptor but the ones listed and
 * 0-2, PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, drop supplementary groups,
 * set rlimits, unshare user (when not keeping host capabilities)/mount/
 * pid/net/ipc namespaces where the kernel allows (falling back, with a
 * logged reason, when it does not), bind the export onto itself
 * nodev,nosuid,noexec and pivot_root into it, switch to run_uid/run_gid,
 * clear capabilities to the minimum the security model needs (libcap-ng)
 * and install a seccomp allowlist that kills the process on any other
 * system call (libseccomp).  It must be called before any thread is
 * started and before any descriptor the caller wants to keep (a GLib main
 * context's, a log file's) is created.  docs/sandbox.md has the details.
 *
 * On success *export_fd is replaced by an O_PATH descriptor of the export
 * root as seen from inside the sandbox, and 0 is returned; on failure a
 * negative errno, with a message in *err (free with g_free()).  A failure
 * may leave the process half-confined: the caller must exit.
 *
 * When a pid namespace is entered the call forks: the original process
 * stays behind as a supervisor that never returns (it exits with the
 * helper's status), and the helper continues in the child, as pid 1.
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

/*
 * What x9p_sandbox_enter() achieved, for logs and tests (docs/sandbox.md).
 * A bit is clear when the step was skipped or fell back.
 */
enum x9p_sandbox_applied {
	X9P_SANDBOX_USERNS  = 1u << 0,
	X9P_SANDBOX_MOUNTNS = 1u << 1,
	X9P_SANDBOX_PIDNS   = 1u << 2, /* the caller is pid 1 under a supervisor */
	X9P_SANDBOX_NETNS   = 1u << 3,
	X9P_SANDBOX_IPCNS   = 1u << 4,
	X9P_SANDBOX_PIVOT   = 1u << 5, /* "/" is the export, nodev,nosuid,noexec */
	X9P_SANDBOX_CHROOT  = 1u << 6, /* fallback: chroot, host mount flags */
	X9P_SANDBOX_PROCFD  = 1u << 7, /* x9p_sandbox_proc_fd() is a detached mount */
	X9P_SANDBOX_SECCOMP = 1u << 8,
	X9P_SANDBOX_UTSNS   = 1u << 9, /* its own host and domain name */
};
unsigned x9p_sandbox_applied(void);

/*
 * After x9p_sandbox_enter(): an O_PATH descriptor of this process's
 * /proc/self/fd, or -1.  openat(x9p_sandbox_proc_fd(), "N", flags) re-opens
 * descriptor N (e.g. an O_PATH node) with new flags.  When
 * X9P_SANDBOX_PROCFD is set it is the root of a private, detached mount:
 * ".." from it stays inside, so it reaches nothing but this process's own
 * descriptors.  Owned by the sandbox: do not close it.
 */
int x9p_sandbox_proc_fd(void);

#endif
