/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What tests read of a process in /proc (header-only, so the fuzzers,
 * which link no test library, can use it too).
 *
 *  - x9p_proc_fds(pid): descriptors open in pid (0: this process, not
 *    counting the one the count itself opens), or -1 if unreadable.
 *  - x9p_proc_child(pid): the first child of pid's main thread, or 0.
 *  - x9p_proc_named(pid, name, out): the pids of the tree under pid whose
 *    process name is name, parents first; x9p_proc_find() the first (or
 *    0); x9p_proc_signal() sends them sig and says how many there were;
 *    x9p_proc_await() waits up to 10 s for one other than `old` (a
 *    restarted process) and returns it, or 0.
 */
#ifndef X9P_TESTS_PROCINFO_H
#define X9P_TESTS_PROCINFO_H

#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
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

static inline void x9p_proc_named(pid_t pid, const char *name, GArray *out)
{
	char *path = g_strdup_printf("/proc/%d/comm", (int)pid), *comm = NULL, *kids = NULL;
	DIR *d;
	struct dirent *de;

	if (g_file_get_contents(path, &comm, NULL, NULL) && g_str_has_prefix(comm, name) &&
	    comm[strlen(name)] == '\n')
		g_array_append_val(out, pid);
	g_free(comm);
	g_free(path);
	path = g_strdup_printf("/proc/%d/task", (int)pid);
	d = opendir(path);
	while (d && (de = readdir(d))) {
		char *kp = g_strdup_printf("%s/%s/children", path, de->d_name);

		if (de->d_name[0] != '.' && g_file_get_contents(kp, &kids, NULL, NULL)) {
			gchar **v = g_strsplit(g_strstrip(kids), " ", -1);

			for (gchar **k = v; *k; k++)
				if (**k)
					x9p_proc_named((pid_t)atoi(*k), name, out);
			g_strfreev(v);
			g_free(kids);
		}
		g_free(kp);
	}
	if (d)
		closedir(d);
	g_free(path);
}

static inline pid_t x9p_proc_find(pid_t pid, const char *name)
{
	GArray *a = g_array_new(FALSE, FALSE, sizeof(pid_t));
	pid_t found;

	x9p_proc_named(pid, name, a);
	found = a->len ? g_array_index(a, pid_t, 0) : 0;
	g_array_free(a, TRUE);
	return found;
}

static inline pid_t x9p_proc_await(pid_t pid, const char *name, pid_t old)
{
	for (int i = 0; i < 400; i++) {
		pid_t p = x9p_proc_find(pid, name);

		if (p && p != old)
			return p;
		g_usleep(25000);
	}
	return 0;
}

static inline unsigned x9p_proc_signal(pid_t pid, const char *name, int sig)
{
	GArray *a = g_array_new(FALSE, FALSE, sizeof(pid_t));
	unsigned n;

	x9p_proc_named(pid, name, a);
	for (guint i = 0; i < a->len; i++)
		kill(g_array_index(a, pid_t, i), sig);
	n = a->len;
	g_array_free(a, TRUE);
	return n;
}

#endif
