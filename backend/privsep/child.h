/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Starting a child program that confines itself (x9p-helper, x9p-worker):
 * one fork-and-exec for both.  The child gets /dev/null as stdin, a pipe as
 * stdout and stderr whose lines are relayed under "NAME[PID]: "
 * (log/relay.h), the caller's descriptors as 3, 4, ..., and no other
 * descriptor; its signal mask is cleared.  With exec_fd the program is
 * executed through that descriptor (execveat), so a binary replaced on
 * disk meanwhile is not picked up; new_session gives it a session and
 * process group of its own.
 *
 * x9p_child_start() returns the child's pid, with *pidfd a pidfd of it
 * (-1 on kernels without one), or -errno with a message in *why.
 * x9p_child_signal() signals through the pidfd when there is one, so a
 * pid reused after the child was reaped is never hit.
 */
#ifndef X9P_PRIVSEP_CHILD_H
#define X9P_PRIVSEP_CHILD_H

#include <stdbool.h>
#include <sys/types.h>

#define X9P_CHILD_MAX_FDS 8

struct x9p_child {
	const char *name;           /* for its log lines: "x9p-helper" */
	const char *device;         /* ... and what it serves, or NULL (log/relay.h) */
	const char *path;           /* executed when exec_fd is -1 */
	int exec_fd;                /* O_PATH of the program, or -1 */
	char *const *argv;
	char *const *envp;          /* NULL: this process's environment */
	const int *fds;             /* become 3, 4, ... in the child */
	unsigned nfds;              /* at most X9P_CHILD_MAX_FDS */
	bool new_session;
};

pid_t x9p_child_start(const struct x9p_child *c, int *pidfd, char **why);
void x9p_child_signal(pid_t pid, int pidfd, int sig);

#endif
