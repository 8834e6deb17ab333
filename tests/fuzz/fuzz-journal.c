// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzzer of the session journal (backend/journal/journal.c), under ASan and
 * UBSan.
 *
 * Each round plays a worker: random requests taken, replied to and
 * answered, fid changes under them (never two unanswered requests on one
 * fid, as no client does), Tversion clears, driver nodes added, moved and
 * deleted; then the worker "dies" at a random point and a new one opens
 * the same memfd and restores, settling each recorded request at random
 * (its reply published or not) as a transport does.
 *
 *  - Honest rounds check the restore against a model: every fid as the
 *    last answered request left it, none that an unanswered one made;
 *    every live node with its last location; no dead node claimable; and
 *    afterwards no slot handed out twice.
 *  - Hostile rounds first overwrite random bytes of what the dead worker
 *    wrote (a worker its guest took over writes what it likes there): the
 *    restore must hand out only valid values (names of one component,
 *    slots in range, each fid number once) and the journal must keep
 *    working.
 */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz-common.h"
#include "journal/journal.h"

#define TAGS 48
#define FIDS 40
#define NODES 200
#define LOCKS 32

struct mfid {
	bool live;
	struct x9p_jfid rec;
};

struct model {
	/* the request of each tag: -1 free, else taken (1: replying) */
	int tag_state[TAGS];
	/* fid num -> its current version and, while cur_tag >= 0 (the
	 * unanswered request that made it), the answered one before */
	struct mfid cur[FIDS], base[FIDS];
	int cur_tag[FIDS];
	/* node slot -> what was last written; 0 slots unused */
	struct {
		bool live;
		struct x9p_jnode n;
	} node[NODES + 1];
	uint32_t slots[NODES];      /* live slots, for picking */
	unsigned nslots;
	uint32_t locks[LOCKS];      /* lock record slots, 0: none */
};

static void rand_name(GRand *r, char *buf)
{
	int len = g_rand_int_range(r, 1, 12);

	for (int i = 0; i < len; i++)
		buf[i] = (char)g_rand_int_range(r, 'a', 'z' + 1);
	buf[len] = 0;
}

static uint32_t pick_node(GRand *r, struct model *m)
{
	return m->nslots ? m->slots[g_rand_int_range(r, 0, (gint32)m->nslots)] : 0;
}

/* Would making s a child of p make a cycle? */
static bool below(struct model *m, uint32_t p, uint32_t s)
{
	for (unsigned depth = 0; p && depth <= NODES; depth++, p = m->node[p].n.parent)
		if (p == s)
			return true;
	return false;
}

/* The slots the journal must keep: the driver's, those a fid version it
 * keeps names, and their parents. */
static void needed(struct model *m, bool *need)
{
	bool grew = true;

	memset(need, 0, sizeof(bool) * (NODES + 1));
	for (uint32_t s = 1; s <= NODES; s++)
		need[s] = m->node[s].live;
	for (unsigned f = 0; f < FIDS; f++) {
		if (m->cur[f].live && m->cur[f].rec.node)
			need[m->cur[f].rec.node] = true;
		if (m->cur_tag[f] >= 0 && m->base[f].live && m->base[f].rec.node)
			need[m->base[f].rec.node] = true;
	}
	while (grew) {
		grew = false;
		for (uint32_t s = 1; s <= NODES; s++) {
			uint32_t p = m->node[s].n.parent;

			if (need[s] && p && p <= NODES && !need[p]) {
				need[p] = true;
				grew = true;
			}
		}
	}
}

static void drop_slot(struct model *m, uint32_t s)
{
	for (unsigned i = 0; i < m->nslots; i++)
		if (m->slots[i] == s) {
			m->slots[i] = m->slots[--m->nslots];
			return;
		}
}

/* One step of a worker. */
static void step(GRand *r, struct x9p_journal *j, struct model *m)
{
	int t = g_rand_int_range(r, 0, TAGS);
	uint32_t num = (uint32_t)g_rand_int_range(r, 0, FIDS);

	switch (g_rand_int_range(r, 0, 11)) {
	case 0: /* a request taken */
		if (m->tag_state[t] < 0) {
			x9p_journal_take(j, (uint16_t)t, 0, (uint32_t)g_rand_int(r), 7);
			m->tag_state[t] = 0;
		}
		break;
	case 1: /* its reply goes out */
		if (m->tag_state[t] == 0) {
			x9p_journal_replying(j, (uint16_t)t, (uint32_t)g_rand_int(r));
			m->tag_state[t] = 1;
		}
		break;
	case 2: /* answered: its changes are final */
		if (m->tag_state[t] >= 0) {
			x9p_journal_answered(j, (uint16_t)t);
			m->tag_state[t] = -1;
			for (unsigned f = 0; f < FIDS; f++)
				if (m->cur_tag[f] == t)
					m->cur_tag[f] = -1;
		}
		break;
	case 3: case 4: case 5: /* a fid set or clunked, under tag t */
		if (m->cur_tag[num] >= 0 && m->cur_tag[num] != t)
			break;      /* another request still changes it */
		if (m->tag_state[t] == 1)
			break;      /* the engine changes fids before it replies */
		if (m->cur_tag[num] < 0)
			m->base[num] = m->cur[num];
		/* A fid is always on a node (the engine journals no other). */
		if (g_rand_int_range(r, 0, 3) == 0 || !m->nslots) {
			x9p_journal_fid_del(j, (uint16_t)t, num);
			m->cur[num].live = false;
		} else {
			struct x9p_jfid rec = {
				.num = num, .node = pick_node(r, m), .uid = g_rand_int(r),
				.kind = (uint32_t)g_rand_int_range(r, 0, 3),
				.hostflags = (int32_t)g_rand_int(r), .qtype = (uint8_t)g_rand_int(r),
				.qversion = g_rand_int(r), .qpath = (uint64_t)g_rand_int(r) << 20,
				.root_path = g_rand_int(r),
			};

			x9p_journal_fid_set(j, (uint16_t)t, &rec);
			m->cur[num].live = true;
			m->cur[num].rec = rec;
		}
		/* A change under a free tag has no request to undo it. */
		m->cur_tag[num] = m->tag_state[t] >= 0 ? t : -1;
		break;
	case 6: /* a node made */
		if (m->nslots < NODES - 1) {
			struct x9p_jnode n = { .dev = g_rand_int(r), .ino = g_rand_int(r) };
			uint32_t s;

			n.parent = g_rand_int_range(r, 0, 4) ? pick_node(r, m) : 0;
			n.is_root = !n.parent && g_rand_boolean(r);
			if (n.parent)
				rand_name(r, n.name);
			s = x9p_journal_node_add(j, &n);
			CHECK(s >= 1 && s <= NODES && !m->node[s].live,
			      "node_add handed out slot %u, live or out of range", s);
			if (s >= 1 && s <= NODES && !m->node[s].live) {
				m->node[s].live = true;
				m->node[s].n = n;
				m->slots[m->nslots++] = s;
			}
		}
		break;
	case 7: /* a node renamed or unlinked */
		if (m->nslots) {
			uint32_t s = pick_node(r, m), p = pick_node(r, m);
			char name[16];

			if (g_rand_boolean(r) && p != s && !below(m, p, s)) {
				rand_name(r, name);
				if (g_rand_boolean(r))
					x9p_journal_node_intend(j, s, p, name);
				x9p_journal_node_move(j, s, p, name);
				m->node[s].n.parent = p;
				g_strlcpy(m->node[s].n.name, name, sizeof(m->node[s].n.name));
			} else {
				x9p_journal_node_move(j, s, 0, NULL);
				m->node[s].n.parent = 0;
				m->node[s].n.name[0] = 0;
			}
		}
		break;
	case 8: /* a node released */
		if (m->nslots) {
			uint32_t s = pick_node(r, m);

			x9p_journal_node_del(j, s);
			m->node[s].live = false;
			drop_slot(m, s);
		}
		break;
	case 9: /* a lock record made, changed or gone */
		if (g_rand_boolean(r)) {
			struct x9p_jlock l = { .file = g_rand_int(r), .proc_id = g_rand_int(r),
					       .type = (uint8_t)g_rand_int_range(r, 0, 2) };
			unsigned i = (unsigned)g_rand_int_range(r, 0, LOCKS);

			l.start = (uint64_t)g_rand_int(r);
			l.end = l.start + (uint64_t)g_rand_int_range(r, 0, 1000);
			rand_name(r, l.client_id);
			x9p_journal_lock_put(j, &m->locks[i], &l);
		} else {
			unsigned i = (unsigned)g_rand_int_range(r, 0, LOCKS);

			x9p_journal_lock_del(j, m->locks[i]);
			m->locks[i] = 0;
		}
		break;
	default: /* Tversion, rarely */
		if (g_rand_int_range(r, 0, 20) == 0) {
			x9p_journal_fid_clear(j);
			for (unsigned f = 0; f < FIDS; f++) {
				m->cur[f].live = m->base[f].live = false;
				m->cur_tag[f] = -1;
			}
		}
		break;
	}
}

static void model_init(struct model *m)
{
	memset(m, 0, sizeof(*m));
	for (unsigned t = 0; t < TAGS; t++)
		m->tag_state[t] = -1;
	for (unsigned f = 0; f < FIDS; f++)
		m->cur_tag[f] = -1;
}

/* Overwrites random bytes of what is in the memfd (its data extents). */
static void corrupt(GRand *r, int fd, uint8_t *map, size_t size)
{
	off_t data = lseek(fd, 0, SEEK_DATA);

	while (data >= 0 && (size_t)data < size) {
		off_t hole = lseek(fd, data, SEEK_HOLE);
		size_t len = (size_t)(hole > data ? hole - data : 4096);

		for (int i = g_rand_int_range(r, 0, 24); i > 0; i--) {
			size_t at = (size_t)data + (size_t)g_rand_int_range(r, 0, (gint32)MIN(len, 1u << 30));

			if (g_rand_int_range(r, 0, 4) == 0 && at + 4 <= size)
				memset(map + at, 0xff, 4);
			else
				map[at] = (uint8_t)g_rand_int(r);
		}
		data = hole < 0 ? -1 : lseek(fd, hole, SEEK_DATA);
	}
}

struct seen {
	struct model *m;
	bool hostile;
	GHashTable *nums;
	unsigned count;
};

/* Field by field: the structs have padding. */
static bool same_fid(const struct x9p_jfid *a, const struct x9p_jfid *b)
{
	return a->num == b->num && a->node == b->node && a->uid == b->uid && a->kind == b->kind &&
	       a->hostflags == b->hostflags && a->qtype == b->qtype &&
	       a->qversion == b->qversion && a->qpath == b->qpath && a->root_path == b->root_path;
}

static void on_fid(void *arg, const struct x9p_jfid *f)
{
	struct seen *s = arg;
	const struct mfid *want;
	bool expect;

	s->count++;
	CHECK(!g_hash_table_contains(s->nums, GUINT_TO_POINTER(f->num) + 1),
	      "fid %u restored twice", f->num);
	g_hash_table_add(s->nums, GUINT_TO_POINTER(f->num) + 1);
	if (s->hostile)
		return;
	CHECK(f->num < FIDS, "fid %u was never made", f->num);
	if (f->num >= FIDS)
		return;
	want = s->m->cur_tag[f->num] >= 0 ? &s->m->base[f->num] : &s->m->cur[f->num];
	expect = want->live;
	CHECK(expect, "fid %u restored but it is gone as of the answered requests", f->num);
	CHECK(!expect || same_fid(&want->rec, f),
	      "fid %u restored with other contents than the last answered request left "
	      "(node %u, want %u)", f->num, f->node, want->rec.node);
}

static void on_lock(void *arg, const struct x9p_jlock *l)
{
	struct seen *s = arg;

	s->count++;
	CHECK(l->type <= 1 && l->start <= l->end && memchr(l->client_id, 0, sizeof(l->client_id)),
	      "a lock record that is not valid (type %u, %llu..%llu)", l->type,
	      (unsigned long long)l->start, (unsigned long long)l->end);
}

/* The new worker: settles requests, restores, checks. */
static struct x9p_journal *restore(GRand *r, int fd, unsigned idx, struct model *m,
				   bool hostile)
{
	bool restored = false;
	char *why = NULL;
	struct x9p_journal *j = x9p_journal_open(fd, &restored, &why);

	/* The other sessions are untouched: nothing of this one leaks there. */
	for (unsigned k = 0; j && !hostile && k < x9p_journal_sessions(j); k++) {
		struct x9p_journal *o = x9p_journal_session(j, k);
		struct seen none = { NULL, true, g_hash_table_new(g_direct_hash, g_direct_equal), 0 };
		struct x9p_jreq q;

		if (k == idx)
			continue;
		for (unsigned t = 0; t < X9P_JOURNAL_TAGS; t++)
			CHECK(!x9p_journal_req(o, (uint16_t)t, &q), "session %u has a request of %u",
			      k, idx);
		x9p_journal_fids(o, on_fid, &none);
		x9p_journal_locks(o, on_lock, &none);
		CHECK(none.count == 0, "session %u has %u fids or locks of %u", k, none.count, idx);
		g_hash_table_destroy(none.nums);
	}
	if (j)
		j = x9p_journal_session(j, idx);
	struct seen s = { m, hostile, g_hash_table_new(g_direct_hash, g_direct_equal), 0 };
	bool need[NODES + 1];
	struct x9p_jnode n;

	/* What the dead worker's journal had to keep. */
	needed(m, need);
	CHECK(j != NULL, "the journal does not open again: %s", why ? why : "");
	g_free(why);
	if (!j) {
		g_hash_table_destroy(s.nums);
		return NULL;
	}
	CHECK(hostile || restored, "a journal in use is not found restored");
	for (unsigned t = 0; t < X9P_JOURNAL_TAGS; t++) {
		struct x9p_jreq q;
		bool rec = x9p_journal_req(j, (uint16_t)t, &q);

		if (!hostile && t < TAGS)
			CHECK(rec == (m->tag_state[t] >= 0), "tag %u: recorded %d, taken %d", t, rec,
			      m->tag_state[t]);
		if (!rec)
			continue;
		CHECK(q.state == X9P_JREQ_TAKEN || q.state == X9P_JREQ_REPLYING,
		      "tag %u in state %d", t, q.state);
		/* A replying request's reply may or may not have gone out. */
		if (q.state == X9P_JREQ_REPLYING && g_rand_boolean(r)) {
			x9p_journal_answered(j, (uint16_t)t);
			if (!hostile && t < TAGS) {
				m->tag_state[t] = -1;
				for (unsigned f = 0; f < FIDS; f++)
					if (m->cur_tag[f] == (int)t)
						m->cur_tag[f] = -1;
			}
		}
	}
	x9p_journal_fids(j, on_fid, &s);
	if (!hostile) {
		unsigned want = 0;

		for (unsigned f = 0; f < FIDS; f++) {
			/* Undone: the request runs again and makes it anew. */
			if (m->cur_tag[f] >= 0) {
				m->cur[f] = m->base[f];
				m->cur_tag[f] = -1;
			}
			want += m->cur[f].live;
		}
		CHECK(s.count == want, "%u fids restored, %u expected", s.count, want);
	}
	g_hash_table_destroy(s.nums);
	/* Nodes: every one the model has comes back as written, and those
	 * nothing needs any more are gone. */
	for (uint32_t slot = 1; slot <= NODES; slot++) {
		bool got = x9p_journal_node_claim(j, slot, &n);

		if (got) {
			size_t len = strnlen(n.name, sizeof(n.name));

			CHECK(len < sizeof(n.name), "node %u: name not terminated", slot);
			CHECK(!strchr(n.name, '/'), "node %u: name with a slash", slot);
			CHECK(n.parent == 0 || len > 0, "node %u: a parent and no name", slot);
			CHECK(n.parent != 0 || len == 0, "node %u: a name and no parent", slot);
			len = strnlen(n.alt_name, sizeof(n.alt_name));
			CHECK(len < sizeof(n.alt_name) && !strchr(n.alt_name, '/') &&
			      (n.alt_parent == 0) == (len == 0),
			      "node %u: another location that cannot be walked", slot);
			CHECK(n.parent <= X9P_JOURNAL_MAX_NODES && n.alt_parent <= X9P_JOURNAL_MAX_NODES,
			      "node %u: a parent slot out of range", slot);
			CHECK(!x9p_journal_node_claim(j, slot, &n), "node %u claimed twice", slot);
		}
		if (hostile)
			continue;
		CHECK(got == need[slot], "node %u: claimable %d, needed %d (live %d)", slot, got,
		      need[slot], m->node[slot].live);
		if (got && need[slot]) {
			const struct x9p_jnode *w = &m->node[slot].n;

			CHECK(n.parent == w->parent && strcmp(n.name, w->name) == 0 &&
			      n.dev == w->dev && n.ino == w->ino && n.is_root == w->is_root,
			      "node %u: restored as %u/'%s', written as %u/'%s'", slot, n.parent,
			      n.name, w->parent, w->name);
		}
		/* Claimed: the new driver's node now. */
		if (got && !m->node[slot].live) {
			m->node[slot].live = true;
			m->slots[m->nslots++] = slot;
		}
	}
	x9p_journal_nodes_done(j);
	/* Locks: each record handed out is valid; honest, as many as made. */
	{
		unsigned want = 0;

		s.count = 0;
		x9p_journal_locks(j, on_lock, &s);
		for (unsigned i = 0; i < LOCKS; i++)
			want += m->locks[i] != 0;
		CHECK(hostile || s.count == want, "%u lock records restored, %u made", s.count,
		      want);
		x9p_journal_locks_done(j);
		/* Placed again as new records by the engine; here, none. */
		memset(m->locks, 0, sizeof(m->locks));
	}
	return j;
}

int main(int argc, char **argv)
{
	gint seconds;
	gint64 seed;
	GRand *r;
	gint64 end;
	unsigned rounds = 0, hostile_rounds = 0;

	fuzz_begin(&argc, &argv, "fuzz-journal", "- fuzz the session journal", NULL, &seconds,
		   &seed);
	r = g_rand_new_with_seed((guint32)seed);
	end = g_get_monotonic_time() + (gint64)seconds * G_USEC_PER_SEC;
	while (g_get_monotonic_time() < end && !failure[0]) {
		int fd = memfd_create("fuzz-journal", MFD_CLOEXEC);
		/* One session (a device's), or the model in one of three (a
		 * socket worker's connections) with the others left blank. */
		unsigned nsess = g_rand_boolean(r) ? 1 : 3, idx = g_rand_int_range(r, 0, nsess);
		size_t size = x9p_journal_size_for(nsess);
		struct model *m = g_new(struct model, 1);
		struct x9p_journal *j;
		bool restored, hostile = g_rand_int_range(r, 0, 3) == 0;
		char *why = NULL;
		uint8_t *map;

		model_init(m);
		if (fd < 0 || ftruncate(fd, (off_t)size) < 0) {
			CHECK(0, "memfd: %s", g_strerror(errno));
			break;
		}
		j = x9p_journal_open(fd, &restored, &why);
		CHECK(j && !restored, "a blank journal: %s", why ? why : "restored");
		g_free(why);
		CHECK(!j || x9p_journal_sessions(j) == nsess, "a journal of %u sessions has %u",
		      nsess, j ? x9p_journal_sessions(j) : 0);
		if (j)
			j = x9p_journal_session(j, idx);
		for (int lives = g_rand_int_range(r, 1, 4); j && lives > 0 && !failure[0]; lives--) {
			for (int i = g_rand_int_range(r, 0, 400); i > 0; i--)
				step(r, j, m);
			/* The worker dies: nothing of its memory but the journal is left. */
			x9p_journal_close(j);
			if (hostile) {
				map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
				if (map != MAP_FAILED) {
					corrupt(r, fd, map, size);
					munmap(map, size);
				}
				hostile_rounds++;
			}
			/* Nodes and slots survive; the requests end with the worker. */
			j = restore(r, fd, idx, m, hostile);
			if (hostile) {
				model_init(m);     /* nothing is known any more */
				if (j)
					x9p_journal_fid_clear(j);
			}
		}
		if (j) {
			/* Slots after a restore are still handed out once each. */
			for (int i = 0; i < 300 && !failure[0]; i++)
				step(r, j, m);
			x9p_journal_close(j);
		}
		close(fd);
		g_free(m);
		rounds++;
	}
	g_rand_free(r);
	if (failure[0])
		return fuzz_failed("fuzz-journal", seed, "");
	printf("ok 1 - %u journals, %u of them rewritten by a hostile worker\n", rounds,
	       hostile_rounds);
	return 0;
}
