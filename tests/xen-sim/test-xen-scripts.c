// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * xenstore-scripts/ on the simulated Xen with the real x9p-backend:
 * x9p-attach (the nodes libxl writes, in the order that keeps a guest from
 * seeing a half-made device), x9p-list, x9p-detach; and the device-model
 * stand-in libxl 4.17 would start through device_model_override
 * (xenstore-scripts/x9p-qemu-dm): XenStore "running" and QMP as libxl
 * speaks it.  The xenstore-* tools are tests/xen-sim/xs-tool.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim.h"
#include "sim-proto.h"

static const char *const synth_args[] = { "--synthetic", NULL };

struct env {
	char *bindir;
	char **envp;
};

static const char *build_dir(void)
{
	const char *b = g_getenv("X9P_BUILD");

	return b && *b ? b : "build";
}

static void env_init(struct env *e, struct sim *s)
{
	const char *tools[] = { "read", "write", "rm", "exists", "list", "chmod" };
	char *tool = g_canonicalize_filename(build_dir(), NULL);
	char *xs = g_build_filename(tool, "tests", "xen-sim", "xs-tool", NULL);
	char *lib = g_build_filename(tool, "tests", "xen-sim", "lib", NULL);
	char *path;

	e->bindir = g_dir_make_tmp("x9p-xen-bin-XXXXXX", NULL);
	for (size_t i = 0; i < G_N_ELEMENTS(tools); i++) {
		char *l = g_strdup_printf("%s/xenstore-%s", e->bindir, tools[i]);

		g_assert_cmpint(symlink(xs, l), ==, 0);
		g_free(l);
	}
	path = g_strdup_printf("%s:%s", e->bindir, g_getenv("PATH") ? g_getenv("PATH") : "/usr/bin:/bin");
	e->envp = g_get_environ();
	e->envp = g_environ_setenv(e->envp, "PATH", path, TRUE);
	e->envp = g_environ_setenv(e->envp, SIM_ENV_SOCK, hv_sock_path(s->hv), TRUE);
	e->envp = g_environ_setenv(e->envp, SIM_ENV_DOMID, "0", TRUE);
	e->envp = g_environ_setenv(e->envp, "LD_LIBRARY_PATH", lib, TRUE);
	{
		char *be = g_build_filename(tool, "x9p-backend", NULL);

		e->envp = g_environ_setenv(e->envp, "X9P_BACKEND", be, TRUE);
		g_free(be);
	}
	g_free(path);
	g_free(xs);
	g_free(lib);
	g_free(tool);
}

static void env_clear(struct env *e)
{
	char *cmd = g_strdup_printf("rm -rf '%s'", e->bindir);

	g_assert_cmpint(system(cmd), ==, 0);
	g_free(cmd);
	g_free(e->bindir);
	g_strfreev(e->envp);
}

/* Runs xenstore-scripts/NAME with args; returns the exit status. */
static int run(struct env *e, const char *name, const char *a1, const char *a2, char **out)
{
	const char *top = g_getenv("X9P_TOP");
	char *script = g_build_filename(top ? top : ".", "xenstore-scripts", name, NULL);
	const char *argv[] = { "sh", script, a1, a2, NULL };
	char *so = NULL, *se = NULL;
	GError *err = NULL;
	int status = -1;

	if (!a1)
		argv[2] = NULL;
	else if (!a2)
		argv[3] = NULL;
	g_assert_true(g_spawn_sync(NULL, (char **)argv, e->envp, G_SPAWN_SEARCH_PATH, NULL, NULL,
				   &so, &se, &status, &err));
	if (se && *se)
		g_printerr("# %s: %s", name, se);
	if (out)
		*out = so;
	else
		g_free(so);
	g_free(se);
	g_free(script);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void test_attach_list_detach(void)
{
	struct sim *s = sim_new();
	struct env e;
	const char *fe_state = "/local/domain/5/device/9pfs/0/state";
	struct fe_opts o = { .kind = FE_LINUX, .domid = 5, .devid = 0 };
	struct fe *fe;
	char *out = NULL, *perms;

	hv_domain_create(s->hv, 5, "guest5");
	env_init(&e, s);
	g_assert_true(sim_backend_start(s, synth_args));
	/* When the frontend's state node appears, the guest must already be
	 * able to write its directory (else Linux fails "13 writing xenstore"). */
	hv_probe_arm(s->hv, fe_state, 5);
	g_assert_cmpint(run(&e, "x9p-attach", "guest5",
			    "tag=share,path=/srv/share,security_model=none", &out), ==, 0);
	g_assert_cmpstr(out, ==, "0\n");
	g_free(out);
	g_assert_cmpint(hv_probe_result(s->hv, fe_state), ==, 1);
	perms = hv_get_perms(s->hv, "/local/domain/5/device/9pfs/0");
	g_assert_cmpstr(perms, ==, "n5 r0");
	g_free(perms);
	perms = hv_get_perms(s->hv, "/local/domain/5/device/9pfs/0/tag");
	g_assert_cmpstr(perms, ==, "n5 r0");
	g_free(perms);
	perms = hv_get_perms(s->hv, "/local/domain/0/backend/x9p/5/0/path");
	g_assert_cmpstr(perms, ==, "n0 r5");
	g_free(perms);
	g_assert_true(sim_wait_be_state(s, "x9p", 5, 0, 2));

	fe = sim_frontend_with(s, &o);
	g_assert_nonnull(fe);
	g_assert_true(sim_9p_works(fe));
	g_assert_cmpint(run(&e, "x9p-list", NULL, NULL, &out), ==, 0);
	g_assert_cmpstr(out, ==, "5 0 x9p Connected share /srv/share\n");
	g_free(out);

	/* A second device gets the next number. */
	g_assert_cmpint(run(&e, "x9p-attach", "5",
			    "tag=logs,path=/var/log/g5,security_model=none,max-files=10", &out), ==, 0);
	g_assert_cmpstr(out, ==, "1\n");
	g_free(out);
	out = sim_be_read(s, "x9p", 5, 1, "max-files");
	g_assert_cmpstr(out, ==, "10");
	g_free(out);
	/* The short form, and libxl's own backend kind. */
	g_assert_cmpint(run(&e, "x9p-attach", "5", "tag=p9,path=/srv/p9,security_model=none,"
			    "backend-kind=9pfs", NULL), ==, 0);
	g_assert_true(sim_wait_be_state(s, "9pfs", 5, 2, 2));
	{
		const char *argv3[] = { "5", "scratch", "/srv/scratch" };
		char *script = g_build_filename(g_getenv("X9P_TOP") ? g_getenv("X9P_TOP") : ".",
						"xenstore-scripts", "x9p-attach", NULL);
		const char *argv[] = { "sh", script, argv3[0], argv3[1], argv3[2], NULL };
		int st = -1;

		g_assert_true(g_spawn_sync(NULL, (char **)argv, e.envp, G_SPAWN_SEARCH_PATH, NULL,
					   NULL, &out, NULL, &st, NULL));
		g_assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		g_assert_cmpstr(out, ==, "3\n");
		g_free(out);
		g_free(script);
	}
	out = sim_be_read(s, "x9p", 5, 3, "security_model");
	g_assert_cmpstr(out, ==, "none");
	g_free(out);

	g_assert_cmpint(run(&e, "x9p-detach", "5", "tag=share", NULL), ==, 0);
	g_assert_false(hv_exists(s->hv, "/local/domain/0/backend/x9p/5/0"));
	g_assert_false(hv_exists(s->hv, "/local/domain/5/device/9pfs/0"));
	g_assert_true(fe_wait_state(fe, 6, SIM_HANG_MS) || !hv_exists(s->hv, fe_state));
	g_assert_cmpint(run(&e, "x9p-detach", "guest5", "1", NULL), ==, 0);
	g_assert_cmpint(run(&e, "x9p-detach", "guest5", "2", NULL), ==, 0);
	g_assert_cmpint(run(&e, "x9p-detach", "guest5", "tag=scratch", NULL), ==, 0);
	g_assert_cmpint(run(&e, "x9p-list", NULL, NULL, &out), ==, 0);
	g_assert_cmpstr(out, ==, "");
	g_free(out);
	fe_free(fe);
	g_assert_true(sim_backend_alive(s));
	sim_free(s);
	env_clear(&e);
}

static void test_attach_refused(void)
{
	struct sim *s = sim_new();
	struct env e;
	char *out = NULL;

	hv_domain_create(s->hv, 5, "guest5");
	env_init(&e, s);
	g_assert_true(sim_backend_start(s, synth_args));
	g_assert_cmpint(run(&e, "x9p-attach", "5",
			    "tag=t,path=/srv/x,security_model=bogus", NULL), ==, 1);
	g_assert_cmpint(run(&e, "x9p-list", "5", NULL, &out), ==, 0);
	g_assert_nonnull(strstr(out, "Closed"));
	g_assert_nonnull(strstr(out, "error: security_model"));
	g_free(out);
	/* Usage errors are not XenStore changes. */
	g_assert_cmpint(run(&e, "x9p-attach", "5", "tag=t,path=relative,security_model=none",
			    NULL), ==, 1);
	g_assert_cmpint(run(&e, "x9p-attach", "nosuchguest", "tag=t,path=/x,security_model=none",
			    NULL), ==, 1);
	g_assert_false(hv_exists(s->hv, "/local/domain/5/device/9pfs/1"));
	sim_free(s);
	env_clear(&e);
}

static void test_attach_xen_9pfsd(void)
{
	struct sim *s = sim_new();
	struct env e;
	struct fe *fe;
	char *v;

	hv_domain_create(s->hv, 5, "guest5");
	env_init(&e, s);
	g_assert_true(sim_backend_start(s, synth_args));
	g_assert_cmpint(run(&e, "x9p-attach", "5", "type=xen_9pfsd,max-open-files=3", NULL), ==, 0);
	v = sim_be_read(s, "xen_9pfs", 5, 0, "path");
	g_assert_cmpstr(v, ==, "/var/log/xen/guests/guest5");
	g_free(v);
	v = hv_read(s->hv, 0, "/local/domain/5/device/9pfs/0/tag");
	g_assert_cmpstr(v, ==, "Xen");
	g_free(v);
	fe = sim_frontend(s, FE_MINIOS, 5, 0);
	g_assert_nonnull(fe);
	g_assert_true(sim_9p_works(fe));
	fe_free(fe);
	sim_free(s);
	env_clear(&e);
}

/* ---- device-model stand-in -------------------------------------------- */

static int qmp_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	g_assert_cmpint(fd, >=, 0);
	strcpy(sa.sun_path, path);
	g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
	return fd;
}

static char *qmp_line(int fd)
{
	GString *s = g_string_new(NULL);
	char c;

	while (read(fd, &c, 1) == 1 && c != '\n')
		g_string_append_c(s, c);
	return g_string_free(s, FALSE);
}

static char *qmp(int fd, const char *cmd)
{
	g_assert_cmpint(write(fd, cmd, strlen(cmd)), ==, (ssize_t)strlen(cmd));
	return qmp_line(fd);
}

static void test_device_model(void)
{
	struct sim *s = sim_new();
	struct env e;
	const char *top = g_getenv("X9P_TOP");
	char *script = g_build_filename(top ? top : ".", "xenstore-scripts", "x9p-qemu-dm", NULL);
	char *dir = g_dir_make_tmp("x9p-xen-dm-XXXXXX", NULL);
	char *qmp_path = g_build_filename(dir, "qmp-libxl-7", NULL);
	char *stat_path = g_build_filename(dir, "qmp-libxenstat-7", NULL);
	char *cd1 = g_strdup_printf("socket,id=libxl-cmd,path=%s,server=on,wait=off", qmp_path);
	char *cd2 = g_strdup_printf("socket,id=libxenstat-cmd,path=%s,server=on,wait=off", stat_path);
	/* The command line libxl 4.17 builds for a PV guest's QEMU. */
	const char *argv[] = { "sh", script, "-xen-domid", "7", "-chardev", cd1, "-mon",
			       "chardev=libxl-cmd,mode=control", "-chardev", cd2, "-mon",
			       "chardev=libxenstat-cmd,mode=control", "-nodefaults",
			       "-no-user-config", "-xen-attach", "-name", "guest7", "-vnc", "none",
			       "-display", "none", "-nographic", "-machine", "xenpv", "-m", "257",
			       NULL };
	GPid pid;
	GError *err = NULL;
	int fd, status;
	char *l;

	hv_domain_create(s->hv, 7, "guest7");
	env_init(&e, s);
	g_assert_true(g_spawn_async(NULL, (char **)argv, e.envp,
				    G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
				    &pid, &err));
	g_assert_true(hv_wait_value(s->hv, "/local/domain/0/device-model/7/state", "running",
				    SIM_HANG_MS));
	/* libxl's QMP conversation after the device model is running. */
	fd = qmp_connect(qmp_path);
	l = qmp_line(fd);
	g_assert_nonnull(strstr(l, "\"QMP\""));
	g_assert_nonnull(strstr(l, "\"major\": 7"));
	g_free(l);
	l = qmp(fd, "{\"execute\":\"qmp_capabilities\",\"id\":1}\r\n");
	g_assert_cmpstr(l, ==, "{\"return\": {}, \"id\": 1}\r");
	g_free(l);
	l = qmp(fd, "{ \"execute\": \"query-chardev\", \"id\": 2 }\r\n");
	g_assert_cmpstr(l, ==, "{\"return\": [], \"id\": 2}\r");
	g_free(l);
	l = qmp(fd, "{\"execute\":\"query-vnc\",\"id\":3}\r\n");
	g_assert_cmpstr(l, ==, "{\"return\": {\"enabled\": false}, \"id\": 3}\r");
	g_free(l);
	l = qmp(fd, "{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"x\"},\"id\":4}\r\n");
	g_assert_nonnull(strstr(l, "CommandNotFound"));
	g_assert_nonnull(strstr(l, "\"id\": 4"));
	g_free(l);
	close(fd);
	/* libxenstat's socket answers too. */
	fd = qmp_connect(stat_path);
	l = qmp_line(fd);
	g_free(l);
	l = qmp(fd, "{\"execute\":\"query-blockstats\",\"id\":\"x\"}\r\n");
	g_assert_cmpstr(l, ==, "{\"return\": [], \"id\": \"x\"}\r");
	g_free(l);
	close(fd);
	/* libxl stops device models with SIGHUP. */
	kill(pid, SIGHUP);
	g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 0);
	g_assert_cmpint(access(qmp_path, F_OK), !=, 0);

	/* It also goes away with its guest. */
	g_assert_true(g_spawn_async(NULL, (char **)argv, e.envp,
				    G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
				    &pid, &err));
	g_assert_true(hv_wait_value(s->hv, "/local/domain/0/device-model/7/state", "running",
				    SIM_HANG_MS));
	hv_domain_destroy(s->hv, 7);
	g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 0);

	rmdir(dir);
	g_free(dir);
	g_free(qmp_path);
	g_free(stat_path);
	g_free(cd1);
	g_free(cd2);
	g_free(script);
	sim_free(s);
	env_clear(&e);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	signal(SIGPIPE, SIG_IGN);
	g_test_add_func("/xen/scripts/attach-list-detach", test_attach_list_detach);
	g_test_add_func("/xen/scripts/attach-refused", test_attach_refused);
	g_test_add_func("/xen/scripts/attach-xen-9pfsd", test_attach_xen_9pfsd);
	g_test_add_func("/xen/scripts/device-model", test_device_model);
	return g_test_run();
}
