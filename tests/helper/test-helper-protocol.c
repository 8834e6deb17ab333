/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The proxy protocol between hostile peers.
 *
 *  /helper/protocol/codec/...   the shared encoder/decoder in-process:
 *                               round trips and random input
 *  /helper/protocol/helper/...  a hostile backend: raw messages against
 *                               the real x9p-helper process
 *  /helper/protocol/driver/...  a hostile helper: this very program,
 *                               started by the proxy driver as its helper,
 *                               answers with lies; the driver must refuse
 *                               them (-EIO), leak nothing and restart it
 */
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "procinfo.h"
#include "proxy-test.h"

/* ---- codec ---- */

static struct x9p_px_str S(const char *s)
{
	return (struct x9p_px_str){ s, (uint16_t)strlen(s) };
}

static void test_codec_roundtrip(void)
{
	uint8_t buf[X9P_PX_MAX_MSG];
	struct x9p_px_req q, d;
	int n;

	for (unsigned op = 1; op < X9P_PX_OP_END; op++) {
		memset(&q, 0, sizeof(q));
		q.h.op = (uint16_t)op;
		q.h.id = 0x1122334455667788ULL + op;
		q.node = 77;
		q.node2 = 78;
		q.name = S(op == X9P_PX_WALK ? ".." : "name");
		q.name2 = S("other");
		q.target = S("../target/x");
		q.xname = S("user.x");
		q.version = X9P_PX_VERSION;
		q.oflags = X9P_PXO_RDWR | X9P_PXO_TRUNC;
		q.mode = op == X9P_PX_MKNOD ? (S_IFCHR | 0640) : 0640;
		q.rdev = 0x12345;
		q.uid = 1;
		q.gid = 2;
		q.valid = X9P_PXS_MODE | X9P_PXS_ATIME;
		q.atime = (struct timespec){ -5, UTIME_NOW };
		q.mtime = (struct timespec){ 9, 999999999 };
		q.fsize = 1ULL << 40;
		q.size = 4096;
		q.cookie = ~0ULL;
		q.budget = 8192;
		q.rflags = X9P_PXR_ATTR;
		q.value = (const uint8_t *)"\0\1\2";
		q.value_len = 3;
		q.cancel_id = 42;
		q.xflags = X9P_PXX_CREATE;
		if (op == X9P_PX_CANCEL || op == X9P_PX_CLUNK)
			q.h.flags = X9P_PXF_NOREPLY;
		if (op == X9P_PX_CHANNEL || op == X9P_PX_ADOPT)
			q.h.flags = X9P_PXF_FD;
		n = x9p_px_encode_req(buf, sizeof(buf), &q);
		g_assert_cmpint(n, >=, (int)X9P_PX_HDR_SIZE);
		g_assert_cmpint(x9p_px_decode_req(buf, (size_t)n, &d), ==, 0);
		g_assert_cmpuint(d.h.id, ==, q.h.id);
		g_assert_cmpuint(d.h.op, ==, op);
		/* every proper prefix is a framing error, never a crash */
		for (int cut = 0; cut < n; cut++)
			g_assert_cmpint(x9p_px_decode_req(buf, (size_t)cut, &d), <, 0);
	}
	/* a reply with attributes */
	{
		struct x9p_px_rep r = { .h = { .op = X9P_PX_WALK, .id = 9 } }, e;

		r.node = 5;
		r.attr.mode = S_IFLNK | 0777;
		r.attr.mtime.tv_nsec = 999999999;
		n = x9p_px_encode_rep(buf, sizeof(buf), &r);
		g_assert_cmpint(n, ==, (int)(X9P_PX_HDR_SIZE + 4 + 8 + X9P_PX_ATTR_SIZE));
		g_assert_cmpint(x9p_px_decode_rep(buf, (size_t)n, X9P_PX_WALK, &e), ==, 0);
		g_assert_cmpuint(e.node, ==, 5);
		g_assert_cmphex(e.attr.mode, ==, S_IFLNK | 0777);
		g_assert_cmpint(x9p_px_decode_rep(buf, (size_t)n, X9P_PX_GETATTR, &e), ==, -EPROTO);
		r.attr.mtime.tv_nsec = 1000000000;
		n = x9p_px_encode_rep(buf, sizeof(buf), &r);
		g_assert_cmpint(x9p_px_decode_rep(buf, (size_t)n, X9P_PX_WALK, &e), ==, -EPROTO);
		r.attr.mtime.tv_nsec = 0;
		r.attr.mode = 0170777;
		n = x9p_px_encode_rep(buf, sizeof(buf), &r);
		g_assert_cmpint(x9p_px_decode_rep(buf, (size_t)n, X9P_PX_WALK, &e), ==, -EPROTO);
	}
	/* a readdir batch */
	{
		struct x9p_px_rdbuf b;
		struct x9p_px_rep e;
		struct x9p_px_diriter it;
		struct x9p_px_dirent de;
		struct x9p_px_attr a = { .mode = S_IFREG | 0644, .ino = 3 };
		size_t len;

		x9p_px_rd_begin(&b, buf, sizeof(buf), 7, false);
		g_assert_true(x9p_px_rd_add(&b, 11, "one", 3, &a));
		g_assert_true(x9p_px_rd_add(&b, 22, "..", 2, &a));
		len = x9p_px_rd_end(&b, true);
		g_assert_cmpint(x9p_px_decode_rep(buf, len, X9P_PX_READDIR, &e), ==, 0);
		g_assert_cmpuint(e.count, ==, 2);
		g_assert_true(e.rflags & X9P_PXR_EOF);
		x9p_px_diriter_init(&it, &e);
		g_assert_cmpint(x9p_px_dirent_next(&it, &de), ==, 1);
		g_assert_cmpuint(de.next, ==, 11);
		g_assert_cmpint(x9p_px_dirent_next(&it, &de), ==, 1);
		g_assert_cmpint(x9p_px_dirent_next(&it, &de), ==, 0);
		/* a name with a slash poisons the whole batch */
		x9p_px_rd_begin(&b, buf, sizeof(buf), 7, true);
		g_assert_true(x9p_px_rd_add(&b, 11, "ok", 2, &a));
		g_assert_true(x9p_px_rd_add(&b, 12, "a/b", 3, &a));
		len = x9p_px_rd_end(&b, false);
		g_assert_cmpint(x9p_px_decode_rep(buf, len, X9P_PX_READDIR, &e), ==, -EPROTO);
	}
}

static void test_codec_names(void)
{
	char big[300];

	memset(big, 'n', sizeof(big));
	g_assert_cmpint(x9p_px_check_name("a", 1, false), ==, 0);
	g_assert_cmpint(x9p_px_check_name("..", 2, true), ==, 0);
	g_assert_cmpint(x9p_px_check_name("..", 2, false), ==, -EINVAL);
	g_assert_cmpint(x9p_px_check_name(".", 1, true), ==, -EINVAL);
	g_assert_cmpint(x9p_px_check_name("", 0, true), ==, -EINVAL);
	g_assert_cmpint(x9p_px_check_name("a/b", 3, true), ==, -EINVAL);
	g_assert_cmpint(x9p_px_check_name("a\0b", 3, true), ==, -EINVAL);
	g_assert_cmpint(x9p_px_check_name(big, 255, false), ==, 0);
	g_assert_cmpint(x9p_px_check_name(big, 256, false), ==, -ENAMETOOLONG);
	g_assert_cmpint(x9p_px_check_name("...", 3, false), ==, 0);
}

static void test_codec_fuzz(void)
{
	uint8_t *buf = g_malloc(X9P_PX_MAX_MSG + 64);
	GRand *r = g_rand_new_with_seed(12345);

	for (int i = 0; i < 200000; i++) {
		size_t len = (size_t)g_rand_int_range(r, 0, i % 100 == 0 ? 70000 : 300);
		struct x9p_px_req q;
		struct x9p_px_rep p;
		uint16_t op = (uint16_t)g_rand_int_range(r, 0, X9P_PX_OP_END + 2);

		for (size_t k = 0; k < len; k++)
			buf[k] = (uint8_t)g_rand_int(r);
		/* make the header plausible often enough to reach the payload */
		if (len >= X9P_PX_HDR_SIZE && (i & 1)) {
			buf[0] = (uint8_t)len;
			buf[1] = (uint8_t)(len >> 8);
			buf[2] = (uint8_t)(len >> 16);
			buf[3] = 0;
			buf[4] = (uint8_t)op;
			buf[5] = (i & 2) ? 0x80 : 0;
			buf[6] = buf[7] = 0;
			if (len >= X9P_PX_HDR_SIZE + 4 && (i & 4))
				memset(buf + X9P_PX_HDR_SIZE, 0, 4);
		}
		(void)x9p_px_decode_req(buf, len, &q);
		if (x9p_px_decode_rep(buf, len, op, &p) == 0 && op == X9P_PX_READDIR) {
			struct x9p_px_diriter it;
			struct x9p_px_dirent de;

			x9p_px_diriter_init(&it, &p);
			while (x9p_px_dirent_next(&it, &de) == 1)
				g_assert_true(de.name.len <= X9P_PX_NAME_MAX);
		}
	}
	g_rand_free(r);
	g_free(buf);
}

/* ---- a hostile backend against the real helper ---- */

struct raw {
	struct pt t;
	int sock;
	pid_t pid;
	uint8_t buf[X9P_PX_MAX_MSG + 1];
};

static void raw_setup(struct raw *r, gconstpointer data)
{
	posix_spawn_file_actions_t fa;
	char *helper = pt_helper_path();
	char *argv[] = { helper, "--sock-fd=3", "--export-fd=4", "--security-model=mapped-xattr",
			 "--threads=4", NULL };
	int sv[2], efd;

	char **envp = g_get_environ();

#ifdef __SANITIZE_ADDRESS__
	/*
	 * The leak checker cannot run inside the sandbox (it needs system calls
	 * and a view of /proc the helper does not have); the other checks do.
	 */
	envp = g_environ_setenv(envp, "ASAN_OPTIONS", "detect_leaks=0", TRUE);
#endif
	pt_tree(&r->t, X9P_SM_MAPPED_XATTR);
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), ==, 0);
	efd = open(r->t.export, O_PATH | O_DIRECTORY | O_CLOEXEC);
	g_assert_cmpint(efd, >=, 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, sv[1], 3);
	posix_spawn_file_actions_adddup2(&fa, efd, 4);
	g_assert_cmpint(posix_spawn(&r->pid, helper, &fa, NULL, argv, envp), ==, 0);
	g_strfreev(envp);
	posix_spawn_file_actions_destroy(&fa);
	close(sv[1]);
	close(efd);
	g_free(helper);
	r->sock = sv[0];
}

static void raw_teardown(struct raw *r, gconstpointer data)
{
	int status;

	close(r->sock);
	/* the helper ends by itself when its socket closes */
	g_assert_cmpint(waitpid(r->pid, &status, 0), ==, r->pid);
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 0);
	pt_free(&r->t);
}

static void raw_send(struct raw *r, const void *msg, size_t len, int fd)
{
	g_assert_cmpint(x9p_px_send(r->sock, msg, len, fd), ==, 0);
}

static void raw_req(struct raw *r, struct x9p_px_req *q)
{
	uint8_t msg[X9P_PX_MAX_MSG];
	int n = x9p_px_encode_req(msg, sizeof(msg), q);

	g_assert_cmpint(n, >, 0);
	raw_send(r, msg, (size_t)n, -1);
}

/* The next reply; its header must be sound whatever it answers. */
static size_t raw_recv(struct raw *r, struct x9p_px_hdr *h)
{
	size_t len;
	int fd, e;

	e = x9p_px_recv(r->sock, r->buf, sizeof(r->buf), &len, &fd);
	g_assert_cmpint(e, ==, 0);
	g_assert_cmpint(fd, ==, -1);
	g_assert_cmpint(x9p_px_decode_hdr(r->buf, len, h), ==, 0);
	g_assert_true(h->op & X9P_PX_REPLY);
	return len;
}

static int32_t status_of(struct raw *r, size_t len)
{
	int32_t s;

	g_assert_cmpuint(len, >=, X9P_PX_HDR_SIZE + 4);
	memcpy(&s, r->buf + X9P_PX_HDR_SIZE, 4);
	return s;
}

/* A request answered with just a status; returns it. */
static int32_t raw_status(struct raw *r, struct x9p_px_req *q)
{
	struct x9p_px_hdr h;
	size_t len;

	raw_req(r, q);
	len = raw_recv(r, &h);
	g_assert_cmpuint(h.id, ==, q->h.id);
	g_assert_cmpuint(h.op, ==, q->h.op | X9P_PX_REPLY);
	return status_of(r, len);
}

/* Proves the helper is alive and that no other reply was pending. */
static void raw_hello(struct raw *r, uint64_t id)
{
	struct x9p_px_req q = { .h = { .op = X9P_PX_HELLO, .id = id }, .version = X9P_PX_VERSION };
	struct x9p_px_rep p;
	struct x9p_px_hdr h;
	size_t len;

	raw_req(r, &q);
	len = raw_recv(r, &h);
	g_assert_cmpuint(h.id, ==, id);
	g_assert_cmpint(x9p_px_decode_rep(r->buf, len, X9P_PX_HELLO, &p), ==, 0);
	g_assert_cmpint(p.status, ==, 0);
	g_assert_cmpuint(p.model, ==, X9P_SM_MAPPED_XATTR);
}

static uint64_t raw_attach(struct raw *r)
{
	struct x9p_px_req q = { .h = { .op = X9P_PX_ATTACH, .id = 3 } };
	struct x9p_px_rep p;
	struct x9p_px_hdr h;
	size_t len;

	raw_req(r, &q);
	len = raw_recv(r, &h);
	g_assert_cmpint(x9p_px_decode_rep(r->buf, len, X9P_PX_ATTACH, &p), ==, 0);
	g_assert_cmpint(p.status, ==, 0);
	return p.node;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }

static size_t hdr(uint8_t *m, uint32_t len, uint16_t op, uint16_t flags, uint64_t id)
{
	put32(m, len);
	put16(m + 4, op);
	put16(m + 6, flags);
	put64(m + 8, id);
	return X9P_PX_HDR_SIZE;
}

static void test_helper_basics(struct raw *r, gconstpointer data)
{
	struct x9p_px_req q = { 0 };
	uint64_t root;

	raw_hello(r, 1);
	root = raw_attach(r);
	q.h = (struct x9p_px_hdr){ .op = X9P_PX_WALK, .id = 10 };
	q.node = root;
	q.name = S("a/b");
	g_assert_cmpint(raw_status(r, &q), ==, -EINVAL);
	q.name = S(".");
	g_assert_cmpint(raw_status(r, &q), ==, -EINVAL);
	q.name = S("missing");
	g_assert_cmpint(raw_status(r, &q), ==, -ENOENT);
	q.node = root + 1000;
	g_assert_cmpint(raw_status(r, &q), ==, -ESTALE);
	q = (struct x9p_px_req){ .h = { .op = X9P_PX_CREATE, .id = 11 }, .node = root };
	q.name = S("..");
	g_assert_cmpint(raw_status(r, &q), ==, -EINVAL);
	q.name = S("f");
	q.mode = 01000000;      /* a file type in a create mode */
	g_assert_cmpint(raw_status(r, &q), ==, -EINVAL);
	q = (struct x9p_px_req){ .h = { .op = X9P_PX_MKNOD, .id = 12 }, .node = root };
	q.name = S("d");
	q.mode = S_IFDIR | 0755;
	g_assert_cmpint(raw_status(r, &q), ==, -EINVAL);
	q = (struct x9p_px_req){ .h = { .op = X9P_PX_SETATTR, .id = 13 }, .node = root };
	q.valid = X9P_PXS_ATIME;
	q.atime.tv_nsec = 1000000000;
	g_assert_cmpint(raw_status(r, &q), ==, -EINVAL);
	q = (struct x9p_px_req){ .h = { .op = X9P_PX_CLUNK, .id = 14 }, .node = root };
	g_assert_cmpint(raw_status(r, &q), ==, 0);
	g_assert_cmpint(raw_status(r, &q), ==, -ESTALE);
	/* CANCEL of anything: never answered */
	q = (struct x9p_px_req){ .h = { .op = X9P_PX_CANCEL, .id = 15, .flags = X9P_PXF_NOREPLY },
				 .cancel_id = 99999 };
	raw_req(r, &q);
	raw_hello(r, 16);
}

static void test_helper_malformed(struct raw *r, gconstpointer data)
{
	uint8_t m[X9P_PX_MAX_MSG + 200];
	struct x9p_px_hdr h;
	size_t len;
	uint64_t root;
	int fd;

	raw_hello(r, 1);
	root = raw_attach(r);
	memset(m, 0, sizeof(m));

	/* unknown operations get an error reply on their id */
	for (uint16_t op = 0; op < 4; op++) {
		static const uint16_t ops[] = { 0, 200, X9P_PX_OP_END, 0x7fff };

		hdr(m, X9P_PX_HDR_SIZE, ops[op], 0, 100 + op);
		raw_send(r, m, X9P_PX_HDR_SIZE, -1);
		len = raw_recv(r, &h);
		g_assert_cmpuint(h.id, ==, 100u + op);
		g_assert_cmpuint(h.op, ==, (uint32_t)(ops[op] | X9P_PX_REPLY));
		g_assert_cmpint(status_of(r, len), ==, -EOPNOTSUPP);
	}
	/* a reply where a request belongs */
	hdr(m, X9P_PX_HDR_SIZE, X9P_PX_HELLO | X9P_PX_REPLY, 0, 110);
	raw_send(r, m, X9P_PX_HDR_SIZE, -1);
	len = raw_recv(r, &h);
	g_assert_cmpuint(h.id, ==, 110);
	g_assert_cmpint(status_of(r, len), ==, -EPROTO);
	/* a length that is not the datagram's */
	hdr(m, 40, X9P_PX_GETATTR, 0, 111);
	put64(m + 16, root);
	raw_send(r, m, 24, -1);
	len = raw_recv(r, &h);
	g_assert_cmpuint(h.id, ==, 111);
	g_assert_cmpint(status_of(r, len), ==, -EPROTO);
	/* unknown flags, or a descriptor flag on a request */
	hdr(m, 24, X9P_PX_GETATTR, 0x10, 112);
	raw_send(r, m, 24, -1);
	len = raw_recv(r, &h);
	g_assert_cmpint(status_of(r, len), ==, -EPROTO);
	hdr(m, 24, X9P_PX_GETATTR, X9P_PXF_FD, 113);
	raw_send(r, m, 24, -1);
	len = raw_recv(r, &h);
	g_assert_cmpint(status_of(r, len), ==, -EPROTO);
	/* a real descriptor riding along is closed and the request refused */
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	hdr(m, 24, X9P_PX_GETATTR, 0, 114);
	raw_send(r, m, 24, fd);
	close(fd);
	len = raw_recv(r, &h);
	g_assert_cmpuint(h.id, ==, 114);
	g_assert_cmpint(status_of(r, len), ==, -EPROTO);
	/* truncated payload, trailing bytes, a NUL inside a name */
	hdr(m, 20, X9P_PX_GETATTR, 0, 115);
	raw_send(r, m, 20, -1);
	g_assert_cmpint(status_of(r, raw_recv(r, &h)), ==, -EPROTO);
	hdr(m, 25, X9P_PX_GETATTR, 0, 116);
	raw_send(r, m, 25, -1);
	g_assert_cmpint(status_of(r, raw_recv(r, &h)), ==, -EPROTO);
	hdr(m, 16 + 8 + 2 + 3, X9P_PX_WALK, 0, 117);
	put64(m + 16, root);
	put16(m + 24, 3);
	memcpy(m + 26, "a\0b", 3);
	raw_send(r, m, 29, -1);
	g_assert_cmpint(status_of(r, raw_recv(r, &h)), ==, -EPROTO);
	/* a string longer than the message */
	hdr(m, 16 + 8 + 2 + 3, X9P_PX_WALK, 0, 118);
	put16(m + 24, 4000);
	raw_send(r, m, 29, -1);
	g_assert_cmpint(status_of(r, raw_recv(r, &h)), ==, -EPROTO);
	/* a message larger than the protocol allows */
	hdr(m, X9P_PX_MAX_MSG + 100, X9P_PX_GETATTR, 0, 119);
	raw_send(r, m, X9P_PX_MAX_MSG + 100, -1);
	len = raw_recv(r, &h);
	g_assert_cmpuint(h.id, ==, 119);
	g_assert_cmpint(status_of(r, len), ==, -EPROTO);
	/* too short for a header: nothing to answer; "no reply" to a request */
	raw_send(r, m, 8, -1);
	hdr(m, 24, X9P_PX_GETATTR, X9P_PXF_NOREPLY, 120);
	raw_send(r, m, 24, -1);
	/* the next reply is the HELLO's: none came for those two */
	raw_hello(r, 121);
}

/* Many requests before the first reply is read: each answered once. */
static void test_helper_pipelined(struct raw *r, gconstpointer data)
{
	GHashTable *seen = g_hash_table_new(g_int64_hash, g_int64_equal);
	const unsigned n = 400;
	uint64_t root, ids[400];
	struct x9p_px_hdr h;

	raw_hello(r, 1);
	root = raw_attach(r);
	for (unsigned i = 0; i < n; i++) {
		struct x9p_px_req q = { .h = { .op = i % 2 ? X9P_PX_GETATTR : X9P_PX_STATFS,
					       .id = 5000 + i * 7 }, .node = root };

		raw_req(r, &q);
	}
	for (unsigned i = 0; i < n; i++) {
		size_t len = raw_recv(r, &h);

		g_assert_cmpint(status_of(r, len), ==, 0);
		ids[i] = h.id;
		g_assert_true(g_hash_table_add(seen, &ids[i]));
		g_assert_cmpuint((h.id - 5000) % 7, ==, 0);
	}
	g_assert_cmpuint(g_hash_table_size(seen), ==, n);
	g_hash_table_destroy(seen);
	raw_hello(r, 2);
}

/* A request on a channel; its status, with the reply in r->buf. */
static int32_t chan_status(struct raw *r, int ch, struct x9p_px_req *q, size_t *lenp)
{
	uint8_t msg[X9P_PX_MAX_MSG];
	struct x9p_px_hdr h;
	size_t len;
	int n = x9p_px_encode_req(msg, sizeof(msg), q), fd;

	g_assert_cmpint(n, >, 0);
	g_assert_cmpint(x9p_px_send(ch, msg, (size_t)n, -1), ==, 0);
	g_assert_cmpint(x9p_px_recv(ch, r->buf, sizeof(r->buf), &len, &fd), ==, 0);
	g_assert_cmpint(fd, ==, -1);
	g_assert_cmpint(x9p_px_decode_hdr(r->buf, len, &h), ==, 0);
	g_assert_cmpuint(h.id, ==, q->h.id);
	g_assert_cmpuint(h.op, ==, q->h.op | X9P_PX_REPLY);
	if (lenp)
		*lenp = len;
	return status_of(r, len);
}

/* A request of op alone, with `fd` (or none); its reply's length. */
static size_t raw_fd_request(struct raw *r, uint16_t op, uint64_t id, int fd)
{
	uint8_t m[X9P_PX_HDR_SIZE];
	struct x9p_px_hdr h;
	size_t len;

	hdr(m, sizeof(m), op, fd >= 0 ? X9P_PXF_FD : 0, id);
	raw_send(r, m, sizeof(m), fd);
	len = raw_recv(r, &h);
	g_assert_cmpuint(h.id, ==, id);
	return len;
}

/* CHANNEL with `fd` (or none); the helper's status. */
static int32_t raw_channel(struct raw *r, uint64_t id, int fd)
{
	return status_of(r, raw_fd_request(r, X9P_PX_CHANNEL, id, fd));
}

/* ADOPT with `fd` (or none): the helper's status, *rep on success. */
static int32_t raw_adopt(struct raw *r, uint64_t id, int fd, struct x9p_px_rep *rep)
{
	size_t len = raw_fd_request(r, X9P_PX_ADOPT, id, fd);

	if (status_of(r, len) == 0)
		g_assert_cmpint(x9p_px_decode_rep(r->buf, len, X9P_PX_ADOPT, rep), ==, 0);
	return status_of(r, len);
}

/*
 * ADOPT takes an opened regular file only (a file no name leads to any
 * more included), and the node it gives serves attributes and opens.
 */
static void test_helper_adopt(struct raw *r, gconstpointer data)
{
	struct x9p_px_req q = { 0 };
	struct x9p_px_rep rep;
	struct stat st;
	int fd, pfd[2];
	char *path = pt_path(&r->t, "f");

	raw_hello(r, 1);
	raw_attach(r);
	/* no descriptor; a pipe; a directory; an O_PATH descriptor */
	g_assert_cmpint(raw_adopt(r, 2, -1, &rep), ==, -EPROTO);
	g_assert_cmpint(pipe2(pfd, O_CLOEXEC), ==, 0);
	g_assert_cmpint(raw_adopt(r, 3, pfd[0], &rep), ==, -EINVAL);
	close(pfd[0]);
	close(pfd[1]);
	fd = open(r->t.export, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	g_assert_cmpint(raw_adopt(r, 4, fd, &rep), ==, -EINVAL);
	close(fd);
	pt_write_file(path, "hello", 0644);
	fd = open(path, O_PATH | O_CLOEXEC);
	g_assert_cmpint(raw_adopt(r, 5, fd, &rep), ==, -EINVAL);
	close(fd);
	/* an unlinked file */
	fd = open(path, O_RDWR | O_CLOEXEC);
	g_assert_cmpint(fstat(fd, &st), ==, 0);
	g_assert_cmpint(unlink(path), ==, 0);
	g_assert_cmpint(raw_adopt(r, 6, fd, &rep), ==, 0);
	close(fd);
	g_assert_cmpuint(rep.attr.ino, ==, st.st_ino);
	g_assert_cmpuint(rep.attr.size, ==, 5);
	g_assert_cmpuint(rep.attr.nlink, ==, 0);
	q = (struct x9p_px_req){ .h = { .op = X9P_PX_GETATTR, .id = 7 }, .node = rep.node };
	g_assert_cmpint(raw_status(r, &q), ==, 0);
	/* descriptors travel with ADOPT alone */
	fd = open(r->t.export, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	{
		uint8_t m[64];
		struct x9p_px_hdr h;
		size_t len;

		q = (struct x9p_px_req){ .h = { .op = X9P_PX_GETATTR, .id = 8, .flags = X9P_PXF_FD },
					 .node = rep.node };
		len = (size_t)x9p_px_encode_req(m, sizeof(m), &q);
		raw_send(r, m, len, fd);
		len = raw_recv(r, &h);
		g_assert_cmpint(status_of(r, len), ==, -EPROTO);
	}
	close(fd);
	raw_hello(r, 9);
	g_free(path);
}

static void test_helper_channels(struct raw *r, gconstpointer data)
{
	int chans[X9P_PX_MAX_CHANNELS], sv[2], pfd[2];
	struct x9p_px_req q = { 0 };
	struct x9p_px_rep rep;
	uint8_t m[X9P_PX_HDR_SIZE];
	uint64_t root, n;
	size_t len;

	raw_hello(r, 1);
	root = raw_attach(r);
	/* the socket is missing, or is no socket */
	g_assert_cmpint(raw_channel(r, 2, -1), ==, -EPROTO);
	g_assert_cmpint(pipe2(pfd, O_CLOEXEC), ==, 0);
	g_assert_cmpint(raw_channel(r, 3, pfd[0]), ==, -ENOTSOCK);
	close(pfd[0]);
	close(pfd[1]);
	/* up to the limit, and not one more */
	for (unsigned i = 0; i < X9P_PX_MAX_CHANNELS; i++) {
		g_assert_cmpint(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), ==, 0);
		g_assert_cmpint(raw_channel(r, 10 + i, sv[1]), ==, 0);
		close(sv[1]);
		chans[i] = sv[0];
	}
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), ==, 0);
	g_assert_cmpint(raw_channel(r, 200, sv[1]), ==, -EMFILE);
	close(sv[1]);
	close(sv[0]);
	/* requests on a channel are answered there, each channel on its own */
	q = (struct x9p_px_req){ .h = { .op = X9P_PX_WALK, .id = 300 }, .node = root };
	q.name = S("missing");
	g_assert_cmpint(chan_status(r, chans[0], &q, NULL), ==, -ENOENT);
	q = (struct x9p_px_req){ .h = { .op = X9P_PX_CREATE, .id = 301 }, .node = root,
				 .name = S("chan-file"), .mode = 0644, .oflags = X9P_PXO_RDWR };
	{
		uint8_t msg[512];
		int k = x9p_px_encode_req(msg, sizeof(msg), &q), fd;

		g_assert_cmpint(x9p_px_send(chans[5], msg, (size_t)k, -1), ==, 0);
		g_assert_cmpint(x9p_px_recv(chans[5], r->buf, sizeof(r->buf), &len, &fd), ==, 0);
		g_assert_cmpint(fd, >=, 0);       /* the opened file came on the channel */
		close(fd);
		g_assert_cmpint(x9p_px_decode_rep(r->buf, len, X9P_PX_CREATE, &rep), ==, 0);
		g_assert_cmpint(rep.status, ==, 0);
		n = rep.node;
	}
	q = (struct x9p_px_req){ .h = { .op = X9P_PX_GETATTR, .id = 302 }, .node = n };
	g_assert_cmpint(chan_status(r, chans[X9P_PX_MAX_CHANNELS - 1], &q, &len), ==, 0);
	g_assert_cmpint(x9p_px_decode_rep(r->buf, len, X9P_PX_GETATTR, &rep), ==, 0);
	g_assert_true(S_ISREG(rep.attr.mode));
	/* set-up messages belong to the shared socket; a descriptor on a
	 * channel is refused; the channel goes on serving */
	q = (struct x9p_px_req){ .h = { .op = X9P_PX_HELLO, .id = 303 }, .version = X9P_PX_VERSION };
	g_assert_cmpint(chan_status(r, chans[1], &q, NULL), ==, -EPROTO);
	hdr(m, sizeof(m), X9P_PX_CHANNEL, X9P_PXF_FD, 304);
	g_assert_cmpint(x9p_px_send(chans[1], m, sizeof(m), chans[2]), ==, 0);
	g_assert_cmpint(x9p_px_recv(chans[1], r->buf, sizeof(r->buf), &len, &pfd[0]), ==, 0);
	g_assert_cmpint(pfd[0], ==, -1);
	g_assert_cmpint(status_of(r, len), ==, -EPROTO);
	q = (struct x9p_px_req){ .h = { .op = X9P_PX_GETATTR, .id = 305 }, .node = root };
	g_assert_cmpint(chan_status(r, chans[1], &q, NULL), ==, 0);
	/* a closed channel frees its place */
	close(chans[3]);
	for (int tries = 0;; tries++) {
		int32_t st;

		g_assert_cmpint(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), ==, 0);
		st = raw_channel(r, 400 + (uint64_t)tries, sv[1]);
		close(sv[1]);
		if (st == 0) {
			chans[3] = sv[0];
			break;
		}
		g_assert_cmpint(st, ==, -EMFILE);
		close(sv[0]);
		g_assert_cmpint(tries, <, 1000);
		g_usleep(1000);
	}
	q = (struct x9p_px_req){ .h = { .op = X9P_PX_STATFS, .id = 500 }, .node = root };
	g_assert_cmpint(chan_status(r, chans[3], &q, NULL), ==, 0);
	for (unsigned i = 0; i < X9P_PX_MAX_CHANNELS; i++)
		close(chans[i]);
	raw_hello(r, 600);
}

struct drain {
	struct raw *r;
	uint64_t stop_id;
	unsigned replies;
};

static gpointer drain_thread(gpointer data)
{
	struct drain *d = data;
	uint8_t *buf = g_malloc(X9P_PX_MAX_MSG + 1);

	for (;;) {
		struct x9p_px_hdr h;
		size_t len;
		int fd, e = x9p_px_recv(d->r->sock, buf, X9P_PX_MAX_MSG + 1, &len, &fd);

		g_assert_cmpint(e, ==, 0);
		if (fd >= 0)
			close(fd);
		/* every reply is well formed, whatever it answers */
		g_assert_cmpint(x9p_px_decode_hdr(buf, len, &h), ==, 0);
		g_assert_true(h.op & X9P_PX_REPLY);
		d->replies++;
		if (h.id == d->stop_id)
			break;
	}
	g_free(buf);
	return NULL;
}

/* Random and mutated messages: the helper answers or ignores, never dies. */
static void test_helper_fuzz(struct raw *r, gconstpointer data)
{
	struct drain d = { r, 0xfeedfacecafef00dULL, 0 };
	GRand *rnd = g_rand_new_with_seed(4242);
	uint8_t m[1024];
	GThread *th;
	uint64_t root;

	raw_hello(r, 1);
	root = raw_attach(r);
	th = g_thread_new("drain", drain_thread, &d);
	for (int i = 0; i < 5000; i++) {
		size_t len;

		if (i % 2) {
			/* a valid request with a few bytes flipped */
			struct x9p_px_req q = { .h = { .op = (uint16_t)g_rand_int_range(rnd, 1, X9P_PX_OP_END),
						       .id = (uint64_t)i }, .node = root };
			int n;

			q.name = S("fuzzname");
			q.name2 = S("fuzzname2");
			q.target = S("t");
			q.xname = S("user.fuzz");
			q.mode = 0600;
			q.size = 64;
			q.budget = 512;
			if (q.h.op == X9P_PX_MKNOD)
				q.mode |= S_IFIFO;
			if (q.h.op == X9P_PX_CANCEL || q.h.op == X9P_PX_CLUNK)
				q.h.op = X9P_PX_GETATTR;
			n = x9p_px_encode_req(m, sizeof(m), &q);
			g_assert_cmpint(n, >, 0);
			len = (size_t)n;
			for (int k = g_rand_int_range(rnd, 0, 4); k > 0; k--)
				m[g_rand_int_range(rnd, 4, (gint32)len)] ^= (uint8_t)g_rand_int_range(rnd, 1, 256);
		} else {
			len = (size_t)g_rand_int_range(rnd, X9P_PX_HDR_SIZE, sizeof(m));
			for (size_t k = 0; k < len; k++)
				m[k] = (uint8_t)g_rand_int(rnd);
			hdr(m, (uint32_t)len, (uint16_t)g_rand_int_range(rnd, 0, 40),
			    (uint16_t)(i % 7 ? 0 : g_rand_int(rnd)), (uint64_t)i);
		}
		/* never NOREPLY, so that a CLUNK of the root cannot go unanswered */
		m[6] &= (uint8_t)~X9P_PXF_NOREPLY;
		raw_send(r, m, len, -1);
	}
	{
		struct x9p_px_req q = { .h = { .op = X9P_PX_HELLO, .id = d.stop_id },
					.version = X9P_PX_VERSION };

		raw_req(r, &q);
	}
	g_thread_join(th);
	/*
	 * Replies come in any order, so a few answers to the last fuzz
	 * messages may still follow; the helper's clean exit when the socket
	 * closes (checked by the teardown) shows it survived them all.
	 */
	g_assert_cmpuint(d.replies, >=, 4000);
	g_assert_cmpint(kill(r->pid, 0), ==, 0);
	g_rand_free(rnd);
}

/* ---- a hostile helper against the driver ---- */

static int fake_model = X9P_SM_MAPPED_XATTR;

static void fake_reply(int sock, struct x9p_px_rep *p, int fd)
{
	uint8_t buf[X9P_PX_MAX_MSG];
	int n = x9p_px_encode_rep(buf, sizeof(buf), p);

	if (n > 0)
		x9p_px_send(sock, buf, (size_t)n, fd);
}

static void fake_dir_attr(struct x9p_px_attr *a, bool dir)
{
	memset(a, 0, sizeof(*a));
	a->dev = 1;
	a->ino = dir ? 2 : 3;
	a->mode = dir ? (S_IFDIR | 0755) : (S_IFREG | 0644);
	a->nlink = 1;
}

/* Sends one descriptor-bearing message with two descriptors. */
static void send_two_fds(int sock, const void *msg, size_t len, int a, int b)
{
	union {
		struct cmsghdr h;
		char c[CMSG_SPACE(2 * sizeof(int))];
	} u;
	struct iovec iov = { (void *)msg, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.c,
			     .msg_controllen = sizeof(u.c) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	int fds[2] = { a, b };

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(c), fds, sizeof(fds));
	sendmsg(sock, &mh, MSG_NOSIGNAL);
}

/*
 * This program as a lying x9p-helper.  The scenario arrives as the
 * helper's --log-level (the one free-form option the driver passes on).
 */
static int fake_helper(const char *full)
{
	const int exp = 4;
	struct pollfd socks[X9P_PX_MAX_CHANNELS + 1] = { { .fd = 3, .events = POLLIN } };
	nfds_t nsocks = 1;
	/* "SCENARIO/shared": the lie comes on the shared socket (channels refused) */
	bool shared = full && g_str_has_suffix(full, "/shared");
	char *sc = full ? g_strndup(full, strlen(full) - (shared ? strlen("/shared") : 0)) : NULL;
	uint8_t *buf;

	if (!sc)
		return 2;
	if (!strcmp(sc, "exit"))
		return 0;
	buf = g_malloc(X9P_PX_MAX_MSG + 1);
	for (;;) {
		struct x9p_px_req q;
		struct x9p_px_rep p;
		size_t len;
		int fd, e, sock = -1;

		if (poll(socks, nsocks, -1) < 0)
			continue;
		for (nfds_t i = 0; i < nsocks && sock < 0; i++)
			if (socks[i].revents)
				sock = socks[i].fd;
		e = x9p_px_recv(sock, buf, X9P_PX_MAX_MSG + 1, &len, &fd);
		if (e != 0 && sock != 3) {
			/* a channel closed: forget it */
			for (nfds_t i = 1; i < nsocks; i++)
				if (socks[i].fd == sock)
					socks[i] = socks[--nsocks];
			close(sock);
			continue;
		}
		if (e != 0) {
			g_free(buf);
			g_free(sc);
			return 0;
		}
		if (x9p_px_decode_req(buf, len, &q) < 0) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		memset(&p, 0, sizeof(p));
		p.h.op = q.h.op;
		p.h.id = q.h.id;
		switch (q.h.op) {
		case X9P_PX_CHANNEL:
			if (shared || nsocks > X9P_PX_MAX_CHANNELS) {
				close(fd);
				p.status = -EMFILE;
			} else {
				socks[nsocks++] = (struct pollfd){ .fd = fd, .events = POLLIN };
			}
			break;
		case X9P_PX_HELLO:
			if (!strcmp(sc, "badhello")) {
				x9p_px_send(sock, "garbage garbage garbage", 23, -1);
				continue;
			}
			p.version = X9P_PX_VERSION;
			p.model = !strcmp(sc, "wrongmodel") ? X9P_SM_PASSTHROUGH : (uint32_t)fake_model;
			p.root_dev = 1;
			p.root_ino = 2;
			break;
		case X9P_PX_ATTACH:
			p.node = 1;
			fake_dir_attr(&p.attr, true);
			break;
		case X9P_PX_WALK:
			p.node = 2;
			fake_dir_attr(&p.attr, false);
			break;
		case X9P_PX_CLUNK:
			continue;
		case X9P_PX_GETATTR:
			fake_dir_attr(&p.attr, q.node == 1);
			if (!strcmp(sc, "badattr") && q.node != 1)
				p.attr.atime.tv_nsec = 2000000000;
			if (!strcmp(sc, "unknownid") && q.node != 1)
				p.h.id += 1000;
			if (!strcmp(sc, "wrongop") && q.node != 1)
				p.h.op = X9P_PX_STATFS;
			break;
		case X9P_PX_OPEN:
			if (!strcmp(sc, "dirfd")) {
				p.h.flags = X9P_PXF_FD;
				fake_reply(sock, &p, exp);
			} else if (!strcmp(sc, "opathfd")) {
				int f = open("/proc/self/exe", O_PATH | O_CLOEXEC);

				p.h.flags = X9P_PXF_FD;
				fake_reply(sock, &p, f);
				close(f);
			} else if (!strcmp(sc, "accmode")) {
				int f = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);

				p.h.flags = X9P_PXF_FD;
				fake_reply(sock, &p, f);
				close(f);
			} else if (!strcmp(sc, "nofdflag")) {
				int f = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);

				fake_reply(sock, &p, f);
				close(f);
			} else if (!strcmp(sc, "twofds")) {
				uint8_t m[64];
				int n, f = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);

				p.h.flags = X9P_PXF_FD;
				n = x9p_px_encode_rep(m, sizeof(m), &p);
				send_two_fds(sock, m, (size_t)n, f, f);
				close(f);
			}
			continue;
		case X9P_PX_READLINK:
			p.data = (const uint8_t *)"0123456789012345678901234567890123456789";
			p.data_len = 40;
			break;
		case X9P_PX_GETXATTR:
			p.xlen = p.data_len = 200;
			p.data = buf;
			memset(buf, 'v', 200);
			break;
		case X9P_PX_LISTXATTR:
			p.xlen = p.data_len = 6;
			p.data = (const uint8_t *)"user.a";
			break;
		case X9P_PX_READDIR: {
			struct x9p_px_rdbuf b;
			struct x9p_px_attr a;
			uint8_t m[4096];
			size_t n;

			fake_dir_attr(&a, false);
			x9p_px_rd_begin(&b, m, sizeof(m), q.h.id, false);
			x9p_px_rd_add(&b, 1, "fine", 4, &a);
			x9p_px_rd_add(&b, 2, "../../etc", 9, &a);
			n = x9p_px_rd_end(&b, true);
			x9p_px_send(sock, m, n, -1);
			continue;
		}
		default:
			p.status = -ENOSYS;
			break;
		}
		fake_reply(sock, &p, -1);
	}
}

static struct x9p_fs *fake_fs(const char *scenario, GError **err)
{
	struct pt t;
	struct x9p_proxy_cfg cfg = { 0 };
	struct x9p_fs *fs;

	pt_tree(&t, X9P_SM_MAPPED_XATTR);
	cfg.log_level = scenario;
	cfg.export_path = t.export;
	cfg.export_fd = -1;
	cfg.helper_path = "/proc/self/exe";
	cfg.model = X9P_SM_MAPPED_XATTR;
	fs = x9p_proxy_new(&cfg, err);
	pt_free(&t);
	return fs;
}

static void test_driver_start(void)
{
	static const char *const bad[] = { "badhello", "wrongmodel", "exit" };

	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		GError *err = NULL;
		struct x9p_fs *fs = fake_fs(bad[i], &err);

		g_assert_null(fs);
		g_assert_nonnull(err);
		g_test_message("%s: %s", bad[i], err->message);
		g_error_free(err);
	}
}

/* Each scenario lies in answer to one operation; the driver must refuse. */
static void test_driver_lies(gconstpointer data)
{
	g_autofree char *base = g_strndup(data, strcspn(data, "/"));
	const char *sc = base;
	struct x9p_ctx c = { 0, 0, NULL, NULL, NULL, NULL };
	struct x9p_node *root, *n;
	struct x9p_attr a;
	GError *err = NULL;
	struct x9p_fs *fs = fake_fs(data, &err);
	unsigned restarts;
	int fds;
	char buf[16];
	int fd = -1, e;

	g_assert_nonnull(fs);
	g_assert_cmpint(fs->ops->attach(fs, &c, "", &root, &a), ==, 0);
	g_assert_cmpint(fs->ops->walk(fs, &c, root, "f", &n, &a), ==, 0);
	fds = x9p_proc_fds(0);
	restarts = x9p_proxy_restarts(fs);
	if (!strcmp(sc, "dirfd") || !strcmp(sc, "opathfd") || !strcmp(sc, "accmode") ||
	    !strcmp(sc, "nofdflag") || !strcmp(sc, "twofds")) {
		e = fs->ops->open(fs, &c, n, O_RDWR, &fd);
		g_assert_cmpint(fd, ==, -1);
	} else if (!strcmp(sc, "longlink")) {
		memset(buf, 'Z', sizeof(buf));
		e = fs->ops->readlink(fs, &c, n, buf, 10);
		/* nothing written past what the caller offered */
		for (size_t i = 0; i < sizeof(buf); i++)
			g_assert_cmpint(buf[i], ==, 'Z');
	} else if (!strcmp(sc, "bigxattr")) {
		char x[16 + 8];

		memset(x, 'Z', sizeof(x));
		e = (int)fs->ops->getxattr(fs, &c, n, "user.a", x, 16);
		for (size_t i = 0; i < sizeof(x); i++)
			g_assert_cmpint(x[i], ==, 'Z');
	} else if (!strcmp(sc, "listnul")) {
		e = (int)fs->ops->listxattr(fs, &c, n, buf, sizeof(buf));
	} else if (!strcmp(sc, "badname")) {
		struct pt_dirlist l = { .names = g_ptr_array_new_with_free_func(g_free),
					.attrs = g_ptr_array_new_with_free_func(g_free),
					.dtypes = g_array_new(FALSE, FALSE, 1),
					.paths = g_array_new(FALSE, FALSE, 8) };

		e = fs->ops->readdir(fs, &c, root, 0, 4096, false, pt_dirlist_cb, &l, NULL);
		/* not even the valid first entry was passed on */
		g_assert_cmpuint(l.names->len, ==, 0);
		pt_dirlist_free(&l);
	} else {
		e = fs->ops->getattr(fs, &c, n, &a);
	}
	g_assert_cmpint(e, ==, -EIO);
	/* the liar is replaced; everything it sent was closed */
	while (x9p_proxy_restarts(fs) == restarts)
		g_usleep(1000);
	g_assert_cmpint(fs->ops->getattr(fs, &c, root, &a), ==, 0);
	g_assert_cmpint(x9p_proc_fds(0), ==, fds);
	fs->ops->node_put(fs, n);
	fs->ops->node_put(fs, root);
	fs->ops->destroy(fs);
}

int main(int argc, char **argv)
{
	static const char *const lies[] = {
		"badattr", "unknownid", "wrongop", "dirfd", "opathfd", "accmode", "nofdflag",
		"twofds", "longlink", "bigxattr", "listnul", "badname",
	};

	/* Started by the driver as its helper: play the liar instead. */
	if (argc > 1 && g_str_has_prefix(argv[1], "--sock-fd")) {
		for (int i = 1; i < argc; i++) {
			if (g_str_has_prefix(argv[i], "--log-level="))
				return fake_helper(argv[i] + strlen("--log-level="));
		}
		return 2;
	}
	pt_init();
	g_test_init(&argc, &argv, NULL);
	/* The driver warns about each lie and restart; that is expected here. */
	g_log_set_always_fatal(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
	g_test_add_func("/helper/protocol/codec/roundtrip", test_codec_roundtrip);
	g_test_add_func("/helper/protocol/codec/names", test_codec_names);
	g_test_add_func("/helper/protocol/codec/fuzz", test_codec_fuzz);
	g_test_add("/helper/protocol/helper/basics", struct raw, NULL, raw_setup,
		   test_helper_basics, raw_teardown);
	g_test_add("/helper/protocol/helper/malformed", struct raw, NULL, raw_setup,
		   test_helper_malformed, raw_teardown);
	g_test_add("/helper/protocol/helper/pipelined", struct raw, NULL, raw_setup,
		   test_helper_pipelined, raw_teardown);
	g_test_add("/helper/protocol/helper/fuzz", struct raw, NULL, raw_setup, test_helper_fuzz,
		   raw_teardown);
	g_test_add("/helper/protocol/helper/adopt", struct raw, NULL, raw_setup,
		   test_helper_adopt, raw_teardown);
	g_test_add("/helper/protocol/helper/channels", struct raw, NULL, raw_setup,
		   test_helper_channels, raw_teardown);
	g_test_add_func("/helper/protocol/driver/bad_start", test_driver_start);
	/* Each lie on a channel, and again on the shared socket. */
	for (size_t i = 0; i < G_N_ELEMENTS(lies); i++) {
		char *path = g_strdup_printf("/helper/protocol/driver/lie/%s", lies[i]);
		char *sc = g_strdup_printf("%s/shared", lies[i]);

		g_test_add_data_func(path, lies[i], test_driver_lies);
		g_free(path);
		path = g_strdup_printf("/helper/protocol/driver/lie/%s", sc);
		g_test_add_data_func_full(path, sc, test_driver_lies, g_free);
		g_free(path);
	}
	return g_test_run();
}
