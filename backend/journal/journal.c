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
 *   then for each further session (x9p_journal_session): a header, its
 *   tags, fids, inbox and lock records
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

/*
 * Sessions past the first (x9p_journal_session): each an area after the
 * first session's records, a header of the same fields as the first's in
 * struct head, then its requests, fids and inbox.  A journal of one
 * session has the layout it had before there were more.
 */
struct shead {
	uint32_t fid_hi, lock_hi;
	uint32_t read[X9P_JOURNAL_MAX_RINGS];
	uint32_t dialect1, msize, read_set;
	struct x9p_jstream stream;
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
/* A further session's area, from its start. */
#define S_TAGS_OFF HEAD_BYTES
#define S_FIDS_OFF (S_TAGS_OFF + (size_t)X9P_JOURNAL_TAGS * sizeof(struct tagrec))
#define S_INBOX_OFF (S_FIDS_OFF + (size_t)X9P_JOURNAL_MAX_FIDS * sizeof(struct fidrec))
#define S_LOCKS_OFF (S_INBOX_OFF + (size_t)X9P_JOURNAL_INBOX)
#define S_BYTES (S_LOCKS_OFF + (size_t)X9P_JOURNAL_MAX_LOCKS * sizeof(struct lockrec))

G_STATIC_ASSERT(sizeof(struct head) <= HEAD_BYTES);
G_STATIC_ASSERT(sizeof(struct shead) <= HEAD_BYTES);
G_STATIC_ASSERT(X9P_JOURNAL_MAX_SESSIONS <= 65536);

/* What the sessions of one journal share: the driver's nodes and one
 * lock for all. */
struct jshared {
	uint8_t *base;
	size_t size;
	unsigned nsessions;
	struct x9p_journal **sess;  /* handles, made on demand; [0] from open */
	struct head *h;
	struct noderec *nodes;
	GMutex lock;
	GArray *free_nodes;         /* slots below the high mark */
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

/* One session's handle. */
struct x9p_journal {
	struct jshared *sh;
	unsigned idx;
	struct tagrec *tags;
	struct fidrec *fids;        /* [0] unused: slots are 1-based */
	uint32_t *fid_hi, *read, *dialect1, *msize, *read_set;
	/* Its lock records (each session has a table of its own: one client's
	 * locks cannot crowd another's out). */
	struct lockrec *locks;
	uint32_t *lock_hi;
	GArray *free_locks;
	uint32_t restored_lock_hi;  /* restore: the previous worker's records */
	struct x9p_jstream *stream; /* NULL for the first session */
	uint8_t *inbox;             /* NULL for the first session */
	GHashTable *cur, *prev;     /* fid num -> slot */
	GArray *free_fids;          /* slots below the high mark */
	GArray **touched;           /* per tag: fid nums its request changed */
};

size_t x9p_journal_size(void)
{
	return TOTAL;
}

size_t x9p_journal_size_for(unsigned sessions)
{
	sessions = CLAMP(sessions, 1u, X9P_JOURNAL_MAX_SESSIONS);
	return TOTAL + (size_t)(sessions - 1) * S_BYTES;
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
	const struct noderec *r = &j->sh->nodes[s];
	uint32_t p = r->loc[load(&r->which) & 1].parent;

	return p < X9P_JOURNAL_MAX_NODES ? p : 0;
}

/* lock held: frees slot s (and, up the chain, parents only it named) once
 * neither the driver nor a reference needs it; the keeper hears of the
 * kept files of the freed slots at unlock(). */
static void node_release(struct x9p_journal *j, uint32_t s)
{
	while (s && !j->sh->live[s] && !j->sh->jrefs[s] && load(&j->sh->nodes[s].state) == 1) {
		uint32_t p = node_parent(j, s);

		publish(&j->sh->nodes[s].state, 0);
		g_array_append_val(j->sh->free_nodes, s);
		if (j->sh->kept[s]) {
			j->sh->kept[s] = 0;
			g_array_append_val(j->sh->dropped, s);
		}
		s = p;
		if (s && j->sh->jrefs[s])
			j->sh->jrefs[s]--;
	}
}

/* lock held: one reference more or less to node slot s (none in a restore,
 * which counts them all at its end). */
static void node_ref(struct x9p_journal *j, uint32_t s)
{
	if (s && s < X9P_JOURNAL_MAX_NODES && !j->sh->claimed)
		j->sh->jrefs[s]++;
}

static void node_unref(struct x9p_journal *j, uint32_t s)
{
	if (!s || s >= X9P_JOURNAL_MAX_NODES || j->sh->claimed || !j->sh->jrefs[s])
		return;
	j->sh->jrefs[s]--;
	node_release(j, s);
}

/* Unlocks, then tells the keeper about the files of freed slots. */
static void unlock(struct x9p_journal *j)
{
	GArray *d = NULL;

	if (j->sh->dropped->len) {
		d = j->sh->dropped;
		j->sh->dropped = g_array_new(FALSE, FALSE, sizeof(uint32_t));
	}
	g_mutex_unlock(&j->sh->lock);
	for (guint i = 0; d && i < d->len; i++)
		if (j->sh->keeper.drop)
			j->sh->keeper.drop(j->sh->keeper.arg, g_array_index(d, uint32_t, i));
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

static struct x9p_journal *handle_new(struct jshared *sh, unsigned idx)
{
	struct x9p_journal *j = g_new0(struct x9p_journal, 1);

	j->sh = sh;
	j->idx = idx;
	if (idx == 0) {
		j->tags = (struct tagrec *)(sh->base + TAGS_OFF);
		j->fids = (struct fidrec *)(sh->base + FIDS_OFF);
		j->fid_hi = &sh->h->fid_hi;
		j->read = sh->h->read;
		j->dialect1 = &sh->h->dialect1;
		j->msize = &sh->h->msize;
		j->read_set = &sh->h->read_set;
		j->locks = (struct lockrec *)(sh->base + LOCKS_OFF);
		j->lock_hi = &sh->h->lock_hi;
	} else {
		uint8_t *a = sh->base + TOTAL + (size_t)(idx - 1) * S_BYTES;
		struct shead *sh1 = (struct shead *)a;

		j->tags = (struct tagrec *)(a + S_TAGS_OFF);
		j->fids = (struct fidrec *)(a + S_FIDS_OFF);
		j->inbox = a + S_INBOX_OFF;
		j->fid_hi = &sh1->fid_hi;
		j->read = sh1->read;
		j->dialect1 = &sh1->dialect1;
		j->msize = &sh1->msize;
		j->read_set = &sh1->read_set;
		j->stream = &sh1->stream;
		j->locks = (struct lockrec *)(a + S_LOCKS_OFF);
		j->lock_hi = &sh1->lock_hi;
	}
	/* A previous worker's: clamp what it says before anything uses it. */
	*j->fid_hi = MIN(*j->fid_hi, X9P_JOURNAL_MAX_FIDS - 1);
	*j->lock_hi = MIN(*j->lock_hi, X9P_JOURNAL_MAX_LOCKS - 1);
	/* Made during a restore: its records are the previous worker's. */
	j->restored_lock_hi = sh->claimed ? *j->lock_hi : 0;
	j->free_locks = g_array_new(FALSE, FALSE, sizeof(uint32_t));
	j->cur = g_hash_table_new(g_direct_hash, g_direct_equal);
	j->prev = g_hash_table_new(g_direct_hash, g_direct_equal);
	j->free_fids = g_array_new(FALSE, FALSE, sizeof(uint32_t));
	j->touched = g_new0(GArray *, X9P_JOURNAL_TAGS);
	return j;
}

static void handle_free(struct x9p_journal *j)
{
	for (unsigned i = 0; i < X9P_JOURNAL_TAGS; i++)
		if (j->touched[i])
			g_array_free(j->touched[i], TRUE);
	g_free(j->touched);
	g_array_free(j->free_fids, TRUE);
	g_array_free(j->free_locks, TRUE);
	g_hash_table_destroy(j->cur);
	g_hash_table_destroy(j->prev);
	g_free(j);
}

struct x9p_journal *x9p_journal_open(int fd, bool *restored, char **why)
{
	struct jshared *sh;
	struct stat st;
	size_t size;
	void *p;

	*restored = false;
	if (fstat(fd, &st) < 0 || (size_t)st.st_size < TOTAL ||
	    ((size_t)st.st_size - TOTAL) % S_BYTES ||
	    ((size_t)st.st_size - TOTAL) / S_BYTES >= X9P_JOURNAL_MAX_SESSIONS) {
		*why = g_strdup_printf("the journal is not %zu bytes and a whole number of "
				       "sessions of %zu more", (size_t)TOTAL, (size_t)S_BYTES);
		return NULL;
	}
	size = (size_t)st.st_size;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		*why = g_strdup_printf("mapping the journal failed: %s", g_strerror(errno));
		return NULL;
	}
	sh = g_new0(struct jshared, 1);
	sh->base = p;
	sh->size = size;
	sh->nsessions = 1 + (unsigned)((size - TOTAL) / S_BYTES);
	sh->sess = g_new0(struct x9p_journal *, sh->nsessions);
	sh->h = p;
	sh->nodes = (struct noderec *)(sh->base + NODES_OFF);
	g_mutex_init(&sh->lock);
	sh->free_nodes = g_array_new(FALSE, FALSE, sizeof(uint32_t));
	sh->kept = g_new0(guint8, X9P_JOURNAL_MAX_NODES);
	sh->jrefs = g_new0(uint32_t, X9P_JOURNAL_MAX_NODES);
	sh->live = g_new0(guint8, X9P_JOURNAL_MAX_NODES);
	sh->dropped = g_array_new(FALSE, FALSE, sizeof(uint32_t));
	sh->kept_fds = g_hash_table_new(g_direct_hash, g_direct_equal);

	if (sh->h->magic == MAGIC && sh->h->version == VERSION) {
		sh->h->node_hi = MIN(sh->h->node_hi, X9P_JOURNAL_MAX_NODES - 1);
		sh->claimed = g_new0(guint8, X9P_JOURNAL_MAX_NODES);
		*restored = true;
	} else {
		/* Blank, or another version's: nothing in it is ours. */
		if (sh->h->magic || sh->h->version) {
			memset(sh->base + TAGS_OFF, 0, FIDS_OFF - TAGS_OFF);
			/* The further sessions' pages go back to zero. */
			if (size > TOTAL && madvise(sh->base + TOTAL, size - TOTAL, MADV_REMOVE) < 0)
				memset(sh->base + TOTAL, 0, size - TOTAL);
		}
		memset(sh->h, 0, sizeof(*sh->h));
		sh->h->version = VERSION;
		publish((uint32_t *)&sh->h->magic, (uint32_t)MAGIC);
		publish((uint32_t *)&sh->h->magic + 1, (uint32_t)(MAGIC >> 32));
	}
	sh->sess[0] = handle_new(sh, 0);
	return sh->sess[0];
}

unsigned x9p_journal_sessions(struct x9p_journal *j)
{
	return j->sh->nsessions;
}

unsigned x9p_journal_index(struct x9p_journal *j)
{
	return j->idx;
}

struct x9p_jstream *x9p_journal_stream(struct x9p_journal *j)
{
	return j->stream;
}

uint8_t *x9p_journal_inbox(struct x9p_journal *j)
{
	return j->inbox;
}

struct x9p_journal *x9p_journal_session(struct x9p_journal *j, unsigned idx)
{
	struct jshared *sh = j->sh;
	struct x9p_journal *r;

	if (idx >= sh->nsessions)
		return NULL;
	g_mutex_lock(&sh->lock);
	if (!sh->sess[idx])
		sh->sess[idx] = handle_new(sh, idx);
	r = sh->sess[idx];
	g_mutex_unlock(&sh->lock);
	return r;
}

/* Closes the kept files nobody claimed (a restore's leftovers). */
static void drop_kept_fds(struct jshared *sh)
{
	GHashTableIter it;
	gpointer k, v;

	g_hash_table_iter_init(&it, sh->kept_fds);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		uint32_t slot = GPOINTER_TO_UINT(k);

		close(GPOINTER_TO_INT(v) - 1);
		if (sh->kept[slot] && sh->keeper.drop)
			sh->keeper.drop(sh->keeper.arg, slot);
		sh->kept[slot] = 0;
		g_hash_table_iter_remove(&it);
	}
}

void x9p_journal_set_keeper(struct x9p_journal *j, const struct x9p_journal_keeper *k)
{
	j->sh->keeper = *k;
}

void x9p_journal_keep_fd(struct x9p_journal *j, uint32_t slot, int fd)
{
	bool first;

	if (!slot || slot >= X9P_JOURNAL_MAX_NODES || fd < 0 || !j->sh->keeper.keep)
		return;
	g_mutex_lock(&j->sh->lock);
	first = !j->sh->kept[slot];
	j->sh->kept[slot] = 1;
	unlock(j);
	if (first)
		j->sh->keeper.keep(j->sh->keeper.arg, slot, fd);
}

void x9p_journal_kept_fd(struct x9p_journal *j, uint32_t slot, int fd)
{
	gpointer old;

	if (!slot || slot >= X9P_JOURNAL_MAX_NODES || fd < 0) {
		if (fd >= 0)
			close(fd);
		return;
	}
	g_mutex_lock(&j->sh->lock);
	j->sh->kept[slot] = 1;
	old = g_hash_table_lookup(j->sh->kept_fds, GUINT_TO_POINTER(slot));
	g_hash_table_insert(j->sh->kept_fds, GUINT_TO_POINTER(slot), GINT_TO_POINTER(fd + 1));
	unlock(j);
	if (old)
		close(GPOINTER_TO_INT(old) - 1);
}

void x9p_journal_close(struct x9p_journal *j)
{
	struct jshared *sh;

	if (!j)
		return;
	sh = j->sh;
	for (unsigned i = 0; i < sh->nsessions; i++)
		if (sh->sess[i])
			handle_free(sh->sess[i]);
	g_free(sh->sess);
	g_free(sh->claimed);
	g_free(sh->kept);
	g_free(sh->jrefs);
	g_free(sh->live);
	g_array_free(sh->dropped, TRUE);
	drop_kept_fds(sh);
	g_hash_table_destroy(sh->kept_fds);
	g_array_free(sh->free_nodes, TRUE);
	g_mutex_clear(&sh->lock);
	munmap(sh->base, sh->size);
	g_free(sh);
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
	g_mutex_lock(&j->sh->lock);
	publish(&t->state, X9P_JREQ_FREE);
	t->ring = ring;
	t->start = start;
	t->len = len;
	t->reply_end = 0;
	t->reruns = 0;
	t->rid = rid = ++j->sh->h->next_rid;
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

	g_mutex_lock(&j->sh->lock);
	if (check && t->rid != rid) {
		/* The tag already carries the client's next request. */
		g_mutex_unlock(&j->sh->lock);
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
	publish(j->dialect1, 0);
	publish(j->msize, msize);
	publish(j->dialect1, dialect + 1);
}

bool x9p_journal_version(struct x9p_journal *j, uint32_t *dialect, uint32_t *msize)
{
	uint32_t d1 = load(j->dialect1);

	*msize = load(j->msize);
	if (d1 == 0 || *msize == 0)
		return false;
	*dialect = d1 - 1;
	return true;
}

void x9p_journal_forget_session(struct x9p_journal *j)
{
	publish(j->dialect1, 0);
	publish(j->read_set, 0);
	for (unsigned t = 0; t < X9P_JOURNAL_TAGS; t++)
		if (load(&j->tags[t].state) != X9P_JREQ_FREE)
			x9p_journal_answered(j, (uint16_t)t);
	x9p_journal_fid_clear(j);
	for (uint32_t s = 1; s <= *j->lock_hi; s++)
		if (load(&j->locks[s].state))
			x9p_journal_lock_del(j, s);
}

void x9p_journal_set_read(struct x9p_journal *j, uint32_t ring, uint32_t pos)
{
	if (ring >= X9P_JOURNAL_MAX_RINGS)
		return;
	publish(&j->read[ring], pos);
	if (!(load(j->read_set) & 1u << ring))
		__atomic_fetch_or(j->read_set, 1u << ring, __ATOMIC_RELEASE);
}

bool x9p_journal_read_known(struct x9p_journal *j, uint32_t ring)
{
	return ring < X9P_JOURNAL_MAX_RINGS && (load(j->read_set) & 1u << ring);
}

uint32_t x9p_journal_read_pos(struct x9p_journal *j, uint32_t ring)
{
	return ring < X9P_JOURNAL_MAX_RINGS ? load(&j->read[ring]) : 0;
}

unsigned x9p_journal_rerun(struct x9p_journal *j, uint16_t tag)
{
	struct tagrec *t = &j->tags[tag];
	unsigned n;

	g_mutex_lock(&j->sh->lock);
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

	g_mutex_lock(&j->sh->lock);
	s = slot_alloc(j, j->free_fids, j->fid_hi, X9P_JOURNAL_MAX_FIDS);
	if (!s) {
		fid_forget(j, num);
		unlock(j);
		return;
	}
	f = &j->fids[s];
	memset((uint8_t *)f + sizeof(f->state), 0, sizeof(*f) - sizeof(f->state));
	f->num = num;
	f->gen = ++j->sh->h->next_gen;
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
	g_mutex_lock(&j->sh->lock);
	for (uint32_t s = 1; s <= (*j->fid_hi); s++)
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

	g_mutex_lock(&j->sh->lock);
	g_array_set_size(j->free_fids, 0);
	/* Per fid number, the newest version no request still to run made. */
	for (uint32_t s = 1; s <= (*j->fid_hi); s++) {
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

	g_mutex_lock(&j->sh->lock);
	if (!*slot)
		*slot = slot_alloc(j, j->free_locks, j->lock_hi, X9P_JOURNAL_MAX_LOCKS);
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
	g_mutex_lock(&j->sh->lock);
	publish(&j->locks[slot].state, 0);
	g_array_append_val(j->free_locks, slot);
	unlock(j);
}

void x9p_journal_locks(struct x9p_journal *j, void (*fn)(void *arg, const struct x9p_jlock *l),
		       void *arg)
{
	GArray *found = g_array_new(FALSE, FALSE, sizeof(struct x9p_jlock));

	g_mutex_lock(&j->sh->lock);
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
	g_mutex_unlock(&j->sh->lock);
	for (guint i = 0; i < found->len; i++)
		fn(arg, &g_array_index(found, struct x9p_jlock, i));
	g_array_free(found, TRUE);
}

void x9p_journal_locks_done(struct x9p_journal *j)
{
	g_mutex_lock(&j->sh->lock);
	/* The records placed again are new ones: the old ones can go. */
	for (unsigned i = 0; i < j->sh->nsessions; i++) {
		struct x9p_journal *h = j->sh->sess[i];

		for (uint32_t s = h ? h->restored_lock_hi : 0; s >= 1; s--) {
			publish(&h->locks[s].state, 0);
			g_array_append_val(h->free_locks, s);
		}
		if (h)
			h->restored_lock_hi = 0;
	}
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

	g_mutex_lock(&j->sh->lock);
	s = slot_alloc(j, j->sh->free_nodes, &j->sh->h->node_hi, X9P_JOURNAL_MAX_NODES);
	if (s) {
		if (j->sh->claimed)
			j->sh->claimed[s] = 1;      /* made during a restore: not the old worker's */
		r = &j->sh->nodes[s];
		r->which = 0;
		r->dev = n->dev;
		r->ino = n->ino;
		r->is_root = n->is_root;
		loc_write(&r->loc[0], n->parent, n->parent ? n->name : NULL);
		loc_write(&r->loc[1], 0, NULL);   /* no previous occupant's name */
		j->sh->live[s] = 1;
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
	r = &j->sh->nodes[slot];
	g_mutex_lock(&j->sh->lock);
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
	r = &j->sh->nodes[slot];
	g_mutex_lock(&j->sh->lock);
	loc_write(&r->loc[1 - (load(&r->which) & 1)], parent, name);
	unlock(j);
}

void x9p_journal_node_del(struct x9p_journal *j, uint32_t slot)
{
	if (!slot || slot >= X9P_JOURNAL_MAX_NODES)
		return;
	g_mutex_lock(&j->sh->lock);
	j->sh->live[slot] = 0;
	if (j->sh->claimed)
		j->sh->claimed[slot] = 0;   /* a restore: claimable again; nodes_done frees it */
	else
		node_release(j, slot);
	unlock(j);
}

/* lock held: a location as the caller may use it (a parent slot in range
 * and one component), or 0 with name "". */
static uint32_t loc_read(struct x9p_journal *j, const struct loc *l, char *name)
{
	uint32_t parent = l->parent <= j->sh->h->node_hi ? l->parent : 0;

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
	g_mutex_lock(&j->sh->lock);
	if (!j->sh->claimed || !slot || slot > j->sh->h->node_hi || j->sh->claimed[slot])
		goto out;
	r = &j->sh->nodes[slot];
	if (load(&r->state) != 1)
		goto out;
	out->fd = GPOINTER_TO_INT(g_hash_table_lookup(j->sh->kept_fds, GUINT_TO_POINTER(slot))) - 1;
	g_hash_table_remove(j->sh->kept_fds, GUINT_TO_POINTER(slot));
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
	j->sh->claimed[slot] = 1;
	j->sh->live[slot] = 1;
	ok = true;
out:
	unlock(j);
	return ok;
}

/* lock held, nodes_done: drops j's fids whose node is gone, counts the
 * references of the others. */
static void fids_recount(struct x9p_journal *j)
{
	for (uint32_t s = 1; s <= *j->fid_hi; s++) {
		struct fidrec *f = &j->fids[s];
		bool named = load(&f->state) == FID_LIVE;

		if (!named)
			continue;
		if (f->node >= X9P_JOURNAL_MAX_NODES || load(&j->sh->nodes[f->node].state) != 1) {
			if (map_get(j->cur, f->num) == s)
				map_set(j->cur, f->num, 0);
			publish(&f->state, FID_FREE);
			g_array_append_val(j->free_fids, s);
			continue;
		}
		j->sh->jrefs[f->node]++;
	}
}

/* lock held, a restore: a session nobody took over (its connection was
 * not kept) goes back to blank, so that its fids hold no node and its
 * records are not read as a later connection's. */
static void session_wipe(struct jshared *sh, unsigned idx)
{
	uint8_t *a = sh->base + TOTAL + (size_t)(idx - 1) * S_BYTES;

	if (madvise(a, S_BYTES, MADV_REMOVE) < 0)
		memset(a, 0, S_BYTES);
}

void x9p_journal_nodes_done(struct x9p_journal *j)
{
	g_mutex_lock(&j->sh->lock);
	if (j->sh->claimed) {
		for (unsigned i = 1; i < j->sh->nsessions; i++)
			if (!j->sh->sess[i])
				session_wipe(j->sh, i);
		g_array_set_size(j->sh->free_nodes, 0);
		for (uint32_t s = j->sh->h->node_hi; s >= 1; s--) {
			j->sh->jrefs[s] = 0;
			if (j->sh->claimed[s] && load(&j->sh->nodes[s].state) == 1)
				continue;
			publish(&j->sh->nodes[s].state, 0);
			j->sh->live[s] = 0;
			g_array_append_val(j->sh->free_nodes, s);
		}
		/* A fid whose node did not come back is gone too. */
		for (unsigned i = 0; i < j->sh->nsessions; i++)
			if (j->sh->sess[i])
				fids_recount(j->sh->sess[i]);
		for (uint32_t s = 1; s <= j->sh->h->node_hi; s++)
			if (load(&j->sh->nodes[s].state) == 1 && node_parent(j, s))
				j->sh->jrefs[node_parent(j, s)]++;
		g_free(j->sh->claimed);
		j->sh->claimed = NULL;
	}
	unlock(j);
	drop_kept_fds(j->sh);
}
