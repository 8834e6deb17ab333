/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The pid namespace fork, the supervisor left behind by it, and the
 * parent-death watch (see sandbox-priv.h for conventions).
 *
 * After unshare(CLONE_NEWPID) only children enter the new namespace, so
 * x9p_sb_pidns_fork() forks.  It returns 0 in the child, which carries on
 * as the helper and is pid 1 of the namespace.  The parent never returns:
 * it becomes a supervisor that closes every descriptor (but the write end
 * of the watch pipe below), drops every capability, installs its own tiny
 * seccomp filter (wait, kill the helper, exit) and waits.  It turns
 * SIGTERM, SIGINT, SIGHUP and SIGQUIT into SIGKILL for the helper (a pid
 * namespace's init ignores every signal it has no handler for, and the
 * helper holds no state that a graceful stop would save) and forwards
 * SIGUSR1 and SIGUSR2 unchanged.  When the helper is gone it exits the
 * same way: with the same exit code, or killed by the same signal (by the
 * termination signal it received itself, when it was the one that asked
 * for the SIGKILL).  Whoever started the helper therefore sees one process
 * that behaves like the helper.
 *
 * Parent death: the helper has PR_SET_PDEATHSIG(SIGKILL).  The kernel
 * forgets it on fork and on every change of effective ids, so
 * x9p_sb_arm_pdeathsig() sets it again and then checks that the parent
 * still exists, to close the window in which it could have died unseen:
 * below a supervisor through a pipe only the supervisor holds open, else by
 * comparing getppid() with the value saved by x9p_sb_parent_watch_init().
 */
#ifndef X9P_HELPER_SANDBOX_PIDNS_H
#define X9P_HELPER_SANDBOX_PIDNS_H

#include "sandbox-priv.h"

void x9p_sb_parent_watch_init(void);
int x9p_sb_arm_pdeathsig(char **err);
/* Closes the watch pipe once the sandbox is complete. */
void x9p_sb_parent_watch_done(void);

int x9p_sb_pidns_fork(char **err);

#endif
