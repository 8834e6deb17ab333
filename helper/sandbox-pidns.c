/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "x9p-sandbox"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox-caps.h"
#include "sandbox-pidns.h"
#include "sandbox-seccomp.h"

static pid_t saved_ppid = -1;
static int watch_fd = -1; /* read end; EOF once the supervisor is gone */

static const int term_signals[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT };
static const int forwarded_signals[] = { SIGUSR1, SIGUSR2 };

void x9p_sb_parent_watch_init(void)
{
	saved_ppid = getppid();
}

int x9p_sb_arm_pdeathsig(char **err)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return x9p_sb_fail(err, errno, "PR_SET_PDEATHSIG");
	if (watch_fd >= 0) {
		struct pollfd p = { .fd = watch_fd, .events = POLLIN };
		int n;

		do
			n = poll(&p, 1, 0);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			return x9p_sb_fail(err, errno, "poll(supervisor pipe)");
		if (n > 0)
			return x9p_sb_fail(err, ESRCH, "the sandbox supervisor exited");
	} else if (getppid() != saved_ppid) {
		return x9p_sb_fail(err, ESRCH, "the parent process exited");
	}
	return 0;
}

void x9p_sb_parent_watch_done(void)
{
	if (watch_fd >= 0)
		close(watch_fd);
	watch_fd = -1;
}

static bool in_list(int sig, const int *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] == sig)
			return true;
	return false;
}

/* Leaves the way the helper left: same exit code or same signal. */
G_GNUC_NORETURN static void exit_like(int status, int asked)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t one;
	int sig;

	if (WIFEXITED(status))
		_exit(WEXITSTATUS(status));
	sig = WTERMSIG(status);
	if (sig == SIGKILL && asked)
		sig = asked;
	sigaction(sig, &dfl, NULL);
	kill(getpid(), sig);
	sigemptyset(&one);
	sigaddset(&one, sig);
	sigprocmask(SIG_UNBLOCK, &one, NULL);
	/* Only reached for a signal whose default action does not kill. */
	_exit(128 + sig);
}

G_GNUC_NORETURN static void supervise(pid_t child, int keep_fd)
{
	sigset_t waitset;
	char *err = NULL;
	int asked = 0;

	/* Every signal has been blocked since before the fork: they are
	 * taken synchronously below, so no handler runs in this process. */
	if (x9p_sb_caps_drop_all(&err) < 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		g_warning("sandbox supervisor: %s", err ? err : g_strerror(errno));
		kill(child, SIGKILL);
		_exit(1);
	}
	if (keep_fd > 0)
		close_range(0, keep_fd - 1, 0);
	close_range(keep_fd + 1, ~0U, 0);
	if (x9p_sb_seccomp_supervisor(child, &err) < 0) {
		kill(child, SIGKILL);
		_exit(1);
	}

	sigemptyset(&waitset);
	sigaddset(&waitset, SIGCHLD);
	for (size_t i = 0; i < G_N_ELEMENTS(term_signals); i++)
		sigaddset(&waitset, term_signals[i]);
	for (size_t i = 0; i < G_N_ELEMENTS(forwarded_signals); i++)
		sigaddset(&waitset, forwarded_signals[i]);

	for (;;) {
		siginfo_t si;
		int status;
		int sig = sigwaitinfo(&waitset, &si);

		if (sig == SIGCHLD) {
			if (waitpid(child, &status, WNOHANG) == child)
				exit_like(status, asked);
		} else if (in_list(sig, term_signals, G_N_ELEMENTS(term_signals))) {
			if (!asked)
				asked = sig;
			kill(child, SIGKILL);
		} else if (sig > 0) {
			kill(child, sig);
		}
	}
}

int x9p_sb_pidns_fork(char **err)
{
	sigset_t all, old;
	int pipefd[2];
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return x9p_sb_fail(err, errno, "pipe2");
	/* Blocked across the fork so the supervisor cannot be stopped by a
	 * signal before it is ready to take it; the child restores the mask. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid = fork();
	if (pid < 0) {
		int e = errno;

		sigprocmask(SIG_SETMASK, &old, NULL);
		close(pipefd[0]);
		close(pipefd[1]);
		return x9p_sb_fail(err, e, "fork into the pid namespace");
	}
	if (pid > 0) {
		close(pipefd[0]);
		supervise(pid, pipefd[1]);
	}

	close(pipefd[1]);
	watch_fd = pipefd[0];
	sigprocmask(SIG_SETMASK, &old, NULL);
	return x9p_sb_arm_pdeathsig(err);
}
