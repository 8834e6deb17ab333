/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * How the proxy driver (fs/proxy.h) gets an x9p-helper: a launcher starts
 * one helper process for the export and hands back the driver's end of
 * its socket; the driver does the HELLO, serves, and asks the launcher to
 * kill and reap it when it breaks the protocol or dies.
 *
 * Two launchers exist.  The local one (fs/helper-spawn.h) forks and
 * executes the helper itself; the privileged monitor and every program
 * that is not privilege-separated use it.  A sandboxed worker cannot
 * create processes, so its launcher (worker/helper-remote.h) asks the
 * monitor, which runs the local launcher on its behalf and passes the
 * socket down: the worker then talks to the helper directly.
 *
 * Contract:
 *  - start() returns 0 with *out filled (sock: a SOCK_SEQPACKET socket,
 *    close-on-exec, owned by the caller; pid: the helper's pid in the
 *    host's pid namespace, for logs; exit_fd: a descriptor that becomes
 *    readable when the helper exits, owned by the caller, or -1), or
 *    -errno with a message in *why (g_free).  A launcher starts at most one
 *    helper at a time: the previous one must have been reaped.
 *  - kill() sends SIGKILL to the helper started last, unless it was
 *    reaped already; any thread.
 *  - reap() waits until that helper has exited, killing it after grace_ms
 *    (0: at once), and returns how it ended ("exit status 0", "killed by
 *    signal 9") to g_free.
 *  - destroy() frees the launcher; the driver calls it when it is freed.
 */
#ifndef X9P_FS_HELPER_LAUNCH_H
#define X9P_FS_HELPER_LAUNCH_H

#include <stdbool.h>
#include <sys/types.h>

struct x9p_helper_proc {
	int sock;
	pid_t pid;
	int exit_fd;
};

struct x9p_helper_launcher {
	int (*start)(struct x9p_helper_launcher *l, struct x9p_helper_proc *out, char **why);
	void (*kill)(struct x9p_helper_launcher *l);
	char *(*reap)(struct x9p_helper_launcher *l, int grace_ms);
	void (*destroy)(struct x9p_helper_launcher *l);
};

/* "exit status N", "killed by signal N" or "stopped", from a wait status. */
char *x9p_exit_text(int status);
/* Whether such a text says SIGKILL (sent from outside: the helper never
 * dies of it by itself). */
bool x9p_exit_text_sigkill(const char *text);

#endif
