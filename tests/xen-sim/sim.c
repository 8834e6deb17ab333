// SPDX-License-Identifier: GPL-2.0-or-later
/* Fixture of the simulated-Xen tests; see sim.h. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>

#include "sim.h"
#include "sim-proto.h"

extern char **environ;

static const char *build_dir(void)
{
	const char *b = g_getenv("X9P_BUILD");

	return b && *b ? b : "build";
}

struct sim *sim_new(void)
{
	struct sim *s = g_new0(struct sim, 1);

	s->hv = hv_new();
	s->state_dir = g_dir_make_tmp("x9p-sim-state-XXXXXX", NULL);
	g_assert_nonnull(s->state_dir);
	return s;
}

void sim_free(struct sim *s)
{
	char *cmd = g_strdup_printf("rm -rf '%s'", s->state_dir);

	if (s->be_pid > 0)
		g_assert_cmpint(sim_backend_stop(s, SIGTERM), ==, 0);
	hv_free(s->hv);
	g_assert_cmpint(system(cmd), ==, 0);
	g_free(cmd);
	g_free(s->state_dir);
	g_free(s);
}

pid_t sim_worker_pid(struct sim *s, const char *label)
{
	char *cmd = g_strdup_printf("pgrep -P %d -f '^x9p-backend: worker %s'", (int)s->be_pid,
				    label);
	char *out = NULL;
	int status = -1;
	pid_t p = 0;

	if (g_spawn_sync(NULL, (char *[]){ "sh", "-c", cmd, NULL }, NULL, G_SPAWN_SEARCH_PATH,
			 NULL, NULL, &out, NULL, &status, NULL) && status == 0)
		p = (pid_t)atoi(out);
	g_free(cmd);
	g_free(out);
	return p;
}

/* Whether `prog --help` names option opt. */
static bool knows_option(const char *prog, const char *opt)
{
	char *argv[] = { (char *)prog, (char *)"--help", NULL }, *out = NULL;
	bool yes;

	if (!g_spawn_sync(NULL, argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL,
			  NULL, NULL))
		return true;
	yes = strstr(out, opt) != NULL;
	g_free(out);
	return yes;
}

bool sim_backend_start(struct sim *s, const char *const *extra)
{
	char *prog = g_build_filename(build_dir(), "x9p-backend", NULL);
	char *libdir = g_build_filename(build_dir(), "tests", "xen-sim", "lib", NULL);
	char *abslib = g_canonicalize_filename(libdir, NULL);
	GPtrArray *args = g_ptr_array_new_with_free_func(g_free);
	char **env = g_get_environ();
	char buf[256];
	size_t got = 0;
	int pfd[2];
	bool ok;

	env = g_environ_setenv(env, SIM_ENV_SOCK, hv_sock_path(s->hv), TRUE);
	env = g_environ_setenv(env, "LD_LIBRARY_PATH", abslib, TRUE);
	{
		char *d = g_strdup_printf("%u", s->be_dom);

		env = g_environ_setenv(env, SIM_ENV_DOMID, d, TRUE);
		g_free(d);
	}
	g_assert(pipe(pfd) == 0);
	g_ptr_array_add(args, g_strdup(prog));
	g_ptr_array_add(args, g_strdup("--xen"));
	g_ptr_array_add(args, g_strdup_printf("--ready-fd=%d", pfd[1]));
	g_ptr_array_add(args, g_strdup_printf("--log-level=%s",
					      g_getenv("X9P_TEST_LOG") ? g_getenv("X9P_TEST_LOG") : "warning"));
	/* Before the extra arguments, which may name another.  Builds from
	 * before session journals (x9p-replay runs those too) lack it. */
	if (knows_option(prog, "--xen-state-dir"))
		g_ptr_array_add(args, g_strdup_printf("--xen-state-dir=%s", s->state_dir));
	for (; extra && *extra; extra++)
		g_ptr_array_add(args, g_strdup(*extra));
	g_ptr_array_add(args, NULL);
	s->be_pid = fork();
	if (s->be_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(pfd[0]);
		execve(prog, (char **)args->pdata, env);
		fprintf(stderr, "exec %s: %s\n", prog, strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
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
	if (!ok) {
		fprintf(stderr, "# x9p-backend --xen did not become ready\n");
		sim_backend_stop(s, SIGKILL);
	}
	g_ptr_array_free(args, TRUE);
	g_strfreev(env);
	g_free(prog);
	g_free(libdir);
	g_free(abslib);
	return ok;
}

int sim_backend_stop(struct sim *s, int sig)
{
	int st = 0;

	if (s->be_pid <= 0)
		return -1;
	kill(s->be_pid, sig);
	while (waitpid(s->be_pid, &st, 0) < 0 && errno == EINTR)
		;
	s->be_pid = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

bool sim_backend_alive(struct sim *s)
{
	return s->be_pid > 0 && waitpid(s->be_pid, NULL, WNOHANG) == 0;
}

char *sim_be_path(struct sim *s, const char *kind, unsigned domid, unsigned devid)
{
	return g_strdup_printf("/local/domain/%u/backend/%s/%u/%u", s->be_dom, kind, domid, devid);
}

char *sim_be_read(struct sim *s, const char *kind, unsigned domid, unsigned devid,
		  const char *key)
{
	char *be = sim_be_path(s, kind, domid, devid);
	char *p = g_strdup_printf("%s/%s", be, key);
	char *v = hv_read(s->hv, 0, p);

	g_free(be);
	g_free(p);
	return v;
}

bool sim_wait_be_state(struct sim *s, const char *kind, unsigned domid, unsigned devid,
		       int state)
{
	char *be = sim_be_path(s, kind, domid, devid);
	char *p = g_strdup_printf("%s/state", be);
	char *v = g_strdup_printf("%d", state);
	bool ok = hv_wait_value(s->hv, p, v, SIM_HANG_MS);

	g_free(be);
	g_free(p);
	g_free(v);
	return ok;
}

static bool closing_or_closed(struct hv *hv, void *arg)
{
	char *v = hv_read(hv, 0, arg);
	bool yes = v && (strcmp(v, "5") == 0 || strcmp(v, "6") == 0);

	g_free(v);
	return yes;
}

bool sim_wait_be_closing(struct sim *s, const char *kind, unsigned domid, unsigned devid)
{
	char *be = sim_be_path(s, kind, domid, devid);
	char *p = g_strdup_printf("%s/state", be);
	bool ok = hv_wait(s->hv, closing_or_closed, p, SIM_HANG_MS);

	g_free(be);
	g_free(p);
	return ok;
}

static void txw(struct hv *hv, uint32_t tx, const char *dir, const char *key, const char *val)
{
	char *p = g_strdup_printf("%s/%s", dir, key);

	g_assert_cmpint(hv_tx_write(hv, tx, p, val), ==, 0);
	g_free(p);
}

void sim_add_device(struct sim *s, const struct sim_dev *d)
{
	char *be = sim_be_path(s, d->kind, d->domid, d->devid);
	char *fe = g_strdup_printf("/local/domain/%u/device/9pfs/%u", d->domid, d->devid);
	char *fe_perms = g_strdup_printf("n%u r%u", d->domid, s->be_dom);
	char *be_perms = g_strdup_printf("n%u r%u", s->be_dom, d->domid);
	char *num;

	/* Directories first, with libxl's permissions; keys inherit them. */
	g_assert_cmpint(hv_mkdir(s->hv, 0, fe), ==, 0);
	g_assert_cmpint(hv_set_perms(s->hv, 0, fe, fe_perms), ==, 0);
	g_assert_cmpint(hv_mkdir(s->hv, 0, be), ==, 0);
	g_assert_cmpint(hv_set_perms(s->hv, 0, be, be_perms), ==, 0);
	for (;;) {
		uint32_t tx = hv_tx_start(s->hv, 0);
		int err;

		txw(s->hv, tx, fe, "backend", be);
		num = g_strdup_printf("%u", s->be_dom);
		txw(s->hv, tx, fe, "backend-id", num);
		g_free(num);
		txw(s->hv, tx, fe, "state", "1");
		txw(s->hv, tx, fe, "tag", d->tag ? d->tag : "share");
		txw(s->hv, tx, be, "frontend", fe);
		num = g_strdup_printf("%u", d->domid);
		txw(s->hv, tx, be, "frontend-id", num);
		g_free(num);
		txw(s->hv, tx, be, "online", "1");
		txw(s->hv, tx, be, "state", "1");
		if (d->path)
			txw(s->hv, tx, be, "path", d->path);
		if (d->secmodel)
			txw(s->hv, tx, be, "security_model", d->secmodel);
		for (const char *const *e = d->extra; e && e[0] && e[1]; e += 2)
			txw(s->hv, tx, be, e[0], e[1]);
		err = hv_tx_end(s->hv, tx, false);
		if (err == -EAGAIN)
			continue;
		g_assert_cmpint(err, ==, 0);
		break;
	}
	g_free(be);
	g_free(fe);
	g_free(fe_perms);
	g_free(be_perms);
}

bool sim_remove_device(struct sim *s, const char *kind, unsigned domid, unsigned devid)
{
	char *be = sim_be_path(s, kind, domid, devid);
	char *fe = g_strdup_printf("/local/domain/%u/device/9pfs/%u", domid, devid);
	char *st = g_strdup_printf("%s/state", be);
	bool closed;

	for (;;) {
		uint32_t tx = hv_tx_start(s->hv, 0);
		int err;

		txw(s->hv, tx, be, "online", "0");
		txw(s->hv, tx, be, "state", "5");
		err = hv_tx_end(s->hv, tx, false);
		if (err == -EAGAIN)
			continue;
		g_assert_cmpint(err, ==, 0);
		break;
	}
	closed = hv_wait_value(s->hv, st, "6", SIM_LIBXL_REMOVE_MS);
	hv_rm(s->hv, 0, be);
	hv_rm(s->hv, 0, fe);
	g_free(be);
	g_free(fe);
	g_free(st);
	return closed;
}

struct fe *sim_frontend(struct sim *s, enum fe_kind kind, unsigned domid, unsigned devid)
{
	struct fe_opts o = { .kind = kind, .domid = domid, .devid = devid };

	return sim_frontend_with(s, &o);
}

struct fe *sim_frontend_with(struct sim *s, const struct fe_opts *o)
{
	struct fe_opts oo = *o;
	unsigned domid = o->domid, devid = o->devid;
	struct fe *fe;

	oo.backend_domid = s->be_dom;
	fe = fe_new(s->hv, &oo);

	if (!fe_wait_state(fe, 4, SIM_HANG_MS)) {
		fprintf(stderr, "# frontend dom%u/%u did not connect (state %d, error %s)\n",
			domid, devid, fe_state(fe), fe_error(fe) ? fe_error(fe) : "none");
		fe_free(fe);
		return NULL;
	}
	return fe;
}

struct p9c *sim_client(struct fe *fe, const char *version, uint32_t root)
{
	int fd = fe_socket(fe);
	struct p9c *c;
	uint32_t msize = 0;
	char ver[32];
	struct p9_qid qid;
	int err;

	if (fd < 0)
		return NULL;
	c = p9c_new_fd(fd);
	p9c_set_timeout(c, SIM_HANG_MS);
	err = p9c_version(c, fe_msize(fe), version, &msize, ver, sizeof(ver));
	if (err || strcmp(ver, version) != 0) {
		fprintf(stderr, "# Tversion %s: %d (%s)\n", version, err, ver);
		p9c_free(c);
		return NULL;
	}
	err = p9c_attach(c, root, P9_NOFID, "root", "", 0, &qid);
	if (err) {
		fprintf(stderr, "# Tattach: %s\n", g_strerror(-err));
		p9c_free(c);
		return NULL;
	}
	return c;
}

struct fe *sim_guest(struct sim *s, enum fe_kind kind, unsigned domid)
{
	char *name = g_strdup_printf("guest%u", domid);
	struct sim_dev d = { .kind = "9pfs", .domid = domid, .devid = 0, .path = "/srv/share",
			     .secmodel = "none", .tag = "share" };

	hv_domain_create(s->hv, domid, name);
	g_free(name);
	sim_add_device(s, &d);
	return sim_frontend(s, kind, domid, 0);
}

bool sim_9p_works(struct fe *fe)
{
	/* Fids survive a Tversion on Xen devices: never reuse one. */
	static uint32_t next_fid = 1000;
	bool linux_fe = fe_nrings(fe) > 1;
	uint32_t root = next_fid++, f = next_fid++;
	struct p9c *c = sim_client(fe, linux_fe ? "9P2000.L" : "9P2000.u", root);
	char buf[64];
	uint32_t n = 0;
	bool ok;

	if (!c)
		return false;
	ok = p9c_walk_path(c, root, f, "file", NULL) == 0 &&
	     (linux_fe ? p9c_lopen(c, f, 0, NULL, NULL) : p9c_open(c, f, P9_OREAD, NULL, NULL)) == 0 &&
	     p9c_read(c, f, 0, sizeof(buf), buf, &n) == 0 && n == 13 &&
	     memcmp(buf, "hello, world\n", 13) == 0;
	ok = p9c_clunk(c, f) == 0 && ok;
	ok = p9c_clunk(c, root) == 0 && ok;
	p9c_free(c);
	return ok;
}
