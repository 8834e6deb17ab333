// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * x9p-backend --record on the simulated hypervisor, and x9p-replay
 * (tests/replay) on what it wrote: a session recorded, replayed into a
 * match; the same replayed against a worker that changes one reply field
 * (attack 14), which must be told; a hostile frontend's fault replayed
 * into the same fault; redaction; rotation; a seed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "record/record-read.h"
#include "sim.h"

struct fx {
	struct sim *s;
	struct fe *fe;
	struct p9c *c;
	char *top, *dir, *recdir, *rec;
};

static const char *build(void)
{
	const char *b = g_getenv("X9P_BUILD");

	return b && *b ? b : "build";
}

/* Starts the daemon recording into x->recdir with extra options; the
 * export starts as a copy of seed when given. */
static void fx_start(struct fx *x, const char *seed, const char *const *opts, bool raw_fe)
{
	struct sim_dev d = { .kind = "9pfs", .domid = 5, .devid = 0, .secmodel = "none" };
	const char *args[8] = { 0 };
	unsigned n = 0;

	x->top = g_dir_make_tmp("x9p-record-XXXXXX", NULL);
	x->dir = g_build_filename(x->top, "export", NULL);
	x->recdir = g_build_filename(x->top, "rec", NULL);
	x->rec = g_build_filename(x->recdir, "dom5-9pfs-0.x9prec", NULL);
	g_assert_cmpint(g_mkdir(x->recdir, 0700), ==, 0);
	if (seed) {
		char *cmd = g_strdup_printf("cp -a '%s' '%s'", seed, x->dir);

		g_assert_cmpint(system(cmd), ==, 0);
		g_free(cmd);
	} else {
		g_assert_cmpint(g_mkdir(x->dir, 0755), ==, 0);
	}
	args[n++] = g_strdup_printf("--record=%s", x->recdir);
	for (; opts && *opts; opts++)
		args[n++] = g_strdup(*opts);
	x->s = sim_new();
	g_assert_true(sim_backend_start(x->s, args));
	for (unsigned i = 0; i < n; i++)
		g_free((char *)args[i]);
	hv_domain_create(x->s->hv, 5, "guest");
	d.path = x->dir;
	sim_add_device(x->s, &d);
	if (raw_fe) {
		struct fe_opts o = { .kind = FE_LINUX, .domid = 5, .devid = 0, .raw = true };

		x->fe = sim_frontend_with(x->s, &o);
		g_assert_nonnull(x->fe);
		return;
	}
	x->fe = sim_frontend(x->s, FE_LINUX, 5, 0);
	g_assert_nonnull(x->fe);
	x->c = sim_client(x->fe, "9P2000.L", 1);
	g_assert_nonnull(x->c);
	p9c_set_timeout(x->c, SIM_HANG_MS);
}

/* Ends the recording the way an operator would: the daemon stops. */
static void fx_stop_daemon(struct fx *x)
{
	if (x->c)
		p9c_free(x->c);
	x->c = NULL;
	g_assert_cmpint(sim_backend_stop(x->s, SIGTERM), ==, 0);
}

static void fx_free(struct fx *x)
{
	char *cmd = g_strdup_printf("rm -rf '%s'", x->top);

	if (x->c)
		p9c_free(x->c);
	fe_free(x->fe);
	sim_free(x->s);
	g_assert_cmpint(system(cmd), ==, 0);
	g_free(cmd);
	g_free(x->top);
	g_free(x->dir);
	g_free(x->recdir);
	g_free(x->rec);
}

/* Runs x9p-replay with args; its exit status, its output in *out. */
static int replay(const char *const *args, const char *attack, char **out)
{
	GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
	char **env = g_get_environ();
	char *err = NULL;
	int status;

	g_ptr_array_add(argv, g_build_filename(build(), "tests", "replay", "x9p-replay", NULL));
	for (; *args; args++)
		g_ptr_array_add(argv, g_strdup(*args));
	g_ptr_array_add(argv, NULL);
	if (attack) {
		char *w = g_build_filename(build(), "tests", "x9p-worker-attack", NULL);

		env = g_environ_setenv(env, "X9P_WORKER", w, TRUE);
		env = g_environ_setenv(env, "X9P_WORKER_ATTACK", attack, TRUE);
		g_free(w);
	}
	g_assert_true(g_spawn_sync(NULL, (char **)argv->pdata, env, 0, NULL, NULL, out, &err,
				   &status, NULL));
	if (g_test_verbose())
		g_printerr("%s%s", *out, err);
	{
		char *both = g_strconcat(*out, err, NULL);

		g_free(*out);
		*out = both;
	}
	g_free(err);
	g_strfreev(env);
	g_ptr_array_unref(argv);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* A bit of everything a Linux client does. */
static void workload(struct fx *x, const char *name, const char *data)
{
	struct p9c *c = x->c;
	uint32_t d = 100, f = 101, g = 102, n;
	struct p9_getattr ga;
	struct p9_statfs sf;
	struct p9_qid q;
	char buf[4096], *big = g_malloc(200000);
	uint32_t iounit;

	memset(big, 'b', 200000);
	g_assert_cmpint(p9c_mkdir(c, 1, "dir", 0755, 0, &q), ==, 0);
	g_assert_cmpint(p9c_walk_path(c, 1, d, "dir", NULL), ==, 0);
	g_assert_cmpint(p9c_walk_path(c, d, f, "", NULL), ==, 0);
	g_assert_cmpint(p9c_lcreate(c, f, name, 0102, 0644, 0, &q, &iounit), ==, 0);
	g_assert_cmpint(p9c_write(c, f, 0, data, (uint32_t)strlen(data), &n), ==, 0);
	for (uint32_t off = 0; off < 200000; off += n)
		g_assert_cmpint(p9c_write(c, f, 4096 + off, big + off,
					  MIN(200000 - off, p9c_msize(c) - 64), &n), ==, 0);
	g_assert_cmpint(p9c_read(c, f, 0, sizeof(buf), buf, &n), ==, 0);
	g_assert_cmpint(p9c_getattr(c, f, 0x3fff, &ga), ==, 0);
	g_assert_cmpint(p9c_fsync(c, f, 0), ==, 0);
	g_assert_cmpint(p9c_clunk(c, f), ==, 0);
	g_assert_cmpint(p9c_symlink(c, d, "link", name, 0, &q), ==, 0);
	g_assert_cmpint(p9c_walk_path(c, d, g, "link", NULL), ==, 0);
	g_assert_cmpint(p9c_readlink(c, g, buf, sizeof(buf)), >=, 0);
	g_assert_cmpint(p9c_clunk(c, g), ==, 0);
	g_assert_cmpint(p9c_walk_path(c, d, g, "nothing-here", NULL), ==, -ENOENT);
	g_assert_cmpint(p9c_renameat(c, d, "link", d, "link2"), ==, 0);
	g_assert_cmpint(p9c_walk_path(c, d, g, "", NULL), ==, 0);
	g_assert_cmpint(p9c_lopen(c, g, 0200000, &q, &iounit), ==, 0);
	g_assert_cmpint(p9c_readdir(c, g, 0, 4096, buf, &n), ==, 0);
	g_assert_cmpint(p9c_clunk(c, g), ==, 0);
	g_assert_cmpint(p9c_statfs(c, d, &sf), ==, 0);
	g_assert_cmpint(p9c_getattr(c, 1, 0x3fff, &ga), ==, 0);
	g_assert_cmpint(p9c_unlinkat(c, d, "link2", 0), ==, 0);
	g_assert_cmpint(p9c_clunk(c, d), ==, 0);
	g_free(big);
}

static void test_replay_matches(void)
{
	struct fx x = { 0 };
	char *trace = g_strdup_printf("%s/x9p-record-trace-%d", g_get_tmp_dir(), (int)getpid());
	char *targ = g_strdup_printf("--trace=%s", trace), *text = NULL;
	char *out = NULL;
	struct stat st;

	/* With --trace too: CONFIG carries the journal's, the recording's and
	 * the trace's descriptors, each where the worker looks for it. */
	fx_start(&x, NULL, (const char *const[]){ targ, NULL }, false);
	workload(&x, "file", "hello, recording");
	fx_stop_daemon(&x);
	g_assert_true(g_file_get_contents(trace, &text, NULL, NULL));
	g_assert_nonnull(strstr(text, " T dom5/9pfs/0 "));
	g_free(text);
	g_unlink(trace);
	g_free(trace);
	g_free(targ);
	g_assert_cmpint(stat(x.rec, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 0777, ==, 0600);
	/* The replay matches ... */
	g_assert_cmpint(replay((const char *const[]){ x.rec, NULL }, NULL, &out), ==, 0);
	g_assert_nonnull(strstr(out, "all matched"));
	g_free(out);
	/* ... and tells one changed field of one kind of reply. */
	g_assert_cmpint(replay((const char *const[]){ x.rec, NULL }, "14", &out), ==, 1);
	g_assert_nonnull(strstr(out, "divergence"));
	g_assert_nonnull(strstr(out, "mode: recorded"));
	g_assert_nonnull(strstr(out, "Tgetattr"));
	g_free(out);
	/* The listing shows the session. */
	g_assert_cmpint(replay((const char *const[]){ "--dump", x.rec, NULL }, NULL, &out), ==, 0);
	g_assert_nonnull(strstr(out, "WORKER"));
	g_assert_nonnull(strstr(out, "Tlcreate"));
	g_assert_nonnull(strstr(out, "name \"file\""));
	g_assert_nonnull(strstr(out, "END"));
	g_free(out);
	fx_free(&x);
}

/* A recording that does not parse is refused with where and why. */
static void test_replay_refuses_garbage(void)
{
	char *dir = g_dir_make_tmp("x9p-record-XXXXXX", NULL);
	char *p = g_build_filename(dir, "bad.x9prec", NULL);
	char *out = NULL;
	uint8_t bad[64] = "x9p-rec\n\1";

	bad[32] = 200;               /* a record longer than the file */
	g_assert_true(g_file_set_contents(p, (const char *)bad, sizeof(bad), NULL));
	g_assert_cmpint(replay((const char *const[]){ p, NULL }, NULL, &out), ==, 2);
	g_assert_nonnull(strstr(out, "offset 32"));
	g_free(out);
	g_unlink(p);
	g_rmdir(dir);
	g_free(p);
	g_free(dir);
}

static bool contains(const char *path, const char *needle)
{
	char *text = NULL;
	gsize len = 0;
	bool found;

	g_assert_true(g_file_get_contents(path, &text, &len, NULL));
	found = memmem(text, len, needle, strlen(needle)) != NULL;
	g_free(text);
	return found;
}

static void test_redact(void)
{
	struct fx x = { 0 };
	char *out = NULL;

	fx_start(&x, NULL, (const char *const[]){ "--record-redact", NULL }, false);
	workload(&x, "secret-name", "secret-data");
	fx_stop_daemon(&x);
	g_assert_false(contains(x.rec, "secret-name"));
	g_assert_false(contains(x.rec, "secret-data"));
	g_assert_true(contains(x.rec, "9P2000.L"));
	g_assert_cmpint(replay((const char *const[]){ "--dump", x.rec, NULL }, NULL, &out), ==, 0);
	g_assert_nonnull(strstr(out, "redacted"));
	/* Same length, "." stays. */
	g_assert_nonnull(strstr(out, "Tlcreate"));
	g_assert_null(strstr(out, "secret"));
	g_free(out);
	g_assert_cmpint(replay((const char *const[]){ x.rec, NULL }, NULL, &out), ==, 2);
	g_assert_nonnull(strstr(out, "redacted"));
	g_free(out);
	fx_free(&x);
}

static void test_rotation(void)
{
	struct fx x = { 0 };
	char *other, *out = NULL;
	struct x9p_rec_trace *a, *b;
	struct stat st;

	/* 2 MiB in all: two parts of 1 MiB at most. */
	fx_start(&x, NULL, (const char *const[]){ "--record-size=2", NULL }, false);
	for (int i = 0; i < 14; i++) {
		char *name = g_strdup_printf("file%d", i);

		workload(&x, name, "rotate");
		{
			uint32_t d = 100;

			g_assert_cmpint(p9c_walk_path(x.c, 1, d, "dir", NULL), ==, 0);
			g_assert_cmpint(p9c_unlinkat(x.c, d, name, 0), ==, 0);
			g_assert_cmpint(p9c_clunk(x.c, d), ==, 0);
		}
		g_assert_cmpint(p9c_unlinkat(x.c, 1, "dir", P9_AT_REMOVEDIR), ==, 0);
		g_free(name);
	}
	fx_stop_daemon(&x);
	other = g_strdup_printf("%s/dom5-9pfs-0.1.x9prec", x.recdir);
	g_assert_cmpint(stat(x.rec, &st), ==, 0);
	g_assert_cmpint(st.st_size, <=, 1 << 20);
	g_assert_cmpint(stat(other, &st), ==, 0);
	g_assert_cmpint(st.st_size, <=, 1 << 20);
	a = x9p_rec_load(x.rec, NULL);
	b = x9p_rec_load(other, NULL);
	g_assert_nonnull(a);
	g_assert_nonnull(b);
	/* Both later parts start with the session's set-up again. */
	g_assert_cmpuint(MAX(a->part, b->part), >=, 2);
	g_assert_cmpuint(g_array_index(a->entries, struct x9p_rec_entry, 0).type, ==, X9P_REC_WORKER);
	g_assert_cmpuint(g_array_index(b->entries, struct x9p_rec_entry, 0).type, ==, X9P_REC_WORKER);
	g_assert_cmpuint(g_array_index(b->entries, struct x9p_rec_entry, 1).type, ==, X9P_REC_RING);
	g_assert_cmpint(replay((const char *const[]){ a->part ? x.rec : other, NULL }, NULL, &out),
			==, 2);
	g_assert_nonnull(strstr(out, "cannot be replayed"));
	g_free(out);
	x9p_rec_trace_free(a);
	x9p_rec_trace_free(b);
	g_free(other);
	fx_free(&x);
}

static void test_seed(void)
{
	struct fx x = { 0 };
	char *seed = g_dir_make_tmp("x9p-seed-XXXXXX", NULL);
	char *file = g_build_filename(seed, "given", NULL);
	char *out = NULL, buf[64];
	uint32_t f, n;

	g_assert_true(g_file_set_contents(file, "was there before", -1, NULL));
	g_assert_cmpint(chmod(seed, 0755), ==, 0);
	fx_start(&x, seed, NULL, false);
	f = 100;
	g_assert_cmpint(p9c_walk_path(x.c, 1, f, "given", NULL), ==, 0);
	g_assert_cmpint(p9c_lopen(x.c, f, 0, NULL, NULL), ==, 0);
	g_assert_cmpint(p9c_read(x.c, f, 0, sizeof(buf), buf, &n), ==, 0);
	g_assert_cmpuint(n, ==, 16);
	fx_stop_daemon(&x);
	/* Without the seed the file is not there to read. */
	g_assert_cmpint(replay((const char *const[]){ x.rec, NULL }, NULL, &out), ==, 1);
	g_assert_nonnull(strstr(out, "Rlerror"));
	g_free(out);
	g_assert_cmpint(replay((const char *const[]){ "--seed", seed, x.rec, NULL }, NULL, &out),
			==, 0);
	g_free(out);
	g_assert_cmpint(replay((const char *const[]){ x.rec, NULL }, NULL, &out), ==, 0);
	g_assert_nonnull(strstr(out, "all matched"));
	g_free(out);
	fx_free(&x);
	g_unlink(file);
	g_rmdir(seed);
	g_free(file);
	g_free(seed);
}

/* Raw frontend helpers: a frame at the producer index, published. */
static void raw_send(struct fx *x, unsigned ring, const uint8_t *f, uint32_t len, uint32_t publish)
{
	struct fe_ring *r = fe_ring(x->fe, ring);
	uint32_t prod = fe_load(r->intf, FE_OUT_PROD);

	for (uint32_t i = 0; i < len; i++)
		r->data[r->size + ((prod + i) & (r->size - 1))] = f[i];
	fe_store(r->intf, FE_OUT_PROD, prod + publish);
	fe_kick(x->fe, ring);
}

/* Waits for a whole reply on ring 0 and takes it. */
static void raw_reply(struct fx *x)
{
	struct fe_ring *r = fe_ring(x->fe, 0);
	gint64 end = g_get_monotonic_time() + SIM_HANG_MS * G_TIME_SPAN_MILLISECOND;

	for (;;) {
		uint32_t cons = fe_load(r->intf, FE_IN_CONS), prod = fe_load(r->intf, FE_IN_PROD);
		uint8_t hdr[4];

		if (prod - cons >= 4) {
			for (int i = 0; i < 4; i++)
				hdr[i] = r->data[(cons + (uint32_t)i) & (r->size - 1)];
			if (prod - cons >= (uint32_t)(hdr[0] | hdr[1] << 8 | hdr[2] << 16)) {
				fe_store(r->intf, FE_IN_CONS, prod);
				return;
			}
		}
		g_assert_cmpint(g_get_monotonic_time(), <, end);
		fe_wait_event(x->fe, 0, 50);
	}
}

/* The hostile frontends of the corpus: a real Tversion first, then one
 * way of breaking ring 0. */
enum hostile { H_SIZE_ABOVE_RING, H_SIZE_BELOW_HEADER, H_SIZE_ABOVE_MSIZE, H_PROD_AHEAD,
	       H_CONS_AHEAD, H_N };
static const char *const hostile_names[H_N] = {
	"hostile-size-above-ring", "hostile-size-below-header", "hostile-size-above-msize",
	"hostile-prod-ahead", "hostile-cons-ahead",
};
static const char *const hostile_fault[H_N] = {
	"larger than the ring", "smaller than a 9P header", "larger than msize",
	"bytes ahead of the consumer", "ahead of the producer",
};

static void hostile_session(struct fx *x, enum hostile h)
{
	struct fe_ring *r = fe_ring(x->fe, 0);
	uint8_t f[64];
	struct p9_msg m = { .type = P9_TVERSION, .tag = P9_NOTAG };
	int len;
	uint32_t v;

	m.u.version.msize = 8192;
	m.u.version.version = p9_str_c("9P2000.L");
	len = p9_encode(f, sizeof(f), P9_DIALECT_2000L, &m);
	raw_send(x, 0, f, (uint32_t)len, (uint32_t)len);
	raw_reply(x);
	memset(f, 0, sizeof(f));
	f[4] = P9_TCLUNK;
	switch (h) {
	case H_SIZE_ABOVE_RING:
		v = r->size + 1;
		break;
	case H_SIZE_BELOW_HEADER:
		v = 3;
		break;
	case H_SIZE_ABOVE_MSIZE:
		v = 8193;
		break;
	default:
		v = 11;             /* a whole Tclunk of fid 0 */
		break;
	}
	memcpy(f, &v, 4);
	if (h == H_PROD_AHEAD) {
		raw_send(x, 0, f, 11, r->size + 100);
	} else if (h == H_CONS_AHEAD) {
		fe_store(r->intf, FE_IN_CONS, fe_load(r->intf, FE_IN_PROD) + 4096);
		raw_send(x, 0, f, 11, 11);
	} else {
		raw_send(x, 0, f, P9_HDR_SIZE, P9_HDR_SIZE);
	}
	g_assert_true(sim_wait_be_closing(x->s, "9pfs", 5, 0));
}

/*
 * Each hostile frontend recorded and replayed into the same fault: the
 * replay breaks the ring the way the recording did.  With
 * X9P_HOSTILE_CORPUS=DIR the recordings are kept there, xz-compressed
 * (tests/replay/record-corpus.sh).
 */
static void test_hostile_corpus(void)
{
	const char *keep = g_getenv("X9P_HOSTILE_CORPUS");

	for (enum hostile h = 0; h < H_N; h++) {
		struct fx x = { 0 };
		char *out = NULL;

		fx_start(&x, NULL, NULL, true);
		hostile_session(&x, h);
		fx_stop_daemon(&x);
		g_assert_cmpint(replay((const char *const[]){ "--dump", x.rec, NULL }, NULL, &out), ==, 0);
		if (!strstr(out, hostile_fault[h]))
			g_error("%s: the recording does not say '%s':\n%s", hostile_names[h],
				hostile_fault[h], out);
		g_free(out);
		g_assert_cmpint(replay((const char *const[]){ x.rec, NULL }, NULL, &out), ==, 0);
		g_assert_nonnull(strstr(out, "all matched"));
		g_free(out);
		if (keep) {
			char *cmd = g_strdup_printf("xz -9 -c '%s' >'%s/%s.x9prec.xz'", x.rec, keep,
						    hostile_names[h]);

			g_assert_cmpint(system(cmd), ==, 0);
			g_free(cmd);
		}
		fx_free(&x);
	}
}

/*
 * A guest naming fids it never made: every handler must answer ENOENT and
 * go on.  (A server once freed such a request with its error reply and
 * then read it: a segmentation fault that took every guest's device with
 * it.)  Replayed like the others; kept with X9P_HOSTILE_CORPUS.
 */
static void test_unknown_fids(void)
{
	const char *keep = g_getenv("X9P_HOSTILE_CORPUS");
	struct fx x = { 0 };
	struct p9_getattr ga;
	struct p9_lock lk = { .type = 0, .start = 0, .length = 0, .proc_id = 1,
			      .client_id = { "c", 1 } };
	uint8_t status;
	char buf[128], *out = NULL;
	uint32_t n;

	fx_start(&x, NULL, NULL, false);
	g_assert_cmpint(p9c_read(x.c, 77, 0, 100, buf, &n), ==, -ENOENT);
	g_assert_cmpint(p9c_readdir(x.c, 77, 0, 100, buf, &n), ==, -ENOENT);
	g_assert_cmpint(p9c_lock(x.c, 77, &lk, &status), ==, -ENOENT);
	g_assert_cmpint(p9c_rename(x.c, 1, 77, "x"), <, 0);
	g_assert_cmpint(p9c_getattr(x.c, 1, 0x3fff, &ga), ==, 0);
	fx_stop_daemon(&x);
	g_assert_cmpint(replay((const char *const[]){ x.rec, NULL }, NULL, &out), ==, 0);
	g_assert_nonnull(strstr(out, "all matched"));
	g_free(out);
	if (keep) {
		char *cmd = g_strdup_printf("xz -9 -c '%s' >'%s/hostile-unknown-fids.x9prec.xz'",
					    x.rec, keep);

		g_assert_cmpint(system(cmd), ==, 0);
		g_free(cmd);
	}
	fx_free(&x);
}

/* A guest that reconnects cannot wipe what it did: the previous
 * connection's recording is kept as .prev, and the new one replays too. */
static void test_reconnect_keeps(void)
{
	struct fx x = { 0 };
	struct p9_getattr ga;
	struct p9_qid q;
	char *prev, *out = NULL;

	fx_start(&x, NULL, NULL, false);
	g_assert_cmpint(p9c_mkdir(x.c, 1, "before-reconnect", 0755, 0, &q), ==, 0);
	p9c_free(x.c);
	x.c = NULL;
	fe_close(x.fe);
	g_assert_true(fe_wait_state(x.fe, 6, SIM_HANG_MS));
	fe_reconnect(x.fe);
	g_assert_true(fe_wait_state(x.fe, 4, SIM_HANG_MS));
	x.c = sim_client(x.fe, "9P2000.L", 1);
	g_assert_nonnull(x.c);
	g_assert_cmpint(p9c_getattr(x.c, 1, 0x3fff, &ga), ==, 0);
	fx_stop_daemon(&x);
	prev = g_build_filename(x.recdir, "dom5-9pfs-0.prev.x9prec", NULL);
	g_assert_cmpint(replay((const char *const[]){ "--dump", prev, NULL }, NULL, &out), ==, 0);
	g_assert_nonnull(strstr(out, "name \"before-reconnect\""));
	g_free(out);
	g_assert_cmpint(replay((const char *const[]){ "--dump", x.rec, NULL }, NULL, &out), ==, 0);
	g_assert_null(strstr(out, "before-reconnect"));
	g_assert_nonnull(strstr(out, "Tgetattr"));
	g_free(out);
	g_free(prev);
	fx_free(&x);
}

/* A recording directory others may write to is refused at start; a file
 * planted there as a second link to another is not written through, and
 * the device is served all the same. */
static void test_record_dir_guarded(void)
{
	char *top = g_dir_make_tmp("x9p-record-XXXXXX", NULL);
	char *rec = g_build_filename(top, "rec", NULL), *exp = g_build_filename(top, "export", NULL);
	char *victim = g_build_filename(top, "victim", NULL);
	char *planted = g_build_filename(rec, "dom5-9pfs-0.x9prec", NULL);
	char *arg = g_strdup_printf("--record=%s", rec), *text = NULL, *cmd;
	struct sim_dev d = { .kind = "9pfs", .domid = 5, .devid = 0, .secmodel = "none",
			     .path = exp };
	struct p9_getattr ga;
	struct p9c *c;
	struct fe *fe;
	struct sim *s;

	g_assert_cmpint(g_mkdir(rec, 01777), ==, 0);
	g_assert_cmpint(chmod(rec, 01777), ==, 0);
	g_assert_cmpint(g_mkdir(exp, 0755), ==, 0);
	s = sim_new();
	g_assert_false(sim_backend_start(s, (const char *const[]){ arg, NULL }));
	sim_free(s);

	g_assert_cmpint(chmod(rec, 0700), ==, 0);
	g_assert_true(g_file_set_contents(victim, "keep me", -1, NULL));
	g_assert_cmpint(link(victim, planted), ==, 0);
	s = sim_new();
	g_assert_true(sim_backend_start(s, (const char *const[]){ arg, NULL }));
	hv_domain_create(s->hv, 5, "guest");
	sim_add_device(s, &d);
	fe = sim_frontend(s, FE_LINUX, 5, 0);
	g_assert_nonnull(fe);
	c = sim_client(fe, "9P2000.L", 1);
	g_assert_nonnull(c);
	g_assert_cmpint(p9c_getattr(c, 1, 0x3fff, &ga), ==, 0);
	p9c_free(c);
	g_assert_true(g_file_get_contents(victim, &text, NULL, NULL));
	g_assert_cmpstr(text, ==, "keep me");
	fe_free(fe);
	sim_free(s);
	cmd = g_strdup_printf("rm -rf '%s'", top);
	g_assert_cmpint(system(cmd), ==, 0);
	g_free(cmd);
	g_free(text);
	g_free(arg);
	g_free(planted);
	g_free(victim);
	g_free(exp);
	g_free(rec);
	g_free(top);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/xen/record/replay-matches", test_replay_matches);
	g_test_add_func("/xen/record/replay-refuses-garbage", test_replay_refuses_garbage);
	g_test_add_func("/xen/record/redact", test_redact);
	g_test_add_func("/xen/record/rotation", test_rotation);
	g_test_add_func("/xen/record/seed", test_seed);
	g_test_add_func("/xen/record/hostile-corpus", test_hostile_corpus);
	g_test_add_func("/xen/record/unknown-fids", test_unknown_fids);
	g_test_add_func("/xen/record/record-dir-guarded", test_record_dir_guarded);
	g_test_add_func("/xen/record/reconnect-keeps", test_reconnect_keeps);
	return g_test_run();
}
