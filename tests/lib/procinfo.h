/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What tests read of a process in /proc (header-only, so the fuzzers,
 * which link no test library, can use it too).
 *
 *  - x9p_proc_fds(pid): descriptors open in pid (0: this process, not
 *    counting the one the count itself opens), or -1 if unreadable.
 *  - x9p_proc_child(pid): the first child of pid's main thread, or 0.
 */
#ifndef X9P_TESTS_PROCINFO_H
#define X9P_TESTS_PROCINFO_H

#include <stdlib.h>
#include <sys/types.h>

#include <glib.h>

static inline int x9p_proc_fds(pid_t pid)
{
	char *path = pid ? g_strdup_printf("/proc/%d/fd", (int)pid) : g_strdup("/proc/self/fd");
	GDir *d = g_dir_open(path, 0, NULL);
	int n = 0;

	g_free(path);
	if (!d)
		return -1;
	while (g_dir_read_name(d))
		n++;
	g_dir_close(d);
	return pid ? n : n - 1;
}

static inline pid_t x9p_proc_child(pid_t pid)
{
	char *path = g_strdup_printf("/proc/%d/task/%d/children", (int)pid, (int)pid), *s = NULL;
	pid_t child = 0;

	if (g_file_get_contents(path, &s, NULL, NULL) && s[0])
		child = (pid_t)atoi(s);
	g_free(s);
	g_free(path);
	return child;
}

#endif
