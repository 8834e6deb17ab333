// SPDX-License-Identifier: GPL-2.0-or-later
/* Starting and stopping the real x9p-backend for tests; see backend-proc.h. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>

#include "backend-proc.h"

char *x9p_build_path(const char *name)
{
	const char *b = g_getenv("X9P_BUILD");

	if (!b || !*b)
		b = "build";
	return g_build_filename(b, name, NULL);
}

bool x9p_backend_start(struct x9p_backend_proc *p, const char *const *argv)
{
	GPtrArray *args = g_ptr_array_new_with_free_func(g_free);
	char *prog = x9p_build_path("x9p-backend");
	char buf[4096];
	size_t got = 0;
	int pfd[2];
	bool ok = false, serves = false;

	memset(p, 0, sizeof(*p));
	p->dir = g_dir_make_tmp("x9p-test-XXXXXX", NULL);
	p->sock = g_build_filename(p->dir, "9p.sock", NULL);
	p->addr = g_strdup_printf("unix:%s", p->sock);
	if (pipe(pfd) < 0)
		goto out;
	g_ptr_array_add(args, g_strdup(prog));
	g_ptr_array_add(args, g_strdup_printf("--listen=%s", p->addr));
	g_ptr_array_add(args, g_strdup_printf("--ready-fd=%d", pfd[1]));
	/* Quiet unless asked: prove shows a test's stderr with its results. */
	g_ptr_array_add(args, g_strdup_printf("--log-level=%s",
					      g_getenv("X9P_TEST_LOG") ? g_getenv("X9P_TEST_LOG") : "warning"));
	for (const char *const *a = argv; a && *a; a++)
		if (g_str_has_prefix(*a, "--export") || g_str_has_prefix(*a, "--synthetic"))
			serves = true;
	/* The built-in test tree, unless the test names what to serve. */
	if (!serves)
		g_ptr_array_add(args, g_strdup("--synthetic"));
	for (; argv && *argv; argv++)
		g_ptr_array_add(args, g_strdup(*argv));
	g_ptr_array_add(args, NULL);

	p->pid = fork();
	if (p->pid == 0) {
		/* A test that dies must not leave its server behind. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		close(pfd[0]);
		execv(prog, (char **)args->pdata);
		fprintf(stderr, "exec %s: %s\n", prog, strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	if (p->pid < 0) {
		close(pfd[0]);
		goto out;
	}
	/* Read until EOF: the backend closes the descriptor once ready. */
	for (;;) {
		ssize_t n = read(pfd[0], buf + got, sizeof(buf) - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got == sizeof(buf) - 1)
			break;
	}
	close(pfd[0]);
	buf[got] = 0;
	ok = strstr(buf, "ready\n") != NULL;
	if (!ok)
		fprintf(stderr, "x9p-backend did not become ready (said: %s)\n", buf);
out:
	g_ptr_array_free(args, TRUE);
	g_free(prog);
	if (!ok)
		x9p_backend_stop(p);
	return ok;
}

bool x9p_backend_alive(struct x9p_backend_proc *p)
{
	return p->pid > 0 && waitpid(p->pid, NULL, WNOHANG) == 0;
}

void x9p_backend_stop(struct x9p_backend_proc *p)
{
	if (p->pid > 0) {
		kill(p->pid, SIGTERM);
		waitpid(p->pid, NULL, 0);
		p->pid = 0;
	}
	if (p->sock)
		unlink(p->sock);
	if (p->dir)
		rmdir(p->dir);
	g_free(p->dir);
	g_free(p->sock);
	g_free(p->addr);
	memset(p, 0, sizeof(*p));
}
