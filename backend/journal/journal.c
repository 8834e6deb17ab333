// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The session journal; see journal.h for the contract.
 *
 * Layout (host byte order: the journal never leaves the machine):
 *   page 0       header
 *   tags         X9P_JOURNAL_TAGS request records, indexed by 9P tag
 *   fids         X9P_JOURNAL_MAX_FIDS fid versions
 *   nodes        X9P_JOURNAL_MAX_NODES nodes
 *   locks        X9P_JOURNAL_MAX_LOCKS lock records
 * Slots are handed out lowest first and the header keeps the highest one
 * used, so a restore reads (and the memfd holds) only what was used.
 *
 * A fid has at most two versions in the journal: the current one, and
 * while the request that made it is unanswered, the one before it (what
 * a restore falls back to when that request runs again).
 */
#define G_LOG_DOMAIN "x9p-journal"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <glib.h>

#include "journal/journal.h"

#define MAGIC 0x316c6e726a703978ull     /* "x9pjrnl1" */
#define VERSION 1u

struct head {
	uint64_t magic;
	uint32_t version;
	uint32_t fid_hi, node_hi;   /* slots used: 1..hi */
	uint32_t lock_hi;
	uint32_t read[X9P_JOURNAL_MAX_RINGS];
	uint64_t next_gen, next_rid;
	/* The negotiated version (0: none yet): journals of earlier builds
	 * have zeros here, so the field was added without a new VERSION. */
	uint32_t dialect1, msize;
	uint32_t read_set;          /* rings whose read position was set */
};

struct tagrec {
	uint32_t state, ring, start, len, reply_end, reruns;
	uint64_t rid;
	int64_t sec, nsec;
};

enum { FID_FREE, FID_LIVE, FID_DEAD };

struct fidrec {
	uint32_t state, num;
	uint64_t gen, rid;
	uint32_t tag;               /* of the request that made it (valid with rid) */
	uint32_t node, uid, kind;
	int32_t hostflags;
	uint32_t qversion;
	uint64_t qpath, root_path;
	uint8_t qtype, pad[7];
};

struct loc {
	uint32_t parent, len;
	char name[X9P_JOURNAL_NAME_MAX + 1];
};

struct noderec {
	uint32_t state, which;
	uint64_t dev, ino;
	uint32_t is_root, pad;
	struct loc loc[2];
};

struct lockrec {
	uint32_t state, proc_id, fid;
	uint8_t type, pad[3];
	uint64_t file, start, end;
	char cid[256];
};

#define HEAD_BYTES 4096u
#define TAGS_OFF HEAD_BYTES
#define FIDS_OFF (TAGS_OFF + (size_t)X9P_JOURNAL_TAGS * sizeof(struct tagrec))
#define NODES_OFF (FIDS_OFF + (size_t)X9P_JOURNAL_MAX_FIDS * sizeof(struct fidrec))
#define LOCKS_OFF (NODES_OFF + (size_t)X9P_JOURNAL_MAX_NODES * sizeof(struct noderec))
#define TOTAL (LOCKS_OFF + (size_t)X9P_JOURNAL_MAX_LOCKS * sizeof(struct lockrec))

G_STATIC_ASSERT(sizeof(struct head) <= HEAD_BYTES);

struct x9p_journal {
	uint8_t *base;
	struct head *h;
	struct tagrec *tags;
	struct fidrec *fids;        /* [0] unused: slots are 1-based */
	struct noderec *nodes;
	struct lockrec *locks;
	GArray *free_locks;
	uint32_t restored_lock_hi;  /* restore: the previous worker's records */

	GMutex lock;
	GHashTable *cur, *prev;     /* fid num -> slot */
	GArray *free_fids, *free_nodes;     /* slots below the high mark */
	GArray **touched;           /* per tag: fid nums its request changed */
	guint8 *claimed;            /* restore: node slots taken over */
	struct x9p_journal_keeper keeper;
	guint8 *kept;               /* node slots whose file the keeper holds */
	/*
	 * A node's slot outlives the driver's node while a fid version or a
	 * child's slot names it (a fid a restore may bring back): jrefs counts
	 * those, live says the driver holds the node; freed when neither.
	 */
	uint32_t *jrefs;
	guint8 *live;
	GArray *dropped;            /* lock: slots whose kept file to drop */
	GHashTable *kept_fds;       /* restore: slot -> descriptor + 1 */
};

size_t x9p_journal_size(void)
{
	return TOTAL;
}

static inline uint32_t load(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void publish(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* ---- slots ---- */

static uint32_t slot_alloc(struct x9p_journal *j, GArray *freel, uint32_t *hi, uint32_t max)
{
	if (freel->len) {
		uint32_t s = g_array_index(freel, uint32_t, freel->len - 1);

		g_array_set_size(freel, freel->len - 1);
		return s;
	}
	if (*hi >= max - 1)
		return 0;
	publish(hi, *hi + 1);
	return *hi;
}

/* The parent slot a node's current location names, or 0. */
static uint32_t node_parent(struct x9p_journal *j, uint32_t s)
{
	const struct noderec *r = &j->nodes[s];
	uint32_t p = r->loc[load(&r->which) & 1].parent;

	return p < X9P_JOURNAL_MAX_NODES ? p : 0;
}

/* lock held: frees slot s (and, up the chain, parents only it named) once
 * neither the driver nor a reference needs it; the keeper hears of the
 * kept files of the freed slots at unlock(). */
static void node_release(struct x9p_journal *j, uint32_t s)
{
	while (s && !j->live[s] && !j->jrefs[s] && load(&j->nodes[s].state) == 1) {
		uint32_t p = node_parent(j, s);

		publish(&j->nodes[s].state, 0);
		g_array_append_val(j->free_nodes, s);
		if (j->kept[s]) {
			j->kept[s] = 0;
			g_array_append_val(j->dropped, s);
		}
		s = p;
		if (s && j->jrefs[s])
			j->jrefs[s]--;
	}
}

/* lock held: one reference more or less to node slot s (none in a restore,
 * which counts them all at its end). */
static void node_ref(struct x9p_journal *j, uint32_t s)
{
	if (s && s < X9P_JOURNAL_MAX_NODES && !j->claimed)
		j->jrefs[s]++;
}

static void node_unref(struct x9p_journal *j, uint32_t s)
{
	if (!s || s >= X9P_JOURNAL_MAX_NODES || j->claimed || !j->jrefs[s])
		return;
	j->jrefs[s]--;
	node_release(j, s);
}

/* Unlocks, then tells the keeper about the files of freed slots. */
static void unlock(struct x9p_journal *j)
{
	GArray *d = NULL;

	if (j->dropped->len) {
		d = j->dropped;
		j->dropped = g_array_new(FALSE, FALSE, sizeof(uint32_t));
	}
	g_mutex_unlock(&j->lock);
	for (guint i = 0; d && i < d->len; i++)
		if (j->keeper.drop)
			j->keeper.drop(j->keeper.arg, g_array_index(d, uint32_t, i));
	if (d)
		g_array_free(d, TRUE);
}

static void fid_free(struct x9p_journal *j, uint32_t s)
{
	struct fidrec *f = &j->fids[s];
	bool named = load(&f->state) == FID_LIVE;

	publish(&f->state, FID_FREE);
	g_array_append_val(j->free_fids, s);
	if (named)
		node_unref(j, f->node);
}

/* Reads the slot stored for num in t (0: none). */
static uint32_t map_get(GHashTable *t, uint32_t num)
{
	return GPOINTER_TO_UINT(g_hash_table_lookup(t, GUINT_TO_POINTER(num)));
}

static void map_set(GHashTable *t, uint32_t num, uint32_t slot)
{
	if (slot)
		g_hash_table_insert(t, GUINT_TO_POINTER(num), GUINT_TO_POINTER(slot));
	else
		g_hash_table_remove(t, GUINT_TO_POINTER(num));
}

/* ---- open ---- */

struct x9p_journal *x9p_journal_open(int fd, bool *restored, char **why)
{
	struct x9p_journal *j;
	struct stat st;
	void *p;

	*restored = false;
	if (fstat(fd, &st) < 0 || (size_t)st.st_size != TOTAL) {
		*why = g_strdup_printf("the journal is not %zu bytes", (size_t)TOTAL);
		return NULL;
	}
	p = mmap(NULL, TOTAL, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		*why = g_strdup_printf("mapping the journal failed: %s", g_strerror(errno));
		return NULL;
	}
	j = g_new0(struct x9p_journal, 1);
	j->base = p;
	j->h = p;
	j->tags = (struct tagrec *)(j->base + TAGS_OFF);
	j->fids = (struct fidrec *)(j->base + FIDS_OFF);
	j->nodes = (struct noderec *)(j->base + NODES_OFF);
	j->locks = (struct lockrec *)(j->base + LOCKS_OFF);
	j->free_locks = g_array_new(FALSE, FALSE, sizeof(uint32_t));
	g_mutex_init(&j->lock);
	j->cur = g_hash_table_new(g_direct_hash, g_direct_equal);
	j->prev = g_hash_table_new(g_direct_hash, g_direct_equal);
	j->free_fids = g_array_new(FALSE, FALSE, sizeof(uint32_t));
	j->free_nodes = g_array_new(FALSE, FALSE, sizeof(uint32_t));
	j->touched = g_new0(GArray *, X9P_JOURNAL_TAGS);
	j->kept = g_new0(guint8, X9P_JOURNAL_MAX_NODES);
	j->jrefs = g_new0(uint32_t, X9P_JOURNAL_MAX_NODES);
	j->live = g_new0(guint8, X9P_JOURNAL_MAX_NODES);
	j->dropped = g_array_new(FALSE, FALSE, sizeof(uint32_t));
	j->kept_fds = g_hash_table_new(g_direct_hash, g_direct_equal);

	if (j->h->magic == MAGIC && j->h->version == VERSION) {
		/* A previous worker's: clamp what it says before anything uses it. */
		j->h->fid_hi = MIN(j->h->fid_hi, X9P_JOURNAL_MAX_FIDS - 1);
		j->h->node_hi = MIN(j->h->node_hi, X9P_JOURNAL_MAX_NODES - 1);
		j->h->lock_hi = MIN(j->h->lock_hi, X9P_JOURNAL_MAX_LOCKS - 1);
		j->restored_lock_hi = j->h->lock_hi;
		j->claimed = g_new0(guint8, X9P_JOURNAL_MAX_NODES);
		*restored = true;
	} else {
		/* Blank, or another version's: nothing in it is ours. */
		if (j->h->magic || j->h->version)
			memset(j->base + TAGS_OFF, 0, FIDS_OFF - TAGS_OFF);
		memset(j->h, 0, sizeof(*j->h));
		j->h->version = VERSION;
		publish((uint32_t *)&j->h->magic, (uint32_t)MAGIC);
		publish((uint32_t *)&j->h->magic + 1, (uint32_t)(MAGIC >> 32));
	}
	return j;
}

/* Closes the kept files nobody claimed (a restore's leftovers). */
static void drop_kept_fds(struct x9p_journal *j)
{
	GHashTableIter it;
	gpointer k, v;

	g_hash_table_iter_init(&it, j->kept_fds);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		uint32_t slot = GPOINTER_TO_UINT(k);

		close(GPOINTER_TO_INT(v) - 1);
		if (j->kept[slot] && j->keeper.drop)
			j->keeper.drop(j->keeper.arg, slot);
		j->kept[slot] = 0;
		g_hash_table_iter_remove(&it);
	}
}

void x9p_journal_set_keeper(struct x9p_journal *j, const struct x9p_journal_keeper *k)
{
	j->keeper = *k;
}

void x9p_journal_keep_fd(struct x9p_journal *j, uint32_t slot, int fd)
{
	bool first;

	if (!slot || slot >= X9P_JOURNAL_MAX_NODES || fd < 0 || !j->keeper.keep)
		return;
	g_mutex_lock(&j->lock);
	first = !j->kept[slot];
	j->kept[slot] = 1;
	unlock(j);
	if (first)
		j->keeper.keep(j->keeper.arg, slot, fd);
}

void x9p_journal_kept_fd(struct x9p_journal *j, uint32_t slot, int fd)
{
	gpointer old;

	if (!slot || slot >= X9P_JOURNAL_MAX_NODES || fd < 0) {
		if (fd >= 0)
			close(fd);
		return;
	}
	g_mutex_lock(&j->lock);
	j->kept[slot] = 1;
	old = g_hash_table_lookup(j->kept_fds, GUINT_TO_POINTER(slot));
	g_hash_table_insert(j->kept_fds, GUINT_TO_POINTER(slot), GINT_TO_POINTER(fd + 1));
	unlock(j);
	if (old)
		close(GPOINTER_TO_INT(old) - 1);
}

void x9p_journal_close(struct x9p_journal *j)
{
	if (!j)
		return;
	for (unsigned i = 0; i < X9P_JOURNAL_TAGS; i++)
		if (j->touched[i])
			g_array_free(j->touched[i], TRUE);
	g_free(j->touched);
	g_free(j->claimed);
	g_free(j->kept);
	g_free(j->jrefs);
	g_free(j->live);
	g_array_free(j->dropped, TRUE);
	drop_kept_fds(j);
	g_hash_table_destroy(j->kept_fds);
	g_array_free(j->free_fids, TRUE);
	g_array_free(j->free_nodes, TRUE);
	g_array_free(j->free_locks, TRUE);
	g_hash_table_destroy(j->cur);
	g_hash_table_destroy(j->prev);
	g_mutex_clear(&j->lock);
	munmap(j->base, TOTAL);
	g_free(j);
}

/* ---- requests ---- */

/* lock held: is the version in slot s made by a request still unanswered? */
static bool unanswered(struct x9p_journal *j, uint32_t s)
{
	const struct fidrec *f = &j->fids[s];
	const struct tagrec *t;

	if (!f->rid || f->tag >= X9P_JOURNAL_TAGS)
		return false;
	t = &j->tags[f->tag];
	return t->state != X9P_JREQ_FREE && t->rid == f->rid;
}

uint64_t x9p_journal_take(struct x9p_journal *j, uint16_t tag, uint32_t ring, uint32_t start,
			  uint32_t len)
{
	uint64_t rid;
	struct tagrec *t = &j->tags[tag];
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	g_mutex_lock(&j->lock);
	publish(&t->state, X9P_JREQ_FREE);
	t->ring = ring;
	t->start = start;
	t->len = len;
	t->reply_end = 0;
	t->reruns = 0;
	t->rid = rid = ++j->h->next_rid;
	t->sec = ts.tv_sec;
	t->nsec = ts.tv_nsec;
	publish(&t->state, X9P_JREQ_TAKEN);
	unlock(j);
	return rid;
}

void x9p_journal_replying(struct x9p_journal *j, uint16_t tag, uint32_t reply_end)
{
	struct tagrec *t = &j->tags[tag];

	if (load(&t->state) != X9P_JREQ_TAKEN)
		return;
	t->reply_end = reply_end;
	publish(&t->state, X9P_JREQ_REPLYING);
}

static void answer(struct x9p_journal *j, uint16_t tag, bool check, uint64_t rid)
{
	struct tagrec *t = &j->tags[tag];
	GArray *nums;

	g_mutex_lock(&j->lock);
	if (check && t->rid != rid) {
		/* The tag already carries the client's next request. */
		g_mutex_unlock(&j->lock);
		return;
	}
	publish(&t->state, X9P_JREQ_FREE);
	nums = j->touched[tag];
	j->touched[tag] = NULL;
	/* Its changes are final: the versions they replaced can go. */
	for (guint i = 0; nums && i < nums->len; i++) {
		uint32_t num = g_array_index(nums, uint32_t, i);
		uint32_t c = map_get(j->cur, num), p = map_get(j->prev, num);

		if (!c || unanswered(j, c))
			continue;
		if (p) {
			fid_free(j, p);
			map_set(j->prev, num, 0);
		}
		if (j->fids[c].state == FID_DEAD) {
			fid_free(j, c);
			map_set(j->cur, num, 0);
		}
	}
	unlock(j);
	if (nums)
		g_array_free(nums, TRUE);
}

void x9p_journal_answered(struct x9p_journal *j, uint16_t tag)
{
	answer(j, tag, false, 0);
}

void x9p_journal_answered_rid(struct x9p_journal *j, uint16_t tag, uint64_t rid)
{
	answer(j, tag, true, rid);
}

void x9p_journal_set_version(struct x9p_journal *j, uint32_t dialect, uint32_t msize)
{
	/* A reader checks both and takes nothing it cannot use. */
	publish(&j->h->dialect1, 0);
	publish(&j->h->msize, msize);
	publish(&j->h->dialect1, dialect + 1);
}

bool x9p_journal_version(struct x9p_journal *j, uint32_t *dialect, uint32_t *msize)
{
	uint32_t d1 = load(&j->h->dialect1);

	*msize = load(&j->h->msize);
	if (d1 == 0 || *msize == 0)
		return false;
	*dialect = d1 - 1;
	return true;
}

void x9p_journal_forget_session(struct x9p_journal *j)
{
	publish(&j->h->dialect1, 0);
	publish(&j->h->read_set, 0);
	for (unsigned t = 0; t < X9P_JOURNAL_TAGS; t++)
		if (load(&j->tags[t].state) != X9P_JREQ_FREE)
			x9p_journal_answered(j, (uint16_t)t);
	x9p_journal_fid_clear(j);
	for (uint32_t s = 1; s <= j->h->lock_hi; s++)
		if (load(&j->locks[s].state))
			x9p_journal_lock_del(j, s);
}

void x9p_journal_set_read(struct x9p_journal *j, uint32_t ring, uint32_t pos)
{
	if (ring >= X9P_JOURNAL_MAX_RINGS)
		return;
	publish(&j->h->read[ring], pos);
	if (!(load(&j->h->read_set) & 1u << ring))
		__atomic_fetch_or(&j->h->read_set, 1u << ring, __ATOMIC_RELEASE);
}

bool x9p_journal_read_known(struct x9p_journal *j, uint32_t ring)
{
	return ring < X9P_JOURNAL_MAX_RINGS && (load(&j->h->read_set) & 1u << ring);
}

uint32_t x9p_journal_read_pos(struct x9p_journal *j, uint32_t ring)
{
	return ring < X9P_JOURNAL_MAX_RINGS ? load(&j->h->read[ring]) : 0;
}

unsigned x9p_journal_rerun(struct x9p_journal *j, uint16_t tag)
{
	struct tagrec *t = &j->tags[tag];
	unsigned n;

	g_mutex_lock(&j->lock);
	n = t->reruns < UINT32_MAX ? ++t->reruns : t->reruns;
	unlock(j);
	return n;
}

bool x9p_journal_req(struct x9p_journal *j, uint16_t tag, struct x9p_jreq *out)
{
	const struct tagrec *t = &j->tags[tag];
	uint32_t st = load(&t->state);

	if (st != X9P_JREQ_TAKEN && st != X9P_JREQ_REPLYING)
		return false;
	out->state = (enum x9p_jreq_state)st;
	out->ring = t->ring;
	out->start = t->start;
	out->len = t->len;
	out->reply_end = t->reply_end;
	out->rid = t->rid;
	out->taken.tv_sec = (time_t)t->sec;
	out->taken.tv_nsec = t->nsec >= 0 && t->nsec < 1000000000 ? (long)t->nsec : 0;
	return true;
}

/* ---- fids ---- */

/* lock held: is the version in slot s made by a request whose reply is not
 * being published yet?  (A client changing the fid again has the reply of
 * one that is: it is as good as answered.) */
static bool in_progress(struct x9p_journal *j, uint32_t s)
{
	const struct fidrec *f = &j->fids[s];

	return unanswered(j, s) && load(&j->tags[f->tag].state) == X9P_JREQ_TAKEN;
}

/* lock held: makes version s (written, not yet published) num's current one. */
static void fid_link(struct x9p_journal *j, uint16_t tag, uint32_t num, uint32_t s)
{
	uint32_t c = map_get(j->cur, num), p = map_get(j->prev, num);

	if (!j->fids[s].rid) {
		/* Final at once (no request to run again): nothing to undo to. */
		if (c)
			fid_free(j, c);
		if (p)
			fid_free(j, p);
		map_set(j->prev, num, 0);
	} else if (c && in_progress(j, c)) {
		/* Its maker runs again after a restore: p stays what to undo to. */
		fid_free(j, c);
	} else if (c) {
		if (p)
			fid_free(j, p);
		map_set(j->prev, num, c);
	}
	map_set(j->cur, num, s);
	if (j->fids[s].rid) {
		if (!j->touched[tag])
			j->touched[tag] = g_array_new(FALSE, FALSE, sizeof(uint32_t));
		g_array_append_val(j->touched[tag], num);
	}
}

/* lock held: forgets every version of num (the journal is full). */
static void fid_forget(struct x9p_journal *j, uint32_t num)
{
	uint32_t c = map_get(j->cur, num), p = map_get(j->prev, num);

	if (c)
		fid_free(j, c);
	if (p)
		fid_free(j, p);
	map_set(j->cur, num, 0);
	map_set(j->prev, num, 0);
}

static void fid_write(struct x9p_journal *j, uint16_t tag, uint32_t num, uint32_t state,
		      const struct x9p_jfid *rec)
{
	const struct tagrec *t = &j->tags[tag];
	struct fidrec *f;
	uint32_t s;

	g_mutex_lock(&j->lock);
	s = slot_alloc(j, j->free_fids, &j->h->fid_hi, X9P_JOURNAL_MAX_FIDS);
	if (!s) {
		fid_forget(j, num);
		unlock(j);
		return;
	}
	f = &j->fids[s];
	memset((uint8_t *)f + sizeof(f->state), 0, sizeof(*f) - sizeof(f->state));
	f->num = num;
	f->gen = ++j->h->next_gen;
	f->rid = load(&t->state) != X9P_JREQ_FREE ? t->rid : 0;
	f->tag = tag;
	if (rec) {
		f->node = rec->node < X9P_JOURNAL_MAX_NODES ? rec->node : 0;
		node_ref(j, f->node);
		f->uid = rec->uid;
		f->kind = rec->kind;
		f->hostflags = rec->hostflags;
		f->qtype = rec->qtype;
		f->qversion = rec->qversion;
		f->qpath = rec->qpath;
		f->root_path = rec->root_path;
	}
	publish(&f->state, state);
	fid_link(j, tag, num, s);
	unlock(j);
}

void x9p_journal_fid_set(struct x9p_journal *j, uint16_t tag, const struct x9p_jfid *rec)
{
	fid_write(j, tag, rec->num, FID_LIVE, rec);
}

void x9p_journal_fid_del(struct x9p_journal *j, uint16_t tag, uint32_t num)
{
	fid_write(j, tag, num, FID_DEAD, NULL);
}

void x9p_journal_fid_clear(struct x9p_journal *j)
{
	g_mutex_lock(&j->lock);
	for (uint32_t s = 1; s <= j->h->fid_hi; s++)
		if (load(&j->fids[s].state) != FID_FREE)
			fid_free(j, s);
	g_hash_table_remove_all(j->cur);
	g_hash_table_remove_all(j->prev);
	for (unsigned i = 0; i < X9P_JOURNAL_TAGS; i++)
		if (j->touched[i]) {
			g_array_free(j->touched[i], TRUE);
			j->touched[i] = NULL;
		}
	unlock(j);
}

void x9p_journal_fids(struct x9p_journal *j, void (*fn)(void *arg, const struct x9p_jfid *f),
		      void *arg)
{
	GHashTable *best = g_hash_table_new(g_direct_hash, g_direct_equal);
	GHashTableIter it;
	gpointer k, v;
	GArray *keep = g_array_new(FALSE, FALSE, sizeof(struct x9p_jfid));

	g_mutex_lock(&j->lock);
	g_array_set_size(j->free_fids, 0);
	/* Per fid number, the newest version no request still to run made. */
	for (uint32_t s = 1; s <= j->h->fid_hi; s++) {
		const struct fidrec *f = &j->fids[s];
		uint32_t st = load(&f->state), b;

		if ((st != FID_LIVE && st != FID_DEAD) || unanswered(j, s)) {
			fid_free(j, s);
			continue;
		}
		b = map_get(best, f->num);
		if (b && j->fids[b].gen > f->gen) {
			fid_free(j, s);
			continue;
		}
		if (b)
			fid_free(j, b);
		map_set(best, f->num, s);
	}
	g_hash_table_iter_init(&it, best);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		uint32_t s = GPOINTER_TO_UINT(v);
		const struct fidrec *f = &j->fids[s];
		struct x9p_jfid r = {
			.num = f->num, .node = f->node, .uid = f->uid, .kind = f->kind,
			.hostflags = f->hostflags, .qtype = f->qtype, .qversion = f->qversion,
			.qpath = f->qpath, .root_path = f->root_path,
		};

		if (load(&f->state) == FID_DEAD) {
			fid_free(j, s);
			continue;
		}
		/* Made by answered requests only: final. */
		j->fids[s].rid = 0;
		map_set(j->cur, f->num, s);
		g_array_append_val(keep, r);
	}
	unlock(j);
	g_hash_table_destroy(best);
	for (guint i = 0; i < keep->len; i++)
		fn(arg, &g_array_index(keep, struct x9p_jfid, i));
	g_array_free(keep, TRUE);
}

/* ---- locks ---- */

void x9p_journal_lock_put(struct x9p_journal *j, uint32_t *slot, const struct x9p_jlock *l)
{
	struct lockrec *r;

	g_mutex_lock(&j->lock);
	if (!*slot)
		*slot = slot_alloc(j, j->free_locks, &j->h->lock_hi, X9P_JOURNAL_MAX_LOCKS);
	if (*slot) {
		r = &j->locks[*slot];
		publish(&r->state, 0);
		r->file = l->file;
		r->proc_id = l->proc_id;
		r->fid = l->fid;
		r->type = l->type;
		r->start = l->start;
		r->end = l->end;
		g_strlcpy(r->cid, l->client_id, sizeof(r->cid));
		publish(&r->state, 1);
	}
	unlock(j);
}

void x9p_journal_lock_del(struct x9p_journal *j, uint32_t slot)
{
	if (!slot || slot >= X9P_JOURNAL_MAX_LOCKS)
		return;
	g_mutex_lock(&j->lock);
	publish(&j->locks[slot].state, 0);
	g_array_append_val(j->free_locks, slot);
	unlock(j);
}

void x9p_journal_locks(struct x9p_journal *j, void (*fn)(void *arg, const struct x9p_jlock *l),
		       void *arg)
{
	GArray *found = g_array_new(FALSE, FALSE, sizeof(struct x9p_jlock));

	g_mutex_lock(&j->lock);
	for (uint32_t s = 1; s <= j->restored_lock_hi; s++) {
		const struct lockrec *r = &j->locks[s];
		struct x9p_jlock l = { .file = r->file, .proc_id = r->proc_id, .fid = r->fid,
				       .type = r->type, .start = r->start, .end = r->end };

		if (load(&r->state) != 1 || (l.type != 0 && l.type != 1) || l.start > l.end ||
		    !memchr(r->cid, 0, sizeof(r->cid)))
			continue;
		memcpy(l.client_id, r->cid, sizeof(l.client_id));
		g_array_append_val(found, l);
	}
	g_mutex_unlock(&j->lock);
	for (guint i = 0; i < found->len; i++)
		fn(arg, &g_array_index(found, struct x9p_jlock, i));
	g_array_free(found, TRUE);
}

void x9p_journal_locks_done(struct x9p_journal *j)
{
	g_mutex_lock(&j->lock);
	/* The records placed again are new ones: the old ones can go. */
	for (uint32_t s = j->restored_lock_hi; s >= 1; s--) {
		publish(&j->locks[s].state, 0);
		g_array_append_val(j->free_locks, s);
	}
	j->restored_lock_hi = 0;
	unlock(j);
}

/* ---- nodes ---- */

static void loc_write(struct loc *l, uint32_t parent, const char *name)
{
	size_t len = name ? strnlen(name, X9P_JOURNAL_NAME_MAX + 1) : 0;

	if (len > X9P_JOURNAL_NAME_MAX) {
		parent = 0;     /* cannot be walked again by name */
		len = 0;
	}
	l->parent = parent;
	l->len = (uint32_t)len;
	memcpy(l->name, name ? name : "", len);
	l->name[len] = 0;
}

uint32_t x9p_journal_node_add(struct x9p_journal *j, const struct x9p_jnode *n)
{
	struct noderec *r;
	uint32_t s;

	g_mutex_lock(&j->lock);
	s = slot_alloc(j, j->free_nodes, &j->h->node_hi, X9P_JOURNAL_MAX_NODES);
	if (s) {
		if (j->claimed)
			j->claimed[s] = 1;      /* made during a restore: not the old worker's */
		r = &j->nodes[s];
		r->which = 0;
		r->dev = n->dev;
		r->ino = n->ino;
		r->is_root = n->is_root;
		loc_write(&r->loc[0], n->parent, n->parent ? n->name : NULL);
		loc_write(&r->loc[1], 0, NULL);   /* no previous occupant's name */
		j->live[s] = 1;
		node_ref(j, node_parent(j, s));
		publish(&r->state, 1);
	}
	unlock(j);
	return s;
}

void x9p_journal_node_move(struct x9p_journal *j, uint32_t slot, uint32_t parent,
			   const char *name)
{
	struct noderec *r;
	uint32_t w, old;

	if (!slot || slot >= X9P_JOURNAL_MAX_NODES)
		return;
	r = &j->nodes[slot];
	g_mutex_lock(&j->lock);
	old = node_parent(j, slot);
	w = 1 - (load(&r->which) & 1);
	loc_write(&r->loc[w], name ? parent : 0, name);
	publish(&r->which, w);
	/* The old name is not a place to look for it any more (another file
	 * may take it); x9p_journal_node_intend writes one before a rename. */
	loc_write(&r->loc[1 - w], 0, NULL);
	node_ref(j, node_parent(j, slot));
	node_unref(j, old);
	unlock(j);
}

void x9p_journal_node_intend(struct x9p_journal *j, uint32_t slot, uint32_t parent,
			     const char *name)
{
	struct noderec *r;

	if (!slot || slot >= X9P_JOURNAL_MAX_NODES || !name)
		return;
	r = &j->nodes[slot];
	g_mutex_lock(&j->lock);
	loc_write(&r->loc[1 - (load(&r->which) & 1)], parent, name);
	unlock(j);
}

void x9p_journal_node_del(struct x9p_journal *j, uint32_t slot)
{
	if (!slot || slot >= X9P_JOURNAL_MAX_NODES)
		return;
	g_mutex_lock(&j->lock);
	j->live[slot] = 0;
	if (j->claimed)
		j->claimed[slot] = 0;   /* a restore: claimable again; nodes_done frees it */
	else
		node_release(j, slot);
	unlock(j);
}

/* lock held: a location as the caller may use it (a parent slot in range
 * and one component), or 0 with name "". */
static uint32_t loc_read(struct x9p_journal *j, const struct loc *l, char *name)
{
	uint32_t parent = l->parent <= j->h->node_hi ? l->parent : 0;

	name[0] = 0;
	if (!parent || l->len < 1 || l->len > X9P_JOURNAL_NAME_MAX)
		return 0;
	memcpy(name, l->name, l->len);
	name[l->len] = 0;
	if (strlen(name) != l->len || strchr(name, '/') || strcmp(name, ".") == 0) {
		name[0] = 0;
		return 0;
	}
	return parent;
}

bool x9p_journal_node_claim(struct x9p_journal *j, uint32_t slot, struct x9p_jnode *out)
{
	const struct noderec *r;
	unsigned which;
	bool ok = false;

	out->fd = -1;
	g_mutex_lock(&j->lock);
	if (!j->claimed || !slot || slot > j->h->node_hi || j->claimed[slot])
		goto out;
	r = &j->nodes[slot];
	if (load(&r->state) != 1)
		goto out;
	out->fd = GPOINTER_TO_INT(g_hash_table_lookup(j->kept_fds, GUINT_TO_POINTER(slot))) - 1;
	g_hash_table_remove(j->kept_fds, GUINT_TO_POINTER(slot));
	which = load(&r->which) & 1;
	out->is_root = r->is_root != 0;
	out->dev = r->dev;
	out->ino = r->ino;
	out->parent = loc_read(j, &r->loc[which], out->name);
	out->alt_parent = loc_read(j, &r->loc[1 - which], out->alt_name);
	if (out->alt_parent == out->parent && strcmp(out->alt_name, out->name) == 0) {
		out->alt_parent = 0;
		out->alt_name[0] = 0;
	}
	j->claimed[slot] = 1;
	j->live[slot] = 1;
	ok = true;
out:
	unlock(j);
	return ok;
}

void x9p_journal_nodes_done(struct x9p_journal *j)
{
	g_mutex_lock(&j->lock);
	if (j->claimed) {
		g_array_set_size(j->free_nodes, 0);
		for (uint32_t s = j->h->node_hi; s >= 1; s--) {
			j->jrefs[s] = 0;
			if (j->claimed[s] && load(&j->nodes[s].state) == 1)
				continue;
			publish(&j->nodes[s].state, 0);
			j->live[s] = 0;
			g_array_append_val(j->free_nodes, s);
		}
		/* A fid whose node did not come back is gone too. */
		for (uint32_t s = 1; s <= j->h->fid_hi; s++) {
			struct fidrec *f = &j->fids[s];
			bool named = load(&f->state) == FID_LIVE;

			if (!named)
				continue;
			if (f->node >= X9P_JOURNAL_MAX_NODES || load(&j->nodes[f->node].state) != 1) {
				if (map_get(j->cur, f->num) == s)
					map_set(j->cur, f->num, 0);
				publish(&f->state, FID_FREE);
				g_array_append_val(j->free_fids, s);
				continue;
			}
			j->jrefs[f->node]++;
		}
		for (uint32_t s = 1; s <= j->h->node_hi; s++)
			if (load(&j->nodes[s].state) == 1 && node_parent(j, s))
				j->jrefs[node_parent(j, s)]++;
		g_free(j->claimed);
		j->claimed = NULL;
	}
	unlock(j);
	drop_kept_fds(j);
}
