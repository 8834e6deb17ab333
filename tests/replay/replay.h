/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * x9p-replay: runs a recording (backend/record/record.h) against the build
 * through the simulated Xen environment (tests/xen-sim), or a virtqueue
 * recording against x9p-vhost, and compares the replies.
 *
 *   x9p-replay.c  options, the recording's session, the ring driver
 *   replay-vq.c   the virtqueue driver (x9p-vhost over vhost-user), for
 *                 virtqueue recordings
 *   compare.c     what may differ between two runs on two hosts (qid
 *                 paths and versions, times, inode-derived values,
 *                 directory offsets, free space) and the comparison
 *   show.c        a 9P message as one line of its fields
 */
#ifndef X9P_REPLAY_H
#define X9P_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "9p/p9.h"

/* One line: "Rgetattr tag 3 valid 0x7ff qid(d,0,0x12) mode 040755 ..." */
char *replay_show(const uint8_t *frame, size_t len, enum p9_dialect d);

/*
 * The mapping between the recording's run and the replay's: qid paths,
 * and directory offsets per fid.  A reply of the recording and of the
 * replay are equal when they are after normalisation.
 */
struct replay_map;
struct replay_map *replay_map_new(void);
void replay_map_free(struct replay_map *m);

/*
 * Compares the recorded reply with the replayed one to request req (its
 * frame as sent), learning the mapping.  NULL when they match, else a
 * reason (g_free).  u_dir: the request read a directory under 9P2000.u
 * (its data are stat records).
 */
char *replay_compare(struct replay_map *m, const uint8_t *req, size_t reqlen,
		     const uint8_t *rec, size_t reclen, const uint8_t *rep, size_t replen,
		     enum p9_dialect d, bool u_dir);

/* Rewrites a request before it is sent: a Treaddir's offset comes from
 * the recording's run; the replay's own one is sent. */
void replay_rewrite(struct replay_map *m, uint8_t *req, size_t len);

#endif
