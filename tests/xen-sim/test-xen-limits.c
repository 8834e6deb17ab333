// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libxl 4.19's xen_9pfs devices on the real x9p-backend (simulated Xen,
 * real exports through x9p-helper): the xen-9pfsd spawn protocol, and the
 * enforced max-open-files, max-files, max-space and auto-delete keys.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim.h"

static const char *const synth_args[] = { "--synthetic", NULL };
static const char *const no_args[] = { NULL };

#define STATE "/local/domain/0/libxl/xen-9pfs/state"
#define PID "/local/domain/0/libxl/xen-9pfs/pid"

static void test_spawn_protocol(void)
{
	struct sim *s = sim_new();
	struct sim a = { 0 };
	char *v, *pid;

	g_assert_true(sim_backend_start(s, synth_args));
	v = hv_read(s->hv, 0, STATE);
	g_assert_cmpstr(v, ==, "running");
	g_free(v);
	pid = g_strdup_printf("%d", (int)s->be_pid);
	v = hv_read(s->hv, 0, PID);
	g_assert_cmpstr(v, ==, pid);
	g_free(v);

	/* A second daemon leaves the kind to the first one. */
	a.hv = s->hv;
	g_assert_true(sim_backend_start(&a, synth_args));
	v = hv_read(s->hv, 0, PID);
	g_assert_cmpstr(v, ==, pid);
	g_free(v);
	g_assert_cmpint(sim_backend_stop(&a, SIGTERM), ==, 0);
	v = hv_read(s->hv, 0, STATE);
	g_assert_cmpstr(v, ==, "running");
	g_free(v);

	/* At exit the claim goes, so libxl would start a daemon again. */
	g_assert_cmpint(sim_backend_stop(s, SIGTERM), ==, 0);
	g_assert_false(hv_exists(s->hv, STATE));

	/* A claim left by a dead daemon is taken over. */
	g_assert_cmpint(hv_write(s->hv, 0, STATE, "running"), ==, 0);
	g_assert_cmpint(hv_write(s->hv, 0, PID, "999999"), ==, 0);
	g_assert_true(sim_backend_start(s, synth_args));
	g_free(pid);
	pid = g_strdup_printf("%d", (int)s->be_pid);
	v = hv_read(s->hv, 0, PID);
	g_assert_cmpstr(v, ==, pid);
	g_free(v);
	g_free(pid);
	sim_free(s);
}

static struct fe *xen9pfsd_guest(struct sim *s, const char *path, const char *const *limits)
{
	struct sim_dev d = { .kind = "xen_9pfs", .domid = 5, .devid = 0, .path = path,
			     .secmodel = "none", .tag = "Xen", .extra = limits };

	hv_domain_create(s->hv, 5, "guest5");
	sim_add_device(s, &d);
	return sim_frontend(s, FE_LINUX, 5, 0);
}

static void test_max_open_files(void)
{
	const char *const lim[] = { "max-space", "0", "max-files", "0", "max-open-files", "2",
				    "auto-delete", "0", NULL };
	struct sim *s = sim_new();
	struct fe *fe;
	struct p9c *c;

	g_assert_true(sim_backend_start(s, synth_args));
	fe = xen9pfsd_guest(s, "/var/log/xen/guests/g5", lim);
	g_assert_nonnull(fe);
	c = sim_client(fe, "9P2000.L", 1);
	g_assert_nonnull(c);
	for (uint32_t f = 2; f <= 4; f++)
		g_assert_cmpint(p9c_walk_path(c, 1, f, "file", NULL), ==, 0);
	g_assert_cmpint(p9c_lopen(c, 2, O_RDONLY, NULL, NULL), ==, 0);
	g_assert_cmpint(p9c_lopen(c, 3, O_RDONLY, NULL, NULL), ==, 0);
	g_assert_cmpint(p9c_lopen(c, 4, O_RDONLY, NULL, NULL), ==, -EMFILE);
	g_assert_cmpint(p9c_clunk(c, 2), ==, 0);
	g_assert_cmpint(p9c_lopen(c, 4, O_RDONLY, NULL, NULL), ==, 0);
	p9c_free(c);
	fe_free(fe);
	sim_free(s);
}

static int create(struct p9c *c, uint32_t dirfid, uint32_t fid, const char *name, int64_t mtime)
{
	struct p9_qid qid;
	uint32_t iounit;
	struct p9_setattr sa = { 0 };
	int err = p9c_walk_path(c, dirfid, fid, "", NULL);

	if (err)
		return err;
	err = p9c_lcreate(c, fid, name, O_RDWR | O_CREAT, 0644, 0, &qid, &iounit);
	if (err) {
		p9c_clunk(c, fid);
		return err;
	}
	if (mtime) {
		sa.valid = P9_SETATTR_MTIME | P9_SETATTR_MTIME_SET;
		sa.mtime_sec = (uint64_t)mtime;
		err = p9c_setattr(c, fid, &sa);
	}
	return err;
}

static char *export_dir(void)
{
	return g_dir_make_tmp("x9p-xen-export-XXXXXX", NULL);
}

static bool host_has(const char *dir, const char *name)
{
	char *p = g_build_filename(dir, name, NULL);
	bool r = access(p, F_OK) == 0;

	g_free(p);
	return r;
}

static void rm_tree(const char *dir)
{
	char *cmd = g_strdup_printf("rm -rf '%s'", dir);

	g_assert_cmpint(system(cmd), ==, 0);
	g_free(cmd);
}

/* A xen_9pfs guest with `limits` on a fresh host directory (or `sub` below
 * it), mounted as 9P2000.L with root fid 1. */
struct lim_fx {
	struct sim *s;
	char *dir, *path;
	struct fe *fe;
	struct p9c *c;
};

static void lim_start(struct lim_fx *x, const char *const *limits, const char *sub)
{
	x->s = sim_new();
	x->dir = export_dir();
	x->path = sub ? g_build_filename(x->dir, sub, NULL) : g_strdup(x->dir);
	g_assert_true(sim_backend_start(x->s, no_args));
	x->fe = xen9pfsd_guest(x->s, x->path, limits);
	g_assert_nonnull(x->fe);
	x->c = sim_client(x->fe, "9P2000.L", 1);
	g_assert_nonnull(x->c);
}

static void lim_stop(struct lim_fx *x)
{
	p9c_free(x->c);
	fe_free(x->fe);
	sim_free(x->s);
	rm_tree(x->dir);
	g_free(x->path);
	g_free(x->dir);
}

static void max_files(bool auto_delete)
{
	const char *const lim[] = { "max-space", "0", "max-files", "3", "max-open-files", "0",
				    "auto-delete", auto_delete ? "1" : "0", NULL };
	struct lim_fx x;
	struct p9c *c;
	const char *dir;

	lim_start(&x, lim, NULL);
	c = x.c;
	dir = x.dir;
	g_assert_cmpint(create(c, 1, 10, "a", 1000), ==, 0);
	g_assert_cmpint(create(c, 1, 11, "b", 3000), ==, 0);
	g_assert_cmpint(create(c, 1, 12, "c", 2000), ==, 0);
	if (!auto_delete) {
		g_assert_cmpint(create(c, 1, 13, "d", 0), ==, -EDQUOT);
		g_assert_false(host_has(dir, "d"));
		g_assert_cmpint(p9c_unlinkat(c, 1, "b", 0), ==, 0);
		g_assert_cmpint(create(c, 1, 13, "d", 0), ==, 0);
	} else {
		/* The oldest file by mtime makes room. */
		g_assert_cmpint(create(c, 1, 13, "d", 0), ==, 0);
		g_assert_false(host_has(dir, "a"));
		g_assert_true(host_has(dir, "b"));
		g_assert_true(host_has(dir, "c"));
		g_assert_cmpint(create(c, 1, 14, "e", 0), ==, 0);
		g_assert_false(host_has(dir, "c"));
	}
	g_assert_true(host_has(dir, "d"));
	lim_stop(&x);
}

static void test_max_files(void)
{
	max_files(false);
}

static void test_max_files_auto_delete(void)
{
	max_files(true);
}

static int write_file(struct p9c *c, uint32_t fid, const char *name, size_t len)
{
	uint8_t *buf = g_malloc0(64 * 1024);
	size_t off = 0;
	int err = create(c, 1, fid, name, 0);

	memset(buf, 'x', 64 * 1024);
	while (!err && off < len) {
		uint32_t n = 0, chunk = (uint32_t)MIN(len - off, 64 * 1024);

		err = p9c_write(c, fid, off, buf, chunk, &n);
		if (!err && n != chunk)
			err = -EIO;
		off += chunk;
	}
	g_free(buf);
	return err;
}

static void max_space(bool auto_delete)
{
	const char *const lim[] = { "max-space", "1", "max-files", "0", "max-open-files", "0",
				    "auto-delete", auto_delete ? "1" : "0", NULL };
	struct lim_fx x;
	struct p9c *c;
	const char *dir;

	lim_start(&x, lim, NULL);
	c = x.c;
	dir = x.dir;
	g_assert_cmpint(write_file(c, 10, "one", 700 * 1024), ==, 0);
	if (!auto_delete) {
		g_assert_cmpint(write_file(c, 11, "two", 700 * 1024), ==, -ENOSPC);
	} else {
		g_assert_cmpint(write_file(c, 11, "two", 700 * 1024), ==, 0);
		g_assert_false(host_has(dir, "one"));
		g_assert_true(host_has(dir, "two"));
	}
	lim_stop(&x);
}

static void test_max_space(void)
{
	max_space(false);
}

static void test_max_space_auto_delete(void)
{
	max_space(true);
}

static void test_creates_path(void)
{
	const char *const lim[] = { "max-space", "0", "max-files", "0", "max-open-files", "0",
				    "auto-delete", "0", NULL };
	struct lim_fx x;
	struct stat st;

	/* Like xen-9pfsd, the backend creates a missing export directory. */
	lim_start(&x, lim, "guests/g5");
	g_assert_cmpint(stat(x.path, &st), ==, 0);
	g_assert_true(S_ISDIR(st.st_mode));
	g_assert_cmpint(write_file(x.c, 10, "log", 1000), ==, 0);
	g_assert_true(host_has(x.path, "log"));
	lim_stop(&x);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	signal(SIGPIPE, SIG_IGN);
	g_test_add_func("/xen/limits/spawn-protocol", test_spawn_protocol);
	g_test_add_func("/xen/limits/max-open-files", test_max_open_files);
	g_test_add_func("/xen/limits/max-files", test_max_files);
	g_test_add_func("/xen/limits/max-files-auto-delete", test_max_files_auto_delete);
	g_test_add_func("/xen/limits/max-space", test_max_space);
	g_test_add_func("/xen/limits/max-space-auto-delete", test_max_space_auto_delete);
	g_test_add_func("/xen/limits/creates-path", test_creates_path);
	return g_test_run();
}
