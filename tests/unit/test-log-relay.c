// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A child's log lines through the daemon (log/relay.h, log/log.h): each
 * line under the child's name, host pid and device (once), made printable;
 * a flood cut to the burst, with the count of what was dropped.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "log/log.h"
#include "log/relay.h"

/* Runs the relay on lines written by write_lines(fd), with stderr in a
 * file; returns what the relay wrote once `last` is in it. */
static char *relayed(void (*write_lines)(int fd), const char *last)
{
	char *path = NULL, *out = NULL;
	int tmp = g_file_open_tmp("x9p-relay-XXXXXX", &path, NULL);
	int saved = dup(STDERR_FILENO), p[2];
	gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

	g_assert_cmpint(tmp, >=, 0);
	g_assert_cmpint(pipe(p), ==, 0);
	dup2(tmp, STDERR_FILENO);
	x9p_log_init("x9p-test", false, G_LOG_LEVEL_INFO);
	x9p_log_relay_start(p[0], "x9p-worker", 4242, "dom5/9pfs/0");
	write_lines(p[1]);
	close(p[1]);
	while (g_get_monotonic_time() < end) {
		g_free(out);
		g_assert_true(g_file_get_contents(path, &out, NULL, NULL));
		if (strstr(out, last))
			break;
		g_usleep(10000);
	}
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(tmp);
	g_unlink(path);
	g_free(path);
	return out;
}

static void some_lines(int fd)
{
	dprintf(fd, "x9p-worker[1]: warning: ring 0: bad \x01 byte\n");
	dprintf(fd, "x9p-worker[1]: info: dom5/9pfs/0: frontend fault\n");
	dprintf(fd, "x9p-backend: error: a forged prefix\n");
	dprintf(fd, "last\n");
}

static void t_lines(void)
{
	char *out = relayed(some_lines, "last");

	g_assert_nonnull(strstr(out, "x9p-worker[4242] dom5/9pfs/0: warning: ring 0: bad ? byte\n"));
	/* A line that names its device already does not name it twice. */
	g_assert_nonnull(strstr(out, "x9p-worker[4242]: info: dom5/9pfs/0: frontend fault\n"));
	/* Whatever a child writes stays under its own name. */
	g_assert_nonnull(strstr(out, "x9p-worker[4242] dom5/9pfs/0: x9p-backend: error: a forged"));
	g_assert_null(strstr(out, "\nx9p-backend"));
	g_free(out);
}

static void flood(int fd)
{
	for (int i = 0; i < 1000; i++)
		dprintf(fd, "x9p-worker[1]: warning: line %d\n", i);
	/* Time for one token, then one more line, which brings the count. */
	g_usleep(120000);
	dprintf(fd, "x9p-worker[1]: warning: after the flood\n");
}

static void t_flood(void)
{
	char *out = relayed(flood, "after the flood");
	char **lines = g_strsplit(out, "\n", -1);
	unsigned passed = 0, dropped = 0;

	for (char **l = lines; *l; l++) {
		if (strstr(*l, ": warning: line "))
			passed++;
		if (sscanf(*l, "x9p-worker[4242] dom5/9pfs/0: warning: %u lines dropped", &dropped) == 1)
			g_assert_cmpuint(dropped, >, 0);
	}
	/* The burst passes, the rest is counted, nothing is lost silently. */
	g_assert_cmpuint(passed, >=, 200);
	g_assert_cmpuint(passed, <, 300);
	g_assert_cmpuint(passed + dropped, ==, 1000);
	g_strfreev(lines);
	g_free(out);
}

static void flood_and_exit(int fd)
{
	for (int i = 0; i < 1000; i++)
		dprintf(fd, "x9p-worker[1]: warning: line %d\n", i);
}

/* A child that floods and dies: its count still goes out. */
static void t_flood_then_exit(void)
{
	char *out = relayed(flood_and_exit, "lines dropped");
	unsigned passed = 0, dropped = 0;
	char **lines = g_strsplit(out, "\n", -1);

	for (char **l = lines; *l; l++) {
		if (strstr(*l, ": warning: line "))
			passed++;
		sscanf(*l, "x9p-worker[4242] dom5/9pfs/0: warning: %u lines dropped", &dropped);
	}
	g_assert_cmpuint(dropped, >, 0);
	g_assert_cmpuint(passed + dropped, ==, 1000);
	g_strfreev(lines);
	g_free(out);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/log-relay/lines", t_lines);
	g_test_add_func("/log-relay/flood", t_flood);
	g_test_add_func("/log-relay/flood-then-exit", t_flood_then_exit);
	return g_test_run();
}
