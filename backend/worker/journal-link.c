// SPDX-License-Identifier: GPL-2.0-or-later
/* The worker's session journal and the monitor as its keeper; see
 * journal-link.h. */
#define G_LOG_DOMAIN "x9p-worker"

#include <glib.h>

#include "journal/journal.h"
#include "worker/journal-link.h"

static struct x9p_wlink *mlink;
static const char *label;

static void keep_fd(void *arg, uint32_t slot, int fd)
{
	struct mw_msg m;

	mw_init(&m, MW_KEEP_FD, 0);
	m.u[MW_KF_SLOT] = slot;
	mw_add_fd(&m, fd);
	if (x9p_wlink_send(mlink, &m) < 0)
		g_warning("%s: cannot hand a file to the monitor", label);
	mw_clear_keep_fds(&m);
}

static void drop_fd(void *arg, uint32_t slot)
{
	struct mw_msg m;

	mw_init(&m, MW_DROP_FD, 0);
	m.u[MW_KF_SLOT] = slot;
	x9p_wlink_send(mlink, &m);
	mw_clear(&m);
}

static const struct x9p_journal_keeper keeper = { keep_fd, drop_fd, NULL };

void x9p_worker_keep_conn(void *opaque, unsigned session, const char *clabel,
			  const char *peer, const int *fds, unsigned nfds)
{
	struct mw_msg m;

	mw_init(&m, MW_KEEP_CONN, 0);
	m.u[MW_KC_SESSION] = session;
	mw_add_str(&m, clabel);
	mw_add_str(&m, peer ? peer : "");
	for (unsigned i = 0; i < nfds; i++)
		mw_add_fd(&m, fds[i]);
	if (!mlink || x9p_wlink_send(mlink, &m) < 0)
		g_warning("%s: cannot hand the connection to the monitor; a worker's death "
			  "will end it", clabel);
	mw_clear_keep_fds(&m);
}

void x9p_worker_drop_conn(void *opaque, unsigned session)
{
	struct mw_msg m;

	mw_init(&m, MW_DROP_CONN, 0);
	m.u[MW_KC_SESSION] = session;
	if (mlink)
		x9p_wlink_send(mlink, &m);
	mw_clear(&m);
}

bool x9p_worker_journal(struct mw_msg *c, struct x9p_wlink *link, struct x9p_journal **out,
			bool *restored, struct mw_msg *device, GPtrArray *conns, char **why)
{
	struct x9p_journal *j = NULL;
	char *bad = NULL;

	*out = NULL;
	*restored = false;
	mw_init(device, MW_KEPT_DEVICE, 0);
	label = c->s[MW_CF_S_LABEL];
	/* Kept connections are let go through it even without a journal. */
	mlink = link;
	if (c->u[MW_CF_FLAGS] & MW_CF_JOURNAL) {
		j = x9p_journal_open(c->fds[mw_cf_fd_at(c, MW_CF_JOURNAL)], restored, &bad);
		if (!j) {
			g_warning("%s: no session journal: %s", label, bad);
			g_free(bad);
		}
	}
	if (j)
		x9p_journal_set_keeper(j, &keeper);
	for (unsigned i = 0; i < c->u[MW_CF_KEPT_FDS]; i++) {
		struct mw_msg k;
		int rc = x9p_wlink_recv(link, MW_KEPT_FD, &k);

		if (rc < 0) {
			*why = g_strdup_printf("receiving kept files from the monitor: %s",
					       g_strerror(-rc));
			x9p_journal_close(j);
			return false;
		}
		if (j && k.nfds == 1) {
			x9p_journal_kept_fd(j, k.u[MW_KF_SLOT], k.fds[0]);
			mw_clear_keep_fds(&k);
		}
		mw_clear(&k);
	}
	for (unsigned i = 0; i < c->u[MW_CF_KEPT_CONNS]; i++) {
		struct mw_msg *k = g_new(struct mw_msg, 1);
		int rc = x9p_wlink_recv(link, MW_KEPT_CONN, k);

		if (rc < 0) {
			g_free(k);
			*why = g_strdup_printf("receiving kept connections from the monitor: %s",
					       g_strerror(-rc));
			x9p_journal_close(j);
			return false;
		}
		/* Without the journal they are of no use: they close (and the
		 * monitor closes its copies). */
		if (j && k->ns == MW_KC_NS) {
			g_ptr_array_add(conns, k);
		} else {
			g_warning("%s: a kept connection cannot be taken over without the "
				  "journal; closing it", label);
			x9p_worker_drop_conn(NULL, k->u[MW_KC_SESSION]);
			mw_clear(k);
			g_free(k);
		}
	}
	if (c->u[MW_CF_KEPT_DEVICE]) {
		int rc = x9p_wlink_recv(link, MW_KEPT_DEVICE, device);

		if (rc < 0) {
			*why = g_strdup_printf("receiving the kept device from the monitor: %s",
					       g_strerror(-rc));
			x9p_journal_close(j);
			return false;
		}
	}
	*out = j;
	return true;
}
