// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * x9p-vhost --record (docs/trace-format.md, virtqueue bodies): what a
 * frontend does on the queue is in the recording as it did it, a queue it
 * breaks ends the recording with a fault, redaction hides names, and the
 * options are checked before anything starts.
 */
#include <sys/stat.h>

#include "record/record-read.h"
#include "vuf.h"

static char *rec_dir(void)
{
	char *d = g_dir_make_tmp("x9p-vq-rec-XXXXXX", NULL);

	g_assert_nonnull(d);
	g_assert_cmpint(chmod(d, 0700), ==, 0);
	return d;
}

/* The one recording in dir (the current part, never .1 or .prev). */
static struct x9p_rec_trace *load(const char *dir, char **name)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *e;
	struct x9p_rec_trace *t = NULL;

	g_assert_nonnull(d);
	while ((e = g_dir_read_name(d))) {
		char *p;
		GError *err = NULL;

		if (!g_str_has_suffix(e, ".x9prec") || strstr(e, ".1.x9prec") || strstr(e, ".prev."))
			continue;
		g_assert_null(t);
		p = g_build_filename(dir, e, NULL);
		t = x9p_rec_load(p, &err);
		g_assert_no_error(err);
		g_free(p);
		if (name)
			*name = g_strdup(e);
	}
	g_dir_close(d);
	g_assert_nonnull(t);
	return t;
}

static void rm_rf(char *dir)
{
	char *argv[] = { (char *)"rm", (char *)"-rf", dir, NULL };

	g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
	g_free(dir);
}

static const struct x9p_rec_entry *entry(const struct x9p_rec_trace *t, guint i)
{
	return &g_array_index(t->entries, struct x9p_rec_entry, i);
}

/* A session: each request recorded as sent, with its place and room,
 * each reply as the frontend got it, the queue's start, the end. */
static void t_session(void)
{
	char *dir = rec_dir(), *name = NULL;
	const char *args[] = { "--synthetic", "--tag=t", "--record", dir, NULL };
	struct x9p_rec_trace *t;
	struct vuf f;
	struct p9_msg m = { .type = P9_TGETATTR, .tag = 9 };
	uint8_t frame[64], *reply = NULL;
	int len, rlen;
	unsigned reqs = 0, replies = 0;
	const struct x9p_rec_entry *last_req = NULL, *getattr = NULL;
	uint16_t head = 0;

	vuf_start(&f, args, 64, 0);
	vuf_mount(&f, 65536);
	m.u.tgetattr.fid = 0;
	m.u.tgetattr.request_mask = P9_GETATTR_BASIC;
	len = p9_encode(frame, sizeof(frame), P9_DIALECT_2000L, &m);
	rlen = vuf_rpc_raw(&f, VUF_SPLIT, frame, (uint32_t)len, P9_HDR_SIZE, 4000, P9_HDR_SIZE,
			   &reply, &head);
	g_assert_cmpint(rlen, >, (int)P9_HDR_SIZE);
	vuf_stop(&f);

	t = load(dir, &name);
	g_assert_true(g_str_has_prefix(name, "vhost:"));
	g_assert_cmpuint(t->entries->len, >=, 8);
	g_assert_cmpuint(entry(t, 0)->type, ==, X9P_REC_WORKER);
	g_assert_nonnull(g_strstr_len((const char *)entry(t, 0)->data, entry(t, 0)->len,
				      "transport=vhost-user rings=1 "));
	g_assert_cmpuint(entry(t, 1)->type, ==, X9P_REC_RING);
	g_assert_cmpuint(entry(t, 1)->f[0], ==, 64);      /* the queue's size */
	g_assert_cmpuint(entry(t, 1)->f[1], ==, 0);       /* popping from 0 */
	for (guint i = 2; i < t->entries->len; i++) {
		const struct x9p_rec_entry *e = entry(t, i);

		if (e->type == X9P_REC_REQ) {
			reqs++;
			last_req = e;
			if (e->data[4] == P9_TGETATTR)
				getattr = e;
		} else if (e->type == X9P_REC_REPLY) {
			replies++;
			/* The reply to the request before it, on its chain. */
			g_assert_nonnull(last_req);
			g_assert_cmpmem(e->data + 5, 2, last_req->data + 5, 2);
			g_assert_cmpuint(e->f[0], ==, last_req->f[0] >> 16);
		}
	}
	g_assert_cmpuint(reqs, ==, 3);
	g_assert_cmpuint(replies, ==, 3);
	/* Tgetattr: its frame as sent, in two readable buffers; where it was
	 * popped (the third chain), its head, its room. */
	g_assert_nonnull(getattr);
	g_assert_cmpmem(getattr->data, getattr->len, frame, len);
	g_assert_cmpuint(getattr->f[0] & 0xffff, ==, 2);
	g_assert_cmpuint(getattr->f[0] >> 16, ==, head);
	g_assert_cmpuint(getattr->f[1], ==, 4000);
	g_assert_cmpmem(entry(t, t->entries->len - 2)->data, entry(t, t->entries->len - 2)->len,
			reply, rlen);
	g_assert_cmpuint(entry(t, t->entries->len - 1)->type, ==, X9P_REC_END);
	g_free(reply);
	g_free(name);
	x9p_rec_trace_free(t);
	rm_rf(dir);
}

/* A size field past the readable bytes breaks the queue: its header and
 * the fault are the recording's last records before the end. */
static void t_fault(void)
{
	char *dir = rec_dir();
	const char *args[] = { "--synthetic", "--record", dir, NULL };
	uint8_t bad[P9_HDR_SIZE] = { 0x00, 0x10, 0, 0, P9_TGETATTR, 1, 0 };
	struct vuf_seg s[2];
	struct x9p_rec_trace *t;
	struct vuf f;
	guint i, n;

	vuf_start(&f, args, 64, 0);
	vuf_mount(&f, 65536);
	s[0] = (struct vuf_seg){ vuf_alloc(&f, sizeof(bad)), sizeof(bad), false };
	s[1] = (struct vuf_seg){ vuf_alloc(&f, 4096), 4096, true };
	vuf_write_mem(&f, s[0].gpa, bad, sizeof(bad));
	vuf_chain(&f, s, 2, false);
	g_assert_true(vuf_wait_err(&f));
	vuf_stop(&f);

	t = load(dir, NULL);
	n = t->entries->len;
	for (i = 0; i < n && entry(t, i)->type != X9P_REC_FAULT; i++)
		;
	g_assert_cmpuint(i, <, n);
	g_assert_nonnull(g_strstr_len((const char *)entry(t, i)->data, entry(t, i)->len,
				      "size field out of bounds"));
	g_assert_cmpuint(entry(t, i - 1)->type, ==, X9P_REC_REQ);
	g_assert_cmpmem(entry(t, i - 1)->data, entry(t, i - 1)->len, bad, sizeof(bad));
	g_assert_cmpuint(entry(t, n - 1)->type, ==, X9P_REC_END);
	x9p_rec_trace_free(t);
	rm_rf(dir);
}

/* --record-redact: a walked name is in the recording replaced by another
 * of its length, and the file says it is redacted. */
static void t_redact(void)
{
	char *dir = rec_dir();
	const char *args[] = { "--synthetic", "--record", dir, "--record-redact", NULL };
	struct x9p_rec_trace *t;
	struct vuf f;
	bool walked = false;

	vuf_start(&f, args, 64, 0);
	vuf_mount(&f, 65536);
	vuf_walk(&f, 5, "secret-name");
	vuf_stop(&f);

	t = load(dir, NULL);
	g_assert_true(t->flags & X9P_REC_F_REDACTED);
	for (guint i = 0; i < t->entries->len; i++) {
		const struct x9p_rec_entry *e = entry(t, i);

		g_assert_null(g_strstr_len((const char *)e->data, e->len, "secret"));
		if (e->type == X9P_REC_REQ && e->data[4] == P9_TWALK) {
			/* size type tag fid newfid nwname len[2] name */
			g_assert_cmpuint(e->len, ==, 17 + 2 + strlen("secret-name"));
			walked = true;
		}
	}
	g_assert_true(walked);
	x9p_rec_trace_free(t);
	rm_rf(dir);
}

static int run_vhost(const char *const *args, char **err)
{
	char *prog = x9p_build_path("x9p-vhost");
	GPtrArray *av = g_ptr_array_new();
	int st = -1;

	g_ptr_array_add(av, prog);
	for (; *args; args++)
		g_ptr_array_add(av, (char *)*args);
	g_ptr_array_add(av, NULL);
	g_assert_true(g_spawn_sync(NULL, (char **)av->pdata, NULL, 0, NULL, NULL, NULL, err, &st,
				   NULL));
	g_ptr_array_free(av, TRUE);
	g_free(prog);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Options that cannot work are refused at start, with why. */
static void t_options(void)
{
	char *dir = rec_dir(), *err = NULL;

	g_assert_cmpint(run_vhost((const char *[]){ "--synthetic", "--socket-path=/nonexistent/s",
						    "--record-size=2", NULL }, &err), ==, 2);
	g_assert_nonnull(strstr(err, "--record-size needs --record"));
	g_free(err);
	g_assert_cmpint(chmod(dir, 0777), ==, 0);
	g_assert_cmpint(run_vhost((const char *[]){ "--synthetic", "--socket-path=/nonexistent/s",
						    "--record", dir, NULL }, &err), ==, 2);
	g_assert_nonnull(strstr(err, "--record:"));
	g_free(err);
	rm_rf(dir);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	signal(SIGPIPE, SIG_IGN);
	g_test_add_func("/vhost-record/session", t_session);
	g_test_add_func("/vhost-record/fault", t_fault);
	g_test_add_func("/vhost-record/redact", t_redact);
	g_test_add_func("/vhost-record/options", t_options);
	return g_test_run();
}
