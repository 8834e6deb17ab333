// SPDX-License-Identifier: GPL-2.0-or-later
/* Starting a child program that confines itself; see child.h. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <glib.h>

#include "log/relay.h"
#include "privsep/child.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
/* Above every target number (0..3 + X9P_CHILD_MAX_FDS), so that moving
 * descriptors into place never overwrites one still to be moved. */
#define PARK_FD 32

extern char **environ;

/* In the child after fork(): async-signal-safe calls only. */
static G_GNUC_NORETURN void child_exec(const struct x9p_child *c, int logw, int null)
{
	int parked[X9P_CHILD_MAX_FDS], l, z, x = -1, next = 3 + (int)c->nfds;
	char *const *envp = c->envp ? c->envp : environ;
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (c->new_session)
		setsid();
	l = fcntl(logw, F_DUPFD, PARK_FD);
	z = fcntl(null, F_DUPFD, PARK_FD);
	if (l < 0 || z < 0)
		_exit(126);
	for (unsigned i = 0; i < c->nfds; i++)
		if ((parked[i] = fcntl(c->fds[i], F_DUPFD, PARK_FD)) < 0)
			_exit(126);
	if (c->exec_fd >= 0 && (x = fcntl(c->exec_fd, F_DUPFD, PARK_FD)) < 0)
		_exit(126);
	if (dup2(z, 0) < 0 || dup2(l, 1) < 0 || dup2(l, 2) < 0)
		_exit(126);
	for (unsigned i = 0; i < c->nfds; i++)
		if (dup2(parked[i], 3 + (int)i) < 0)
			_exit(126);
	if (x >= 0) {
		if (dup2(x, next) < 0 || fcntl(next, F_SETFD, FD_CLOEXEC) < 0)
			_exit(126);
		syscall(SYS_close_range, next + 1, ~0U, 0);
		syscall(SYS_execveat, next, "", c->argv, envp, AT_EMPTY_PATH);
	} else {
		syscall(SYS_close_range, next, ~0U, 0);
		execve(c->path, c->argv, envp);
	}
	_exit(127);
}

pid_t x9p_child_start(const struct x9p_child *c, int *pidfd, char **why)
{
	int logp[2], null, e;
	pid_t pid;

	*pidfd = -1;
	if (c->nfds > X9P_CHILD_MAX_FDS) {
		*why = g_strdup_printf("%s: too many descriptors", c->name);
		return -EINVAL;
	}
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || pipe2(logp, O_CLOEXEC) < 0) {
		e = errno;
		*why = g_strdup_printf("the log channel of %s: %s", c->name, g_strerror(e));
		if (null >= 0)
			close(null);
		return -e;
	}
	pid = fork();
	if (pid == 0)
		child_exec(c, logp[1], null);
	e = errno;
	close(logp[1]);
	close(null);
	if (pid < 0) {
		close(logp[0]);
		*why = g_strdup_printf("fork: %s", g_strerror(e));
		return -e;
	}
	x9p_log_relay_start(logp[0], c->name, pid, c->device);
	*pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	return pid;
}

void x9p_child_signal(pid_t pid, int pidfd, int sig)
{
	if (pidfd >= 0)
		syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
	else if (pid > 0)
		kill(pid, sig);
}
