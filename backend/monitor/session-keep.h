/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the monitor keeps of a device's 9P session for the device's next
 * worker (journal/journal.h): the journal itself, the open files no name
 * leads to any more that the worker handed over (KEEP_FD, DROP_FD), and
 * for a vhost-user device the frontend connection with its set-up
 * (KEEP_DEVICE), for a socket daemon its connections with their pipes
 * (KEEP_CONN, DROP_CONN).  The monitor never reads any of them: it only
 * holds them.
 *
 * x9p_kept_note() takes a worker's KEEP_FD or DROP_FD with unchecked
 * values: a slot outside the journal's node range, anything but one
 * regular file, or a file beyond MW_KEPT_FDS_MAX is ignored (the limit is
 * logged once); a KEEP_DEVICE whose first descriptor is not a socket, or
 * that has none, leaves no device kept; a KEEP_CONN with a session index
 * out of range, other descriptors than a connection and four pipe ends, or
 * beyond MW_KEPT_CONNS_MAX, is ignored.  x9p_kept_msgs() gives the
 * messages for the next worker, x9p_kept_nfiles() KEPT_FDs, then
 * x9p_kept_nconns() KEPT_CONNs, then a KEPT_DEVICE if
 * x9p_kept_has_device() (g_ptr_array_unref frees them; the descriptors
 * stay here).
 */
#ifndef X9P_MONITOR_SESSION_KEEP_H
#define X9P_MONITOR_SESSION_KEEP_H

#include <glib.h>

#include "privsep/mw.h"

/* A blank journal in a memfd, sealed at its size (a worker cannot shrink
 * it under the next one); -1 with errno. */
int x9p_journal_memfd(void);
/* ... with room for that many sessions (journal/journal.h). */
int x9p_journal_memfd_for(unsigned sessions);

struct x9p_kept;

struct x9p_kept *x9p_kept_new(const char *label);
void x9p_kept_free(struct x9p_kept *k);
void x9p_kept_note(struct x9p_kept *k, const struct mw_msg *m);
GPtrArray *x9p_kept_msgs(struct x9p_kept *k);
unsigned x9p_kept_nfiles(struct x9p_kept *k);
bool x9p_kept_has_device(struct x9p_kept *k);
unsigned x9p_kept_nconns(struct x9p_kept *k);
/* Whether a connection of that label (an "fd:" endpoint's address) is kept. */
bool x9p_kept_has_conn(struct x9p_kept *k, const char *label);
/* The session ended: the files, the device and the connections go. */
void x9p_kept_clear(struct x9p_kept *k);

/*
 * Across an exec of the daemon (a reload): the journal and everything kept
 * go into two environment variables, their descriptors made inheritable;
 * the new program takes them back (and unsets them) with
 * x9p_kept_from_env(), which returns an empty keeper and *journal_fd -1
 * when there is nothing.  Only the daemon's own previous program sets
 * them; each descriptor is still checked to be open.
 */
#define X9P_KEPT_ENV "X9P_KEPT"
#define X9P_KEPT_DEVICE_ENV "X9P_KEPT_DEVICE"
void x9p_kept_to_env(struct x9p_kept *k, int journal_fd);
struct x9p_kept *x9p_kept_from_env(const char *label, int *journal_fd);
/* The same under other variable names (one pair per device of a daemon
 * with several), and into an existing keeper. */
void x9p_kept_to_env_as(struct x9p_kept *k, int journal_fd, const char *var,
			const char *device_var);
void x9p_kept_import_env(struct x9p_kept *k, int *journal_fd, const char *var,
			 const char *device_var);
/* Forgets the descriptors without closing them: they were handed to the
 * program about to be executed (x9p_kept_to_env*). */
void x9p_kept_release(struct x9p_kept *k);

#endif
