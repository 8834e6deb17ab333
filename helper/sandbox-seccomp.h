/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The seccomp filters (see sandbox-priv.h for conventions).  Both are
 * allowlists built with libseccomp for the native x86_64 ABI only: any
 * other system call, and any call through another ABI (i386 "int 0x80",
 * x32), kills the whole process (SCMP_ACT_KILL_PROCESS), which its parent
 * sees as death by SIGSYS.
 *
 * x9p_sb_seccomp_helper() is the helper's filter, installed last and
 * synchronised to every thread.  It admits what a threaded GLib program
 * serving filesystem requests over a socket needs: *at() filesystem calls,
 * xattrs, sendmsg/recvmsg (SCM_RIGHTS), threads, memory, time, polling.
 * Calls that could widen the sandbox are refused or narrowed by argument:
 * no execve, no socket creation, no mount, no ptrace; clone only with the
 * flags of a thread (clone3, whose flags a filter cannot read, fails with
 * ENOSYS so glibc falls back to clone); mmap/mprotect never with
 * PROT_EXEC; ioctl, prctl, kill/tgkill, unshare, prlimit64 only in the
 * forms listed in docs/sandbox.md.  The credential calls (setresuid,
 * setresgid, setgroups, setfsuid, setfsgid, capset) are allowed for
 * X9P_CAPS_PASSTHROUGH and fail with EPERM otherwise.
 *
 * x9p_sb_seccomp_worker() is the filter of an x9p-backend worker: the
 * common part of the helper's (memory, threads, signals, time, descriptor
 * I/O, polling, sendmsg/recvmsg, the argument-checked rules) plus accept,
 * setsockopt(TCP_NODELAY), fstat, fsync, the fcntl commands that cannot
 * make the kernel signal anyone (no F_SETOWN, F_SETSIG, O_ASYNC), without
 * PR_SET_PDEATHSIG, and without any filesystem call: open and
 * openat fail with EACCES (openat relative to proc_fd, the worker's
 * private /proc/self/fd, is allowed when proc_fd >= 0), execve, socket creation (but AF_UNIX, which
 * fails), connect, bind, ptrace, mount and the rest kill.  log_only
 * makes every call the filter would refuse succeed and get logged by the
 * kernel's audit instead (the --seccomp=log mode).  xen admits the one
 * ioctl a Xen worker needs after its set-up, IOCTL_EVTCHN_NOTIFY.
 *
 * x9p_sb_seccomp_supervisor() admits waiting for `child`, signalling it or
 * the supervisor itself, signal-mask handling and exit.
 */
#ifndef X9P_HELPER_SANDBOX_SECCOMP_H
#define X9P_HELPER_SANDBOX_SECCOMP_H

#include "sandbox-priv.h"

int x9p_sb_seccomp_helper(enum x9p_caps_need need, char **err);
int x9p_sb_seccomp_supervisor(pid_t child, char **err);
struct x9p_sb_worker_filter {
	bool log_only;              /* --seccomp=log */
	int proc_fd;                /* openat() allowed from here only; -1: none */
	bool xen;                   /* IOCTL_EVTCHN_NOTIFY */
	bool synthetic;             /* memfd_create, ftruncate */
	bool record;                /* ftruncate: a recording's rotation */
};
int x9p_sb_seccomp_worker(const struct x9p_sb_worker_filter *f, char **err);

#endif
