// SPDX-License-Identifier: GPL-2.0-or-later
/* A daemon executing its program file again; see reexec.h. */
#define G_LOG_DOMAIN "x9p-backend"
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "monitor/reexec.h"

static char *self_path;
static GPtrArray *self_argv;

void x9p_reexec_save(int argc, char **argv)
{
	self_path = g_file_read_link("/proc/self/exe", NULL);
	self_argv = g_ptr_array_new();
	for (int i = 0; i < argc; i++) {
		if (g_str_has_prefix(argv[i], "--ready-fd=")) {
			continue;
		} else if (strcmp(argv[i], "--ready-fd") == 0) {
			i++;
			continue;
		}
		g_ptr_array_add(self_argv, argv[i]);
	}
	g_ptr_array_add(self_argv, NULL);
}

static void stop_signals(int how)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, SIGTERM);
	sigaddset(&s, SIGINT);
	sigaddset(&s, SIGHUP);
	sigprocmask(how, &s, NULL);
}

void x9p_reexec(void)
{
	if (!self_path) {
		g_critical("reload: the program file is not known; exiting");
		return;
	}
	/* A stop or reload arriving meanwhile waits for the new program's
	 * handlers instead of killing it before it has them. */
	stop_signals(SIG_BLOCK);
	execv(self_path, (char **)self_argv->pdata);
	stop_signals(SIG_UNBLOCK);
	g_critical("reload: executing %s: %s", self_path, g_strerror(errno));
}

void x9p_reexec_handlers_ready(void)
{
	stop_signals(SIG_UNBLOCK);
}
