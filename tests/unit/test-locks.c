// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The server's POSIX lock table (backend/core/locks.c): POSIX semantics
 * against a brute-force model over random operations, the per-session
 * limit, and the cost of a lookup among many locks (tree nodes visited,
 * not time).
 */
#include <errno.h>
#include <string.h>

#include <glib.h>

#include "core/locks.h"

#define CELLS 65   /* bytes 0..63 of a file, and "64 and beyond" */

static struct x9p_lock_owner owner(const void *session, uint32_t proc, uint32_t fid)
{
	struct x9p_lock_owner o = { .session = session, .proc_id = proc, .fid = fid };

	o.client_id = p9_str_c("guest");
	return o;
}

static int set(struct x9p_locks *t, const struct x9p_lock_owner *o, uint8_t type,
	       uint64_t start, uint64_t len)
{
	return x9p_locks_set(t, 1, o, type, start, len);
}

static uint8_t test_type(struct x9p_locks *t, const struct x9p_lock_owner *o, uint8_t type,
			 uint64_t start, uint64_t len, struct p9_lock *out)
{
	char cid[256];

	x9p_locks_test(t, 1, o, type, start, len, out, cid, sizeof(cid));
	return out->type;
}

static void t_semantics(void)
{
	struct x9p_locks *t = x9p_locks_new(0);
	int sa, sb;
	struct x9p_lock_owner a = owner(&sa, 1, 1), b = owner(&sb, 2, 7);
	struct x9p_lock_owner a2 = owner(&sa, 9, 1);   /* same session and fid as a */
	struct p9_lock out;

	g_assert_cmpint(set(t, &a, P9_LOCK_TYPE_RDLCK, 0, 100), ==, P9_LOCK_SUCCESS);
	g_assert_cmpint(set(t, &b, P9_LOCK_TYPE_RDLCK, 50, 100), ==, P9_LOCK_SUCCESS);
	g_assert_cmpint(set(t, &b, P9_LOCK_TYPE_WRLCK, 50, 10), ==, P9_LOCK_BLOCKED);
	g_assert_cmpint(test_type(t, &b, P9_LOCK_TYPE_WRLCK, 60, 1, &out), ==, P9_LOCK_TYPE_RDLCK);
	g_assert_cmpuint(out.start, ==, 0);
	g_assert_cmpuint(out.length, ==, 100);
	g_assert_cmpuint(out.proc_id, ==, 1);
	/* a punches a hole in its lock; b may write there */
	g_assert_cmpint(set(t, &a, P9_LOCK_TYPE_UNLCK, 10, 10), ==, P9_LOCK_SUCCESS);
	g_assert_cmpint(set(t, &b, P9_LOCK_TYPE_WRLCK, 10, 10), ==, P9_LOCK_SUCCESS);
	g_assert_cmpint(set(t, &b, P9_LOCK_TYPE_WRLCK, 5, 10), ==, P9_LOCK_BLOCKED);
	g_assert_cmpint(test_type(t, &a, P9_LOCK_TYPE_RDLCK, 0, 0, &out), ==, P9_LOCK_TYPE_WRLCK);
	g_assert_cmpuint(out.start, ==, 10);
	g_assert_cmpuint(out.length, ==, 10);
	/* locks through the same fid never conflict (a shared description) */
	g_assert_cmpint(set(t, &a2, P9_LOCK_TYPE_WRLCK, 0, 5), ==, P9_LOCK_SUCCESS);
	/* an unlock test asks as a reader: b's write lock shows, a's reads do not */
	g_assert_cmpint(test_type(t, &b, P9_LOCK_TYPE_UNLCK, 0, 0, &out), ==, P9_LOCK_TYPE_WRLCK);
	g_assert_cmpuint(out.proc_id, ==, 9);
	/* to the end of the file: length 0 */
	g_assert_cmpint(set(t, &b, P9_LOCK_TYPE_WRLCK, 1000, 0), ==, P9_LOCK_SUCCESS);
	g_assert_cmpint(test_type(t, &a, P9_LOCK_TYPE_RDLCK, UINT64_MAX - 1, 1, &out), ==,
			P9_LOCK_TYPE_WRLCK);
	g_assert_cmpuint(out.length, ==, 0);
	/* a session that goes drops all its locks */
	x9p_locks_drop_session(t, &sb);
	g_assert_cmpint(test_type(t, &a, P9_LOCK_TYPE_WRLCK, 10, 0, &out), ==, P9_LOCK_TYPE_UNLCK);
	b = owner(&sb, 3, 3);
	g_assert_cmpint(set(t, &b, P9_LOCK_TYPE_WRLCK, 200, 1), ==, P9_LOCK_SUCCESS);
	x9p_locks_free(t);
}

static void t_limit(void)
{
	struct x9p_locks *t = x9p_locks_new(4);
	int sa;
	struct x9p_lock_owner a = owner(&sa, 1, 1);

	for (int i = 0; i < 4; i++)
		g_assert_cmpint(set(t, &a, P9_LOCK_TYPE_WRLCK, 10 * i, 5), ==, P9_LOCK_SUCCESS);
	g_assert_cmpint(set(t, &a, P9_LOCK_TYPE_WRLCK, 100, 5), ==, -ENOLCK);
	/* replacing a lock costs nothing; splitting one costs one record */
	g_assert_cmpint(set(t, &a, P9_LOCK_TYPE_RDLCK, 0, 5), ==, P9_LOCK_SUCCESS);
	g_assert_cmpint(set(t, &a, P9_LOCK_TYPE_UNLCK, 11, 1), ==, -ENOLCK);
	/* an unlock that frees records always works */
	g_assert_cmpint(set(t, &a, P9_LOCK_TYPE_UNLCK, 0, 0), ==, P9_LOCK_SUCCESS);
	g_assert_cmpint(set(t, &a, P9_LOCK_TYPE_WRLCK, 100, 5), ==, P9_LOCK_SUCCESS);
	x9p_locks_free(t);
}

/*
 * Random sets, unlocks and tests by five owners (two share a session and a
 * fid) over a 64-byte file, each checked against a model that keeps every
 * owner's lock type per byte.
 */
static void t_model(void)
{
	enum { OWNERS = 5, STEPS = 20000 };
	struct x9p_locks *t = x9p_locks_new(1u << 20);
	int sess[4];
	struct x9p_lock_owner o[OWNERS] = {
		owner(&sess[0], 1, 1), owner(&sess[1], 2, 2), owner(&sess[2], 3, 3),
		owner(&sess[3], 4, 4), owner(&sess[3], 5, 4),
	};
	uint8_t model[OWNERS][CELLS];
	GRand *rnd = g_rand_new_with_seed(12345);

	memset(model, P9_LOCK_TYPE_UNLCK, sizeof(model));
	for (int step = 0; step < STEPS; step++) {
		int w = g_rand_int_range(rnd, 0, OWNERS);
		uint64_t start = (uint64_t)g_rand_int_range(rnd, 0, 64);
		uint64_t len = (uint64_t)g_rand_int_range(rnd, 0, (gint32)(65 - start));
		unsigned last = len ? (unsigned)(start + len - 1) : CELLS - 1;
		uint8_t type = (uint8_t)g_rand_int_range(rnd, 0, 3);   /* RD, WR, UN */
		bool blocked = false;

		for (int x = 0; x < OWNERS && !blocked; x++) {
			if (x == w || (o[x].session == o[w].session && o[x].fid == o[w].fid))
				continue;
			for (unsigned c = (unsigned)start; c <= last; c++) {
				uint8_t m = model[x][c];

				if (m != P9_LOCK_TYPE_UNLCK &&
				    (m == P9_LOCK_TYPE_WRLCK || type == P9_LOCK_TYPE_WRLCK))
					blocked = true;
			}
		}
		if (g_rand_boolean(rnd)) {
			struct p9_lock out;
			bool conflict = false;

			/* An unlock test asks as a reader: only others' write locks. */
			if (type == P9_LOCK_TYPE_UNLCK) {
				for (int x = 0; x < OWNERS; x++) {
					if (x == w || (o[x].session == o[w].session &&
						       o[x].fid == o[w].fid))
						continue;
					for (unsigned c = (unsigned)start; c <= last; c++)
						conflict |= model[x][c] == P9_LOCK_TYPE_WRLCK;
				}
			} else {
				conflict = blocked;
			}
			g_assert_cmpint(test_type(t, &o[w], type, start, len, &out) !=
						P9_LOCK_TYPE_UNLCK, ==, conflict);
			continue;
		}
		if (type != P9_LOCK_TYPE_UNLCK && blocked) {
			g_assert_cmpint(set(t, &o[w], type, start, len), ==, P9_LOCK_BLOCKED);
			continue;
		}
		g_assert_cmpint(set(t, &o[w], type, start, len), ==, P9_LOCK_SUCCESS);
		for (unsigned c = (unsigned)start; c <= last; c++)
			model[w][c] = type;
	}
	g_rand_free(rnd);
	x9p_locks_free(t);
}

/*
 * 16000 owners' locks on one file: placing or testing one more looks at a
 * few dozen of them (a scan looked at all 16000).
 */
static void t_many(void)
{
	enum { N = 16000 };
	struct x9p_locks *t = x9p_locks_new(N + 16);
	int s1, s2;
	struct x9p_lock_owner o = owner(&s1, 0, 1), other = owner(&s2, 0, 2);
	struct p9_lock out;
	unsigned long v1, v2, v3;

	for (uint32_t i = 0; i < N; i++) {
		o.proc_id = i;
		g_assert_cmpint(set(t, &o, i % 2 ? P9_LOCK_TYPE_WRLCK : P9_LOCK_TYPE_RDLCK,
				    (uint64_t)i * 16, 8), ==, P9_LOCK_SUCCESS);
	}
	g_assert_cmpint(set(t, &other, P9_LOCK_TYPE_WRLCK, 8000 * 16 + 8, 8), ==,
			P9_LOCK_SUCCESS);
	v1 = x9p_locks_visits(t);
	g_assert_cmpint(set(t, &other, P9_LOCK_TYPE_WRLCK, 9001 * 16, 1), ==, P9_LOCK_BLOCKED);
	v2 = x9p_locks_visits(t);
	g_assert_cmpint(test_type(t, &other, P9_LOCK_TYPE_RDLCK, 12345 * 16 + 9, 4, &out), ==,
			P9_LOCK_TYPE_UNLCK);
	v3 = x9p_locks_visits(t);
	g_test_message("nodes visited among %d locks: set %lu, blocked set %lu, test %lu", N, v1,
		       v2, v3);
	g_assert_cmpuint(v1, <, 200);
	g_assert_cmpuint(v2, <, 200);
	g_assert_cmpuint(v3, <, 200);
	x9p_locks_drop_session(t, &s1);
	g_assert_cmpint(set(t, &other, P9_LOCK_TYPE_WRLCK, 0, 0), ==, P9_LOCK_SUCCESS);
	x9p_locks_free(t);
}

/*
 * 16000 owners share a read lock over the whole file: another reader's
 * lock, and a writer's attempt, look at a few dozen tree nodes, not at
 * every reader.
 */
static void t_many_readers(void)
{
	enum { N = 16000 };
	struct x9p_locks *t = x9p_locks_new(N + 16);
	int s1, s2;
	struct x9p_lock_owner o = owner(&s1, 0, 1), other = owner(&s2, 0, 2);
	unsigned long v1, v2;

	for (uint32_t i = 0; i < N; i++) {
		o.proc_id = i;
		g_assert_cmpint(set(t, &o, P9_LOCK_TYPE_RDLCK, 0, 0), ==, P9_LOCK_SUCCESS);
	}
	g_assert_cmpint(set(t, &other, P9_LOCK_TYPE_RDLCK, 0, 0), ==, P9_LOCK_SUCCESS);
	v1 = x9p_locks_visits(t);
	g_assert_cmpint(set(t, &other, P9_LOCK_TYPE_WRLCK, 0, 0), ==, P9_LOCK_BLOCKED);
	v2 = x9p_locks_visits(t);
	g_test_message("nodes visited among %d shared read locks: read %lu, write %lu", N, v1,
		       v2);
	g_assert_cmpuint(v1, <, 200);
	g_assert_cmpuint(v2, <, 200);
	x9p_locks_free(t);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/locks/semantics", t_semantics);
	g_test_add_func("/locks/limit", t_limit);
	g_test_add_func("/locks/model", t_model);
	g_test_add_func("/locks/many", t_many);
	g_test_add_func("/locks/many-readers", t_many_readers);
	return g_test_run();
}
