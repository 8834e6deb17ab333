// SPDX-License-Identifier: GPL-2.0-or-later
/* The journal and the kept files of a device's session; see
 * session-keep.h. */
#define G_LOG_DOMAIN "x9p-backend"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "journal/journal.h"
#include "monitor/session-keep.h"

struct x9p_kept {
	char *label;
	GHashTable *fds;            /* journal node slot -> descriptor */
	bool full;                  /* the limit was logged */
	struct mw_msg *device;      /* the latest KEEP_DEVICE, its descriptors copied */
	GHashTable *conns;          /* journal session -> KEPT_CONN, descriptors copied */
};

int x9p_journal_memfd(void)
{
	return x9p_journal_memfd_for(1);
}

int x9p_journal_memfd_for(unsigned sessions)
{
	int fd = memfd_create("x9p-journal", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd >= 0 && (ftruncate(fd, (off_t)x9p_journal_size_for(sessions)) < 0 ||
			fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static void close_fd(gpointer fd)
{
	close(GPOINTER_TO_INT(fd));
}

static void free_msg(gpointer p)
{
	mw_clear_keep_fds(p);
	g_free(p);
}

static void free_owned_msg(gpointer p)
{
	mw_clear(p);
	g_free(p);
}

/*
 * m as a message of type `type`: its numbers and strings, and its
 * descriptors, duplicated (the copy owns them; NULL when one cannot be)
 * or shared (the copy is freed with free_msg).
 */
static struct mw_msg *msg_copy(const struct mw_msg *m, enum mw_type type, bool dup)
{
	struct mw_msg *d = g_new(struct mw_msg, 1);

	mw_init(d, type, 0);
	memcpy(d->u, m->u, sizeof(d->u[0]) * MIN(m->nu, d->nu));
	for (unsigned i = 0; i < m->ns; i++)
		mw_add_str(d, m->s[i]);
	for (unsigned i = 0; i < m->nfds; i++) {
		int fd = dup ? fcntl(m->fds[i], F_DUPFD_CLOEXEC, 3) : m->fds[i];

		if (fd < 0) {
			free_owned_msg(d);
			return NULL;
		}
		mw_add_fd(d, fd);
	}
	return d;
}

struct x9p_kept *x9p_kept_new(const char *label)
{
	struct x9p_kept *k = g_new0(struct x9p_kept, 1);

	k->label = g_strdup(label);
	k->fds = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, close_fd);
	k->conns = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, free_owned_msg);
	return k;
}

static void drop_device(struct x9p_kept *k)
{
	if (k->device) {
		mw_clear(k->device);
		g_free(k->device);
		k->device = NULL;
	}
}

/* A connection and its set-up (vhost-user); none: the connection ended. */
static void keep_device(struct x9p_kept *k, const struct mw_msg *m)
{
	struct stat st;

	drop_device(k);
	/* The first descriptor must be the connection. */
	if (m->nfds == 0 || m->ns == 0 || fstat(m->fds[0], &st) < 0 || !S_ISSOCK(st.st_mode))
		return;
	k->device = msg_copy(m, MW_KEPT_DEVICE, true);
}

/* The kind of file each of a KEEP_CONN's descriptors must be: the
 * connection's ends (a socket, a pipe or a character device), then four
 * pipe ends. */
static bool conn_fds_ok(const struct mw_msg *m)
{
	struct stat st;

	if (m->nfds != 5 && m->nfds != 6)
		return false;
	for (unsigned i = 0; i < m->nfds; i++) {
		bool pipe_end = i >= m->nfds - 4;

		if (fstat(m->fds[i], &st) < 0 ||
		    (pipe_end ? !S_ISFIFO(st.st_mode) :
				!(S_ISSOCK(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode))))
			return false;
	}
	return true;
}

/* A connection of journal session `session`; DROP_CONN: it is over. */
static void keep_conn(struct x9p_kept *k, const struct mw_msg *m)
{
	uint32_t idx = m->u[MW_KC_SESSION];
	struct mw_msg *d;

	if (idx == 0 || idx >= X9P_JOURNAL_MAX_SESSIONS)
		return;
	if (m->type == MW_DROP_CONN) {
		g_hash_table_remove(k->conns, GUINT_TO_POINTER(idx));
		return;
	}
	if (m->ns != MW_KC_NS || !conn_fds_ok(m) ||
	    (!g_hash_table_contains(k->conns, GUINT_TO_POINTER(idx)) &&
	     g_hash_table_size(k->conns) >= MW_KEPT_CONNS_MAX))
		return;
	d = msg_copy(m, MW_KEPT_CONN, true);
	if (d)
		g_hash_table_insert(k->conns, GUINT_TO_POINTER(idx), d);
	else
		g_warning("%s: cannot keep connection %s for the next worker: %s", k->label,
			  m->s[MW_KC_S_LABEL], g_strerror(errno));
}

void x9p_kept_free(struct x9p_kept *k)
{
	if (!k)
		return;
	drop_device(k);
	g_hash_table_destroy(k->conns);
	g_hash_table_destroy(k->fds);
	g_free(k->label);
	g_free(k);
}

void x9p_kept_clear(struct x9p_kept *k)
{
	g_hash_table_remove_all(k->fds);
	k->full = false;
	drop_device(k);
	g_hash_table_remove_all(k->conns);
}

void x9p_kept_note(struct x9p_kept *k, const struct mw_msg *m)
{
	uint32_t slot = m->u[MW_KF_SLOT];
	struct stat st;
	int fd;

	if (m->type == MW_KEEP_DEVICE) {
		keep_device(k, m);
		return;
	}
	if (m->type == MW_KEEP_CONN || m->type == MW_DROP_CONN) {
		keep_conn(k, m);
		return;
	}
	if (slot == 0 || slot >= X9P_JOURNAL_MAX_NODES)
		return;
	if (m->type == MW_DROP_FD) {
		g_hash_table_remove(k->fds, GUINT_TO_POINTER(slot));
		return;
	}
	/* Only what a guest's open file can be; never more than the limit. */
	if (m->type != MW_KEEP_FD || m->nfds != 1 || fstat(m->fds[0], &st) < 0 ||
	    !S_ISREG(st.st_mode))
		return;
	if (!g_hash_table_contains(k->fds, GUINT_TO_POINTER(slot)) &&
	    g_hash_table_size(k->fds) >= MW_KEPT_FDS_MAX) {
		if (!k->full)
			g_message("%s: already %u open files without a name kept for the next "
				  "worker; more are not", k->label, MW_KEPT_FDS_MAX);
		k->full = true;
		return;
	}
	fd = fcntl(m->fds[0], F_DUPFD_CLOEXEC, 3);
	if (fd >= 0)
		g_hash_table_insert(k->fds, GUINT_TO_POINTER(slot), GINT_TO_POINTER(fd));
}

GPtrArray *x9p_kept_msgs(struct x9p_kept *k)
{
	GPtrArray *a = g_ptr_array_new_with_free_func(free_msg);
	GHashTableIter it;
	gpointer key, v;

	g_hash_table_iter_init(&it, k->fds);
	while (g_hash_table_iter_next(&it, &key, &v)) {
		struct mw_msg *m = g_new(struct mw_msg, 1);

		mw_init(m, MW_KEPT_FD, 0);
		m->u[MW_KF_SLOT] = GPOINTER_TO_UINT(key);
		mw_add_fd(m, GPOINTER_TO_INT(v));
		g_ptr_array_add(a, m);
	}
	g_hash_table_iter_init(&it, k->conns);
	while (g_hash_table_iter_next(&it, &key, &v))
		g_ptr_array_add(a, msg_copy(v, MW_KEPT_CONN, false));
	if (k->device)
		g_ptr_array_add(a, msg_copy(k->device, MW_KEPT_DEVICE, false));
	return a;
}

unsigned x9p_kept_nfiles(struct x9p_kept *k)
{
	return g_hash_table_size(k->fds);
}

unsigned x9p_kept_nconns(struct x9p_kept *k)
{
	return g_hash_table_size(k->conns);
}

bool x9p_kept_has_conn(struct x9p_kept *k, const char *label)
{
	GHashTableIter it;
	gpointer v;

	g_hash_table_iter_init(&it, k->conns);
	while (g_hash_table_iter_next(&it, NULL, &v))
		if (strcmp(((struct mw_msg *)v)->s[MW_KC_S_LABEL], label) == 0)
			return true;
	return false;
}

bool x9p_kept_has_device(struct x9p_kept *k)
{
	return k->device != NULL;
}

/* The descriptor survives an exec. */
static int inheritable(int fd)
{
	int fl = fcntl(fd, F_GETFD);

	if (fl >= 0)
		fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
	return fd;
}

void x9p_kept_to_env(struct x9p_kept *k, int journal_fd)
{
	x9p_kept_to_env_as(k, journal_fd, X9P_KEPT_ENV, X9P_KEPT_DEVICE_ENV);
}

void x9p_kept_to_env_as(struct x9p_kept *k, int journal_fd, const char *var,
			const char *device_var)
{
	GString *v = g_string_new(NULL);
	GHashTableIter it;
	gpointer key, val;

	if (journal_fd >= 0)
		g_string_append_printf(v, "journal=%d", inheritable(journal_fd));
	g_hash_table_iter_init(&it, k->fds);
	while (g_hash_table_iter_next(&it, &key, &val))
		g_string_append_printf(v, " file=%u:%d", GPOINTER_TO_UINT(key),
				       inheritable(GPOINTER_TO_INT(val)));
	g_hash_table_iter_init(&it, k->conns);
	while (g_hash_table_iter_next(&it, &key, &val)) {
		const struct mw_msg *c = val;
		char *l = g_uri_escape_string(c->s[MW_KC_S_LABEL], NULL, FALSE);
		char *p = g_uri_escape_string(c->s[MW_KC_S_PEER], NULL, FALSE);

		g_string_append_printf(v, " conn=%u:%s:%s:", GPOINTER_TO_UINT(key), l, p);
		for (unsigned i = 0; i < c->nfds; i++)
			g_string_append_printf(v, "%s%d", i ? "," : "", inheritable(c->fds[i]));
		g_free(l);
		g_free(p);
	}
	if (k->device) {
		char *state = mw_text(k->device);

		g_string_append(v, " device=");
		for (unsigned i = 0; i < k->device->nfds; i++)
			g_string_append_printf(v, "%s%d", i ? "," : "", inheritable(k->device->fds[i]));
		g_setenv(device_var, state, TRUE);
		g_free(state);
	}
	g_setenv(var, v->str, TRUE);
	g_string_free(v, TRUE);
}

void x9p_kept_release(struct x9p_kept *k)
{
	GHashTableIter it;
	gpointer v;

	g_hash_table_iter_init(&it, k->conns);
	while (g_hash_table_iter_next(&it, NULL, &v))
		((struct mw_msg *)v)->nfds = 0;
	g_hash_table_remove_all(k->conns);
	g_hash_table_steal_all(k->fds);
	if (k->device) {
		k->device->nfds = 0;
		drop_device(k);
	}
}

/* A descriptor named in the environment: one we own, made close-on-exec. */
static int env_fd(const char *s)
{
	char *end;
	long fd = strtol(s, &end, 10);

	if (end == s || fd < 3 || fd > INT_MAX || fcntl((int)fd, F_SETFD, FD_CLOEXEC) < 0)
		return -1;
	return (int)fd;
}

/* "IDX:LABEL:PEER:FD,FD,..." (label and peer %-escaped): one kept
 * connection, checked as a worker's KEEP_CONN is. */
static void import_conn(struct x9p_kept *k, const char *text)
{
	gchar **f = g_strsplit(text, ":", 4);
	struct mw_msg m;

	mw_init(&m, MW_KEEP_CONN, 0);
	if (g_strv_length(f) == 4) {
		gchar **fds = g_strsplit(f[3], ",", -1);
		char *l = g_uri_unescape_string(f[1], NULL), *p = g_uri_unescape_string(f[2], NULL);

		m.u[MW_KC_SESSION] = (uint32_t)strtoul(f[0], NULL, 10);
		mw_add_str(&m, l ? l : "");
		mw_add_str(&m, p ? p : "");
		for (gchar **x = fds; *x && m.nfds < MW_KC_MAX_FDS; x++) {
			int fd = env_fd(*x);

			if (fd >= 0)
				mw_add_fd(&m, fd);
		}
		g_free(l);
		g_free(p);
		g_strfreev(fds);
		/* Copies kept; the inherited descriptors close below. */
		keep_conn(k, &m);
	}
	mw_clear(&m);
	g_strfreev(f);
}

struct x9p_kept *x9p_kept_from_env(const char *label, int *journal_fd)
{
	struct x9p_kept *k = x9p_kept_new(label);

	x9p_kept_import_env(k, journal_fd, X9P_KEPT_ENV, X9P_KEPT_DEVICE_ENV);
	return k;
}

void x9p_kept_import_env(struct x9p_kept *k, int *journal_fd, const char *var,
			 const char *device_var)
{
	const char *v = g_getenv(var), *state = g_getenv(device_var);
	gchar **tok;

	*journal_fd = -1;
	if (!v)
		return;
	tok = g_strsplit(v, " ", -1);
	for (gchar **t = tok; *t; t++) {
		unsigned slot;
		int fd;

		if (g_str_has_prefix(*t, "journal=")) {
			*journal_fd = env_fd(*t + 8);
		} else if (sscanf(*t, "file=%u:", &slot) == 1 && strchr(*t, ':')) {
			fd = env_fd(strchr(*t, ':') + 1);
			if (fd >= 0 && slot > 0 && slot < X9P_JOURNAL_MAX_NODES)
				g_hash_table_insert(k->fds, GUINT_TO_POINTER(slot), GINT_TO_POINTER(fd));
			else if (fd >= 0)
				close(fd);
		} else if (g_str_has_prefix(*t, "conn=")) {
			import_conn(k, *t + 5);
		} else if (g_str_has_prefix(*t, "device=") && state && !k->device) {
			gchar **f = g_strsplit(*t + 7, ",", -1);

			k->device = g_new(struct mw_msg, 1);
			mw_init(k->device, MW_KEPT_DEVICE, 0);
			mw_add_text(k->device, state);
			for (gchar **x = f; *x && k->device->nfds < MW_MAX_FDS; x++) {
				fd = env_fd(*x);
				if (fd >= 0)
					mw_add_fd(k->device, fd);
			}
			g_strfreev(f);
		}
	}
	g_strfreev(tok);
	g_unsetenv(var);
	g_unsetenv(device_var);
}
