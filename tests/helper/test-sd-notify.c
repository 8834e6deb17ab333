// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The daemons under a Type=notify systemd unit (monitor/sd-notify.h): the
 * real x9p-backend and x9p-vhost, with $NOTIFY_SOCKET naming a socket of
 * this test (a path, or an abstract name), say READY=1 with a STATUS once
 * they serve, STOPPING=1 on SIGTERM, and around a reload RELOADING=1, then
 * READY=1 again from the same process.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>

#include "backend-proc.h"

#define WAIT_MS 20000

/* A datagram socket for the daemon to notify, named in $NOTIFY_SOCKET. */
static int notify_socket(char **path, bool abstract)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	static unsigned seq;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	socklen_t len;

	g_assert_cmpint(fd, >=, 0);
	if (abstract) {
		*path = g_strdup_printf("@x9p-test-notify-%d-%u", (int)getpid(), seq++);
	} else {
		char *dir = g_dir_make_tmp("x9p-notify-XXXXXX", NULL);

		*path = g_build_filename(dir, "notify", NULL);
		g_free(dir);
	}
	strcpy(sun.sun_path, *path);
	if (abstract)
		sun.sun_path[0] = 0;
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(*path));
	g_assert_cmpint(bind(fd, (struct sockaddr *)&sun, len), ==, 0);
	g_setenv("NOTIFY_SOCKET", *path, TRUE);
	return fd;
}

static void notify_close(int fd, char *path)
{
	close(fd);
	g_unsetenv("NOTIFY_SOCKET");
	if (path[0] == '/') {
		char *dir = g_path_get_dirname(path);

		unlink(path);
		rmdir(dir);
		g_free(dir);
	}
	g_free(path);
}

/* The next notification holding `want` (earlier ones are skipped); NULL
 * if none came in time. */
static char *expect(int fd, const char *want)
{
	gint64 end = g_get_monotonic_time() + WAIT_MS * 1000ll;

	while (g_get_monotonic_time() < end) {
		struct pollfd p = { fd, POLLIN, 0 };
		char buf[4096];
		ssize_t n;

		if (poll(&p, 1, 100) != 1)
			continue;
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n <= 0)
			continue;
		buf[n] = 0;
		if (strstr(buf, want))
			return g_strdup(buf);
	}
	return NULL;
}

static int term_and_reap(pid_t pid)
{
	int st = 0;

	kill(pid, SIGTERM);
	g_assert_cmpint(waitpid(pid, &st, 0), ==, pid);
	return st;
}

static void t_backend(void)
{
	char *path, *m;
	int fd = notify_socket(&path, false), st;
	struct x9p_backend_proc p;

	g_assert_true(x9p_backend_start(&p, (const char *const[]){ "--synthetic", NULL }));
	m = expect(fd, "READY=1");
	g_assert_nonnull(m);
	g_assert_nonnull(strstr(m, "\nSTATUS="));
	g_assert_nonnull(strstr(m, p.sock));
	g_free(m);
	st = term_and_reap(p.pid);
	p.pid = 0;
	g_assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	m = expect(fd, "STOPPING=1");
	g_assert_nonnull(m);
	g_free(m);
	x9p_backend_stop(&p);
	notify_close(fd, path);
}

/* SIGHUP with an export: the daemon executes itself again, same pid. */
static void t_backend_reload(void)
{
	char *path, *m, *exp = g_dir_make_tmp("x9p-notify-exp-XXXXXX", NULL);
	int fd = notify_socket(&path, false);
	struct x9p_backend_proc p;

	g_assert_true(x9p_backend_start(&p, (const char *const[]){ "--export", exp,
					"--security-model", "none", NULL }));
	m = expect(fd, "READY=1");
	g_assert_nonnull(m);
	g_free(m);
	kill(p.pid, SIGHUP);
	m = expect(fd, "RELOADING=1");
	g_assert_nonnull(m);
	g_assert_nonnull(strstr(m, "MONOTONIC_USEC="));
	g_free(m);
	m = expect(fd, "READY=1");
	g_assert_nonnull(m);
	g_free(m);
	g_assert_true(x9p_backend_alive(&p));
	x9p_backend_stop(&p);
	rmdir(exp);
	g_free(exp);
	notify_close(fd, path);
}

static void t_vhost(void)
{
	char *path, *m, *prog = x9p_build_path("x9p-vhost");
	char *dir = g_dir_make_tmp("x9p-notify-vu-XXXXXX", NULL);
	char *sock = g_build_filename(dir, "vu.sock", NULL);
	char *sockarg = g_strdup_printf("--socket-path=%s", sock);
	char *argv[] = { prog, (char *)"--synthetic", sockarg, (char *)"--tag=nt",
			 (char *)"--log-level=warning", NULL };
	int fd = notify_socket(&path, true), st;
	GPid pid;

	g_assert_true(g_spawn_async(NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid,
				    NULL));
	m = expect(fd, "READY=1");
	g_assert_nonnull(m);
	g_assert_nonnull(strstr(m, "STATUS=virtio-9p device, tag 'nt'"));
	g_free(m);
	st = term_and_reap(pid);
	g_assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	m = expect(fd, "STOPPING=1");
	g_assert_nonnull(m);
	g_free(m);
	unlink(sock);
	rmdir(dir);
	g_free(dir);
	g_free(sock);
	g_free(sockarg);
	g_free(prog);
	notify_close(fd, path);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	signal(SIGPIPE, SIG_IGN);
	g_test_add_func("/sd-notify/backend", t_backend);
	g_test_add_func("/sd-notify/backend-reload", t_backend_reload);
	g_test_add_func("/sd-notify/vhost-abstract", t_vhost);
	return g_test_run();
}
