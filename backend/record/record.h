/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Ring-level recording (x9p-backend --record): a compact binary trace of
 * what a frontend did on a device's rings, for replay (tests/replay/) and
 * bug reports.  The format is docs/trace-format.md; this header is its
 * one definition in code.
 *
 * File: a 32-byte header, then records.
 *   header  magic[8] "x9p-rec\n", u16 version (X9P_REC_VERSION),
 *           u16 flags (X9P_REC_F_*), u32 part, u64 realtime_ns (when the
 *           part began), u64 0
 *   record  u32 len (the whole record, head included), u8 type, u8 ring,
 *           u16 0, u64 t_ns (CLOCK_MONOTONIC), then the body of the type
 * All integers little endian.  Bodies (after the fixed u32 fields, the
 * rest is bytes or text):
 *   WORKER  u32 pid, u32 restored; text "label\noptions" (options:
 *           space-separated key=value, as x9p_rec_options() writes them)
 *   RING    u32 order, in_cons, in_prod, out_cons, out_prod (at set-up)
 *   REQ     u32 at (out ring index), u32 prod (out_prod seen); the frame
 *   REPLY   u32 at (in ring index), u32 0; the frame
 *   EVENT   u32 in_cons, u32 out_prod (read right after the event)
 *   NOTIFY  u32 in_prod, u32 out_cons (as the backend last published them)
 *   FAULT   u32 index (X9P_REC_IDX_*: the index the frontend broke the
 *           ring with, if one), u32 its value; text: why the backend
 *           closed the device
 *   END     u32 why (X9P_REC_END_*)
 *   SEED    a POSIX tar archive of the export as it was when the
 *           recording began (added by x9p-replay --seed, never by the
 *           daemon)
 *
 * Rotation: the daemon hands a recorder two files.  When the current one
 * would pass half the size limit, the other is emptied and becomes the
 * current one, under the next part number, starting again with the
 * WORKER and RING records so that each part stands alone.  A part > 0
 * does not start with the session's beginning: it can be read, not
 * replayed.
 *
 * Redaction (X9P_REC_F_REDACTED): file data (Twrite, Rread) is zeroed and
 * every name and symlink target is replaced by one of the same length,
 * the same for equal names within the recording, so frames keep their
 * sizes and positions.
 *
 * Thread safety: every function may be called from any thread; records
 * are written whole.  Write errors are logged once and end the recording,
 * never the device.
 */
#ifndef X9P_RECORD_H
#define X9P_RECORD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "9p/p9.h"

#define X9P_REC_MAGIC "x9p-rec\n"
#define X9P_REC_VERSION 1
#define X9P_REC_HDR 32u
#define X9P_REC_HEAD 16u
#define X9P_REC_F_REDACTED 1u
/* Default --record-size (MiB): both parts together. */
#define X9P_REC_DEFAULT_MIB 64u

enum x9p_rec_type {
	X9P_REC_WORKER = 1,
	X9P_REC_RING,
	X9P_REC_REQ,
	X9P_REC_REPLY,
	X9P_REC_EVENT,
	X9P_REC_NOTIFY,
	X9P_REC_FAULT,
	X9P_REC_END,
	X9P_REC_SEED,
	X9P_REC_NTYPES,
};

enum x9p_rec_idx {
	X9P_REC_IDX_NONE,
	X9P_REC_IDX_OUT_PROD,        /* requests: beyond the ring */
	X9P_REC_IDX_IN_CONS,         /* replies: ahead of the producer */
};

enum x9p_rec_end {
	X9P_REC_END_STOP,            /* the worker handed the rings over or stopped */
};

struct x9p_rec;

/*
 * A recorder on the two files fd[0], fd[1] (taken over; opened read-write
 * by the monitor, x9p_rec_files()).  It continues in the one with the
 * higher part number, so that a device's next worker appends.  limit:
 * bytes of both parts together.
 */
struct x9p_rec *x9p_rec_new(const int fd[2], uint64_t limit, bool redact);
void x9p_rec_free(struct x9p_rec *r);

/* Whether DIR may hold recordings: a directory of the daemon's user that
 * no one else can write to (else -1 and why, g_free). */
int x9p_rec_dir_check(const char *dir, char **why);
/* Opens (the monitor) DIR/<label>.x9prec and DIR/<label>.1.x9prec, a '/'
 * in label written '-'; unless append, those of the previous connection
 * become <label>.prev.x9prec and <label>.prev.1.x9prec and these start
 * empty.  Refuses (-EPERM) a file
 * that is not a regular file of the daemon's user with one link, and
 * never follows a symbolic link.  0 or -errno. */
int x9p_rec_files(const char *dir, const char *label, bool append, int fd[2]);

/* The options text of a WORKER record: "key=value ..." (g_free). */
char *x9p_rec_options(const char *transport, unsigned nrings, const char *model,
		      bool readonly, unsigned max_files, unsigned max_space_mib,
		      bool auto_delete);

void x9p_rec_worker(struct x9p_rec *r, const char *label, const char *options,
		    bool restored);
void x9p_rec_ring(struct x9p_rec *r, unsigned ring, unsigned order, uint32_t in_cons,
		  uint32_t in_prod, uint32_t out_cons, uint32_t out_prod);
/* A frame (REQ or REPLY) in iov; d: the session's dialect (redaction). */
void x9p_rec_frame(struct x9p_rec *r, enum x9p_rec_type type, unsigned ring, uint32_t at,
		   uint32_t prod, const struct iovec *iov, int iovcnt, enum p9_dialect d);
void x9p_rec_event(struct x9p_rec *r, unsigned ring, uint32_t in_cons, uint32_t out_prod);
void x9p_rec_notify(struct x9p_rec *r, unsigned ring, uint32_t in_prod, uint32_t out_cons);
void x9p_rec_fault(struct x9p_rec *r, unsigned ring, enum x9p_rec_idx idx, uint32_t value,
		   const char *why);
void x9p_rec_end(struct x9p_rec *r, enum x9p_rec_end why);

/* Redaction of one frame in place (record-redact.c); key: the
 * recording's secret, so that names cannot be guessed back. */
void x9p_rec_redact(uint8_t *frame, size_t len, enum p9_dialect d, const uint8_t key[16]);

#endif
