/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Per-session fid table.
 *
 * Contract:
 *  - A fid object is reference counted; the table holds one reference and
 *    every request using the fid holds one.  The node, the open descriptor
 *    and the xattr buffer are released with the last reference, so a Tclunk
 *    racing a Tread never frees what the read still uses.
 *  - The identity of a fid (node, qid, uid) never changes after it is
 *    published; a walk onto itself or a create publishes a new fid object
 *    under the same number (x9p_fidtab_replace).  What changes in place,
 *    under fid->lock, is the open state and the fid's location (parent
 *    directory and name), which follows renames made through the fid;
 *    read the location with x9p_fid_location().
 *  - x9p_fidtab_add refuses a number already in use (-EBADF) and more fids
 *    than the table's limit (-EMFILE).
 *  - With a journal (x9p_fidtab_set_journal), every change of the table
 *    and every open is recorded there under the tag of the request that
 *    made it, so that a new worker rebuilds the table (x9p_fidtab_restore).
 *    Xattr fids are not kept: a new worker does not have them.
 */
#ifndef X9P_FID_H
#define X9P_FID_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "9p/p9.h"
#include "fs/fs.h"

enum x9p_fid_kind {
	X9P_FID_NONE,        /* walked, not opened */
	X9P_FID_FILE,        /* opened regular file: fd valid */
	X9P_FID_DIR,         /* opened directory */
	X9P_FID_XATTR_READ,  /* result of Txattrwalk: xbuf holds the value/list */
	X9P_FID_XATTR_WRITE, /* after Txattrcreate: value collected by Twrite */
};

struct x9p_fid {
	gint ref;
	uint32_t num;
	struct x9p_fs *fs;
	struct x9p_node *node;
	struct p9_qid qid;
	uint64_t root_path;          /* qid.path of the attach root ('..' stops there) */
	uint32_t uid;
	gint privs_gen;              /* mode_gen when no set-ID bits were seen */

	GMutex lock;                 /* protects everything below */
	struct x9p_node *parent;     /* NULL for an attach root */
	char *name;                  /* last component, NULL for the root */
	enum x9p_fid_kind kind;
	int fd;
	int hostflags;               /* flags the fd was opened with */
	bool rclose;                 /* ORCLOSE: remove at clunk */
	bool counted_open;           /* counted against max_open */
	uint64_t dir_offset;         /* .u directory reads: byte offset reached */
	uint64_t dir_cookie;         /* ... and the driver cookie for it */
	/* A listing reached the directory's end at this cookie: the read
	 * that comes right after it there is answered empty without asking
	 * the driver again (only the very next read of the fid, and only
	 * soon; any other lists afresh). */
	bool dir_end_known;
	uint64_t dir_end_cookie;
	uint64_t dir_reads;          /* directory reads begun on this fid */
	uint64_t dir_end_read;       /* ... the one that set the mark */
	gint64 dir_end_time;
	GHashTable *dir_marks;       /* every record boundary sent: offset -> cookie */
	char *xname;
	uint8_t *xbuf;
	size_t xsize, xlen;
	int xflags;
	gint *xcharged_to;           /* the table's xattr budget xbuf counts against */
	size_t xcharged;
};

struct x9p_fidtab {
	GMutex lock;
	GHashTable *map;             /* num -> struct x9p_fid */
	unsigned limit;
	unsigned max_open;
	unsigned nopen;
	gint xbytes;                 /* xattr values held by this table's fids */
	unsigned xbytes_max;
	struct x9p_journal *journal; /* or NULL */
};

void x9p_fidtab_init(struct x9p_fidtab *t, unsigned limit, unsigned max_open);
/* Drops every fid (the table's references); used by Tversion and close. */
void x9p_fidtab_clear(struct x9p_fidtab *t);
void x9p_fidtab_destroy(struct x9p_fidtab *t);

/* New fid object (ref 1, not in a table). Takes ownership of node/parent refs and name. */
struct x9p_fid *x9p_fid_new(struct x9p_fs *fs, uint32_t num, struct x9p_node *node,
			    struct x9p_node *parent, char *name,
			    const struct p9_qid *qid, uint32_t uid);
struct x9p_fid *x9p_fid_ref(struct x9p_fid *f);
/*
 * Copies the fid's location: a new parent reference (NULL for a root) and
 * a g_strdup'ed name.  Returns false, with nothing to free, for a root.
 */
bool x9p_fid_location(struct x9p_fid *f, struct x9p_node **parent, char **name);
/* Moves the fid to (parent, name); takes over a parent reference and name. */
void x9p_fid_set_location(struct x9p_fid *f, struct x9p_node *parent, char *name);
void x9p_fid_unref(struct x9p_fid *f);
/* Caller holds f->lock.  Begins a directory read (its number in *seq):
 * whether a listing of f from cookie is known to be empty; and records
 * where read seq ended (at_end) or that it did not. */
bool x9p_fid_dir_ended(struct x9p_fid *f, uint64_t cookie, uint64_t *seq);
void x9p_fid_dir_note_end(struct x9p_fid *f, uint64_t seq, bool at_end, uint64_t cookie);

/* Returns a new reference, or NULL. */
struct x9p_fid *x9p_fidtab_get(struct x9p_fidtab *t, uint32_t num);
/* tag: of the request making the change, for the journal. */
/* Adds f (the table takes its own reference); 0, -EBADF or -EMFILE. */
int x9p_fidtab_add(struct x9p_fidtab *t, struct x9p_fid *f, uint16_t tag);
/* Replaces the fid numbered f->num (which must exist) with f. */
void x9p_fidtab_replace(struct x9p_fidtab *t, struct x9p_fid *f, uint16_t tag);
/* Removes num; returns the table's reference (caller unrefs) or NULL. */
struct x9p_fid *x9p_fidtab_remove(struct x9p_fidtab *t, uint32_t num, uint16_t tag);
/* f (in the table) was opened by request tag: journals its open state. */
void x9p_fidtab_note_open(struct x9p_fidtab *t, struct x9p_fid *f, uint16_t tag);
void x9p_fidtab_set_journal(struct x9p_fidtab *t, struct x9p_journal *j);
/* Puts back a fid of a previous worker's journal (not journaled again). */
void x9p_fidtab_restore(struct x9p_fidtab *t, struct x9p_fid *f);
/* Counts an opened fid against max_open; -EMFILE when over. */
int x9p_fidtab_count_open(struct x9p_fidtab *t, struct x9p_fid *f);
void x9p_fidtab_uncount_open(struct x9p_fidtab *t, struct x9p_fid *f);
unsigned x9p_fidtab_size(struct x9p_fidtab *t);
/*
 * Counts n bytes of xattr value that f holds against the table's budget
 * until f is freed; -ENOSPC when the table's fids would hold more than
 * xbytes_max.
 */
int x9p_fidtab_charge_xattr(struct x9p_fidtab *t, struct x9p_fid *f, size_t n);

#endif
