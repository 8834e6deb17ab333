/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * How a helper ended, as text (fs/helper-launch.h).  Apart from the local
 * launcher, so that a worker, which only reads such texts, links nothing
 * that starts processes.
 */
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include <glib.h>

#include "fs/helper-launch.h"

char *x9p_exit_text(int status)
{
	if (WIFEXITED(status))
		return g_strdup_printf("exit status %d", WEXITSTATUS(status));
	if (WIFSIGNALED(status))
		return g_strdup_printf("killed by signal %d", WTERMSIG(status));
	return g_strdup("stopped");
}

bool x9p_exit_text_sigkill(const char *text)
{
	char *k = x9p_exit_text(W_EXITCODE(0, SIGKILL));
	bool r = text && strcmp(text, k) == 0;

	g_free(k);
	return r;
}
