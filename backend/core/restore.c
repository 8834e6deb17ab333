// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A session rebuilt from the journal a previous worker of the same device
 * left (journal/journal.h): its fids, each on a driver node walked again
 * by name on first use, files opened again with their mode.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "core/core.h"
#include "journal/journal.h"

void x9p_session_set_journal(struct x9p_session *s, struct x9p_journal *j)
{
	struct x9p_fs *fs = s->srv->fs;

	bool had = s->journal != NULL;

	s->journal = j;
	x9p_fidtab_set_journal(&s->fids, j);
	x9p_locks_set_journal(s->srv->locks, s, j);
	/* The driver's nodes are shared by the journal's sessions: they go
	 * there until the last journaled session leaves it (a session kept
	 * for the next worker leaves first, so that releasing its fids and
	 * nodes does not empty it). */
	if (j && !had) {
		g_atomic_int_inc(&s->srv->journaled);
		if (fs->ops->journal)
			fs->ops->journal(fs, j);
	} else if (!j && had && g_atomic_int_dec_and_test(&s->srv->journaled) &&
		   fs->ops->journal) {
		fs->ops->journal(fs, NULL);
	}
}

struct rebuild {
	struct x9p_session *s;
	unsigned fids, reopen_failed, lost, locks;
};

static void restore_fid(void *arg, const struct x9p_jfid *rec)
{
	struct rebuild *rb = arg;
	struct x9p_session *s = rb->s;
	struct x9p_fs *fs = s->srv->fs;
	struct x9p_ctx c = { rec->uid, (uint32_t)-1, NULL, s, s->channel, NULL };
	struct p9_qid qid = { rec->qtype, rec->qversion, rec->qpath };
	struct x9p_node *n, *parent = NULL;
	struct x9p_fid *f;
	char *name = NULL;

	if (rec->kind != X9P_FID_NONE && rec->kind != X9P_FID_FILE && rec->kind != X9P_FID_DIR)
		return;
	n = fs->ops->node_restore(fs, &c, rec->node, &parent, &name);
	if (!n) {
		rb->lost++;
		return;
	}
	f = x9p_fid_new(fs, rec->num, n, parent, name, &qid, rec->uid);
	f->root_path = rec->root_path;
	if (rec->kind == X9P_FID_DIR) {
		f->kind = X9P_FID_DIR;
		f->hostflags = rec->hostflags;
		f->counted_open = true;
	} else if (rec->kind == X9P_FID_FILE) {
		/* Its first open created or truncated: this one must not. */
		int flags = rec->hostflags & ~(O_CREAT | O_EXCL | O_TRUNC);
		int fd = -1;
		int err = fs->ops->open(fs, &c, n, flags, &fd);

		if (err == 0 && fd >= 0) {
			f->kind = X9P_FID_FILE;
			f->fd = fd;
			f->hostflags = rec->hostflags;
			f->counted_open = true;
		} else {
			if (fd >= 0)
				close(fd);
			rb->reopen_failed++;
			g_debug("%s: fid %u: opening its file again failed: %s", s->channel,
				rec->num, g_strerror(err ? -err : EIO));
		}
	}
	x9p_fidtab_restore(&s->fids, f);
	x9p_fid_unref(f);
	rb->fids++;
}

/* A lock of the previous worker, placed again for this session. */
static void restore_lock(void *arg, const struct x9p_jlock *l)
{
	struct rebuild *rb = arg;
	struct x9p_lock_owner o = { rb->s, l->proc_id, p9_str_c(l->client_id), l->fid };
	uint64_t length = l->end == UINT64_MAX ? 0 : l->end - l->start + 1;

	if (x9p_locks_set(rb->s->srv->locks, l->file, &o, l->type, l->start, length) ==
	    P9_LOCK_SUCCESS)
		rb->locks++;
}

bool x9p_session_rerun(struct x9p_session *s, uint16_t tag, uint8_t *frame, uint32_t len,
		       const struct timespec *since)
{
	const char *name = p9_type_name(frame[4]);

	/* What the transport checked against the journal, whatever the
	 * frontend wrote there since. */
	frame[0] = (uint8_t)len;
	frame[1] = (uint8_t)(len >> 8);
	frame[2] = (uint8_t)(len >> 16);
	frame[3] = (uint8_t)(len >> 24);
	frame[5] = (uint8_t)tag;
	frame[6] = (uint8_t)(tag >> 8);
	g_info("%s: %s (tag %u) runs again", s->channel, name ? name : "message", tag);
	if (x9p_journal_rerun(s->journal, tag) >= X9P_JOURNAL_MAX_RUNS) {
		g_free(frame);
		x9p_session_reply_error(s, tag, EIO);
		return false;
	}
	x9p_session_submit_replay(s, frame, len, since);
	return true;
}

void x9p_session_log_restored(struct x9p_session *s, unsigned fids, unsigned runs,
			      unsigned failed)
{
	g_message("%s: the previous worker's session resumed: %u fids, %u requests run again",
		  s->channel, fids, runs - failed);
	if (failed)
		g_warning("%s: answered EIO after %u workers died under them: %u requests",
			  s->channel, X9P_JOURNAL_MAX_RUNS, failed);
}

static void log_rebuilt(struct x9p_session *s, const struct rebuild *rb)
{
	if (rb->locks)
		g_info("%s: %u locks of the previous worker placed again", s->channel, rb->locks);
	if (rb->reopen_failed)
		g_warning("%s: %u open files of the previous worker could not be opened again",
			  s->channel, rb->reopen_failed);
	if (rb->lost)
		g_warning("%s: %u fids of the previous worker have no node in the journal; they "
			  "are unknown now", s->channel, rb->lost);
}

void x9p_sessions_restore(struct x9p_journal *j, struct x9p_session *const *v, unsigned n,
			  unsigned *fids)
{
	struct rebuild *rb = g_new0(struct rebuild, n + 1);

	for (unsigned i = 0; i < n; i++) {
		struct x9p_session *s = v[i];

		rb[i].s = s;
		if (s->journal && s->srv->fs->ops->node_restore)
			x9p_journal_fids(s->journal, restore_fid, &rb[i]);
	}
	/* The nodes no restored fid claimed, and the old lock records, go
	 * only once every session has taken what it needs. */
	x9p_journal_nodes_done(j);
	for (unsigned i = 0; i < n; i++)
		if (v[i]->journal && v[i]->srv->fs->ops->node_restore)
			x9p_journal_locks(v[i]->journal, restore_lock, &rb[i]);
	x9p_journal_locks_done(j);
	for (unsigned i = 0; i < n; i++) {
		v[i]->resumed = false;
		log_rebuilt(v[i], &rb[i]);
		fids[i] = rb[i].fids;
	}
	g_free(rb);
}

unsigned x9p_session_restore(struct x9p_session *s)
{
	unsigned fids = 0;

	if (!s->journal || !s->srv->fs->ops->node_restore)
		return 0;
	x9p_sessions_restore(s->journal, &s, 1, &fids);
	return fids;
}
