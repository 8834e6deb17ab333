/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fs.h operations of the proxy driver: each one is one helper round
 * trip (plus re-walks of nodes after a helper restart).  Everything that
 * comes back is checked before it reaches the caller.
 */
#define G_LOG_DOMAIN "x9p-proxy"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "fs/proxy-int.h"

/*
 * Requests outlive the helper: when it goes away before answering (killed,
 * crashed), op_call() sends the request again to the next helper, with its
 * nodes walked again there.  Most requests simply run again.  Those that
 * change a name cannot: they may have taken effect before the helper went,
 * and running them again fails (EEXIST, ENOENT) where the first run
 * succeeded.  Their verify function tells the two apart by what the
 * request leaves behind, and answers success when the effect is there and
 * is theirs: a new entry whose ctime is not older than the request, the
 * link's inode under its name, a name gone.  No request is executed twice:
 * the second run is refused by the filesystem, never repeated.
 */
#define MAX_LOST 5              /* helpers one request may see go */
#define MAX_TRIES 50            /* attempts, however they ended */

struct op;
typedef int (*op_verify_fn)(struct op *o, int e, int *fd);

/* A request about up to two nodes: the connection and their helper ids on it. */
struct op {
	struct px_fs *fs;
	const struct x9p_ctx *c;
	struct px_conn *cn;
	struct x9p_px_req q;
	struct x9p_px_rep rep;
	uint8_t *buf;
	struct x9p_node *node[2];   /* resolved into *hid[i] on each helper */
	uint64_t *hid[2];
	unsigned nnodes;
	op_verify_fn verify;        /* for a request sent again, or NULL */
	unsigned lost, lost_gen, tries;
	struct timespec sent;       /* CLOCK_REALTIME_COARSE before it first went */
	/* A RENAME found done: the file now at the new name. */
	bool found_done;
	struct x9p_px_attr found;
};

static int op_begin(struct op *o, struct x9p_fs *fs, const struct x9p_ctx *c, uint16_t op)
{
	memset(o, 0, sizeof(*o));
	o->fs = PXFS(fs);
	o->c = c;
	o->q.h.op = op;
	return px_conn_get(o->fs, c, &o->cn);
}

/*
 * The request names n in *hid (o->q.node, then o->q.node2): resolved on
 * each helper it is sent to (op_send).
 */
static void op_node(struct op *o, struct x9p_node *n, uint64_t *hid)
{
	g_assert(o->nnodes < G_N_ELEMENTS(o->node));
	o->node[o->nnodes] = n;
	o->hid[o->nnodes++] = hid;
}

/* One attempt on o->cn: PX_LOST when its helper went away. */
static int op_send(struct op *o, int *fd)
{
	int e = 0;

	if (!o->tries++) {
		clock_gettime(CLOCK_REALTIME_COARSE, &o->sent);
		if (o->c && o->c->replay_since) {
			/* Its previous worker may have run it: as if a helper had
			 * been lost under it since then. */
			o->sent = *o->c->replay_since;
			o->lost = 1;
		}
	}
	for (unsigned i = 0; e == 0 && i < o->nnodes; i++)
		e = px_node_hid(o->fs, o->cn, o->c, o->node[i], o->hid[i]);
	g_free(o->buf);
	o->buf = NULL;
	if (e == 0)
		e = px_call(o->fs, o->cn, o->c, &o->q, &o->rep, &o->buf, fd);
	if (e != PX_LOST && o->lost && o->verify) {
		int v = o->verify(o, e, fd);

		if (v == 0 && e < 0)
			g_atomic_int_inc((gint *)&o->fs->found_done);
		e = v;
	}
	return e;
}

/* After a lost attempt: waits for the next helper, or says why not. */
static int op_next_helper(struct op *o)
{
	const char *name = x9p_px_op_name(o->q.h.op);

	if (o->cn->gen != o->lost_gen) {
		o->lost++;
		o->lost_gen = o->cn->gen;
	}
	if (o->lost >= MAX_LOST || o->tries >= MAX_TRIES) {
		g_warning("%s: %u helpers went away under this request; it fails with EIO",
			  name ? name : "?", o->lost);
		return -EIO;
	}
	if (x9p_ctx_cancelled(o->c))
		return -EINTR;
	px_conn_put(o->cn);
	o->cn = NULL;
	g_atomic_int_inc((gint *)&o->fs->reruns);
	return px_conn_get(o->fs, o->c, &o->cn);
}

static int op_call(struct op *o, int *fd)
{
	for (;;) {
		int e = op_send(o, fd);

		if (e != PX_LOST)
			return e;
		e = op_next_helper(o);
		if (e)
			return e;
	}
}

static void op_end(struct op *o)
{
	g_free(o->buf);
	o->buf = NULL;
	px_conn_put(o->cn);
	o->cn = NULL;
}

static struct x9p_px_str pstr(const char *s)
{
	struct x9p_px_str r = { s, (uint16_t)strnlen(s, 0xffff) };
	return r;
}

static int check_name(const char *name, bool allow_dotdot)
{
	return name ? x9p_px_check_name(name, strlen(name), allow_dotdot) : -EINVAL;
}

/* Releases the helper node of a reply we are not going to use. */
static void op_forget(struct op *o)
{
	struct x9p_px_req q = { .h = { .op = X9P_PX_CLUNK }, .node = o->rep.node };

	px_send_noreply(o->fs, o->cn, &q);
}

static int attr_out(struct op *o, struct x9p_attr *attr)
{
	struct x9p_attr tmp;

	return px_attr_to_fs(&o->fs->qid, &o->rep.attr, attr ? attr : &tmp);
}

/*
 * A descriptor from the helper must be what we asked for: an opened
 * regular file (never O_PATH, never a directory) with our access mode.
 */
static int check_fd(struct op *o, int fd, int want_acc)
{
	struct stat st;
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || (fl & O_PATH) || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (fl & O_ACCMODE) != want_acc) {
		close(fd);
		px_conn_fail(o->fs, o->cn, "a descriptor that is not the regular file asked for");
		return -EIO;
	}
	return 0;
}

/* ---- telling whether a request sent again had already taken effect ---- */

/* A request of a verify function, on o's helper (PX_LOST included). */
static int op_sub(struct op *o, struct x9p_px_req *q, struct x9p_px_rep *rep, int *fd)
{
	uint8_t *buf = NULL;
	int e = px_call(o->fs, o->cn, o->c, q, rep, &buf, fd);

	/* Only fixed-size fields (node, attr) of these replies are used. */
	g_free(buf);
	return e;
}

static void op_clunk(struct op *o, uint64_t node)
{
	struct x9p_px_req q = { .h = { .op = X9P_PX_CLUNK }, .node = node };

	px_send_noreply(o->fs, o->cn, &q);
}

/* The name in the directory with helper id dir: 0 with its node (to clunk) and attributes. */
static int sub_walk(struct op *o, uint64_t dir, struct x9p_px_str name, struct x9p_px_rep *rep)
{
	struct x9p_px_req q = { .h = { .op = X9P_PX_WALK }, .node = dir, .name = name };

	return op_sub(o, &q, rep, NULL);
}

static bool not_older(const struct timespec *t, const struct timespec *since)
{
	return t->tv_sec > since->tv_sec ||
	       (t->tv_sec == since->tv_sec && t->tv_nsec >= since->tv_nsec);
}

/* Is the entry at o's name (o->q.node2/name2 when second) changed since o was sent? */
static int entry_is_new(struct op *o, bool second, uint32_t type, struct x9p_px_rep *w)
{
	int e = second ? sub_walk(o, o->q.node2, o->q.name2, w) : sub_walk(o, o->q.node, o->q.name, w);

	if (e)
		return e;
	if ((type && (w->attr.mode & S_IFMT) != type) || !not_older(&w->attr.ctime, &o->sent)) {
		op_clunk(o, w->node);
		return 1;
	}
	return 0;
}

static uint32_t made_type(const struct op *o)
{
	switch (o->q.h.op) {
	case X9P_PX_MKDIR: return S_IFDIR;
	case X9P_PX_SYMLINK: return S_IFLNK;
	case X9P_PX_CREATE: return S_IFREG;
	default: return o->q.mode & S_IFMT;
	}
}

/*
 * CREATE, MKDIR, MKNOD, SYMLINK found their name taken.  Their own work
 * when the entry has their type and is no older than the request: its mode
 * and owner are set again (the helper may have gone between creating it
 * and setting them) and the reply is what the request would have got.
 */
static int made_verify(struct op *o, int e, int *fd)
{
	struct x9p_px_rep w, r;
	int x;

	if (e != -EEXIST)
		return e;
	x = entry_is_new(o, false, made_type(o), &w);
	if (x)
		return x == PX_LOST ? x : e;
	if (o->q.h.op != X9P_PX_SYMLINK) {
		struct x9p_px_req sq = { .h = { .op = X9P_PX_SETATTR }, .node = w.node,
					 .valid = X9P_PXS_MODE, .mode = o->q.mode & 07777,
					 .uid = o->q.uid, .gid = o->q.gid };

		if (o->q.uid != (uint32_t)-1)
			sq.valid |= X9P_PXS_UID;
		if (o->q.gid != (uint32_t)-1)
			sq.valid |= X9P_PXS_GID;
		x = op_sub(o, &sq, &r, NULL);
		if (x < 0 && x != PX_LOST)
			g_debug("re-stamping a re-run %s: %s", x9p_px_op_name(o->q.h.op),
				g_strerror(-x));
		if (x != PX_LOST) {
			struct x9p_px_req gq = { .h = { .op = X9P_PX_GETATTR }, .node = w.node };

			x = op_sub(o, &gq, &r, NULL);
			if (x == 0)
				w.attr = r.attr;
		}
	}
	if (x == 0 && o->q.h.op == X9P_PX_CREATE) {
		struct x9p_px_req oq = { .h = { .op = X9P_PX_OPEN }, .node = w.node,
					 .oflags = o->q.oflags & ~(uint32_t)X9P_PXO_TRUNC };

		x = op_sub(o, &oq, &r, fd);
	}
	if (x) {
		op_clunk(o, w.node);
		return x == PX_LOST ? x : e;
	}
	o->rep.status = 0;
	o->rep.node = w.node;
	o->rep.attr = w.attr;
	return 0;
}

/* LINK found its name taken: by the inode it links (its second node)? */
static int linked_verify(struct op *o, int e, int *fd)
{
	struct x9p_px_rep w;
	int x;

	if (e != -EEXIST)
		return e;
	x = sub_walk(o, o->q.node, o->q.name, &w);
	if (x)
		return x == PX_LOST ? x : e;
	op_clunk(o, w.node);
	return w.attr.dev == o->node[1]->dev && w.attr.ino == o->node[1]->ino ? 0 : e;
}

/* RENAME found no source: done when the new name holds what it moved (a
 * rename sets the ctime of what it moves). */
static int renamed_verify(struct op *o, int e, int *fd)
{
	struct x9p_px_rep w;
	int x;

	if (e != -ENOENT)
		return e;
	x = entry_is_new(o, true, 0, &w);
	if (x)
		return x == PX_LOST ? x : e;
	op_clunk(o, w.node);
	o->found_done = true;
	o->found = w.attr;
	return 0;
}

/* UNLINK found no name, REMOVEXATTR no attribute, SETXATTR (create only)
 * one already there: the state the request was to leave. */
static int gone_verify(struct op *o, int e, int *fd)
{
	switch (o->q.h.op) {
	case X9P_PX_UNLINK:
		return e == -ENOENT ? 0 : e;
	case X9P_PX_REMOVEXATTR:
		return e == -ENODATA ? 0 : e;
	default:
		return e == -EEXIST && (o->q.xflags & X9P_PXX_CREATE) ? 0 : e;
	}
}

static uint32_t px_oflags(int flags)
{
	uint32_t f = (flags & O_ACCMODE) == O_WRONLY ? X9P_PXO_WRONLY
		   : (flags & O_ACCMODE) == O_RDWR ? X9P_PXO_RDWR : X9P_PXO_RDONLY;

	if (flags & O_TRUNC)
		f |= X9P_PXO_TRUNC;
	if (flags & O_APPEND)
		f |= X9P_PXO_APPEND;
	if ((flags & O_SYNC) == O_SYNC)
		f |= X9P_PXO_SYNC;
	else if (flags & O_DSYNC)
		f |= X9P_PXO_DSYNC;
	if (flags & O_DIRECTORY)
		f |= X9P_PXO_DIRECTORY;
	return f;
}

/* ---- operations ---- */

static int px_attach(struct x9p_fs *fs, const struct x9p_ctx *c, const char *aname,
		     struct x9p_node **out, struct x9p_attr *attr)
{
	struct op o;
	int e = op_begin(&o, fs, c, X9P_PX_ATTACH);

	/* One export per helper: aname selects nothing (as with QEMU). */
	if (e)
		return e;
	e = px_nodes_admit(o.fs, c);
	if (e)
		goto out;
	e = op_call(&o, NULL);
	if (e == 0 && (e = attr_out(&o, attr)) < 0)
		op_forget(&o);
	if (e == 0)
		*out = px_node_new(o.fs, o.cn, c, o.rep.node, &o.rep.attr, NULL, NULL);
	else
		px_nodes_unadmit(o.fs, c);
out:
	op_end(&o);
	return e;
}

static int px_walk(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *dir,
		   const char *name, struct x9p_node **out, struct x9p_attr *attr)
{
	struct op o;
	int e = check_name(name, true);

	if (e)
		return e;
	e = op_begin(&o, fs, c, X9P_PX_WALK);
	if (e)
		return e;
	e = px_nodes_admit(o.fs, c);
	if (e)
		goto out;
	op_node(&o, dir, &o.q.node);
	o.q.name = pstr(name);
	e = op_call(&o, NULL);
	if (e == 0 && (e = attr_out(&o, attr)) < 0)
		op_forget(&o);
	if (e == 0)
		*out = px_node_new(o.fs, o.cn, c, o.rep.node, &o.rep.attr, dir, name);
	else
		px_nodes_unadmit(o.fs, c);
out:
	op_end(&o);
	return e;
}

static int px_getattr(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *n,
		      struct x9p_attr *attr)
{
	struct op o;
	int e = op_begin(&o, fs, c, X9P_PX_GETATTR);

	if (e)
		return e;
	op_node(&o, n, &o.q.node);
	e = op_call(&o, NULL);
	if (e == 0)
		e = attr_out(&o, attr);
	op_end(&o);
	return e;
}

static int px_setattr(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *n,
		      const struct x9p_setattr *sa)
{
	struct op o;
	uint32_t v = 0;
	int e;

	if (sa->valid & P9_SETATTR_MODE)
		v |= X9P_PXS_MODE;
	if (sa->valid & P9_SETATTR_UID)
		v |= X9P_PXS_UID;
	if (sa->valid & P9_SETATTR_GID)
		v |= X9P_PXS_GID;
	if (sa->valid & P9_SETATTR_SIZE)
		v |= X9P_PXS_SIZE;
	if (sa->valid & P9_SETATTR_ATIME)
		v |= X9P_PXS_ATIME;
	if (sa->valid & P9_SETATTR_MTIME)
		v |= X9P_PXS_MTIME;
	if (sa->valid & P9_SETATTR_CTIME)
		v |= X9P_PXS_CTIME;
	if (!v)
		return 0;
	if ((v & X9P_PXS_SIZE) && sa->size > (uint64_t)INT64_MAX)
		return -EINVAL;
	e = op_begin(&o, fs, c, X9P_PX_SETATTR);
	if (e)
		return e;
	op_node(&o, n, &o.q.node);
	o.q.valid = v;
	o.q.mode = sa->mode & 07777;
	o.q.uid = sa->uid;
	o.q.gid = sa->gid;
	o.q.fsize = sa->size;
	/* Without the _SET bit a time means "now" (9P2000.L semantics). */
	o.q.atime = (sa->valid & P9_SETATTR_ATIME_SET) ? sa->atime
						       : (struct timespec){ 0, UTIME_NOW };
	o.q.mtime = (sa->valid & P9_SETATTR_MTIME_SET) ? sa->mtime
						       : (struct timespec){ 0, UTIME_NOW };
	e = op_call(&o, NULL);
	op_end(&o);
	return e;
}

static int px_open(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *n,
		   int flags, int *fd)
{
	struct op o;
	int e = op_begin(&o, fs, c, X9P_PX_OPEN), rfd = -1;

	*fd = -1;
	if (e)
		return e;
	op_node(&o, n, &o.q.node);
	o.q.oflags = px_oflags(flags);
	e = op_call(&o, &rfd);
	if (e == 0 && rfd >= 0)
		e = check_fd(&o, rfd, flags & O_ACCMODE);
	if (e == 0 && rfd >= 0)
		px_node_keep_fd(o.fs, n, rfd);
	if (e == 0)
		*fd = rfd;
	op_end(&o);
	return e;
}

static int px_create(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *dir,
		     const char *name, int flags, uint32_t mode, struct x9p_node **out,
		     struct x9p_attr *attr, int *fd)
{
	struct op o;
	int e = check_name(name, false), rfd = -1;

	*fd = -1;
	if (e)
		return e;
	e = op_begin(&o, fs, c, X9P_PX_CREATE);
	if (e)
		return e;
	e = px_nodes_admit(o.fs, c);
	if (e) {
		op_end(&o);
		return e;
	}
	op_node(&o, dir, &o.q.node);
	o.q.name = pstr(name);
	o.q.oflags = px_oflags(flags) & ~(uint32_t)X9P_PXO_DIRECTORY;
	o.q.mode = mode & 07777;
	o.q.uid = c ? c->uid : (uint32_t)-1;
	o.q.gid = c ? c->gid : (uint32_t)-1;
	o.verify = made_verify;
	e = op_call(&o, &rfd);
	if (e == 0 && (e = check_fd(&o, rfd, flags & O_ACCMODE)) < 0)
		rfd = -1;                       /* closed by check_fd() */
	if (e == 0 && (e = attr_out(&o, attr)) < 0)
		op_forget(&o);
	if (e == 0) {
		*out = px_node_new(o.fs, o.cn, c, o.rep.node, &o.rep.attr, dir, name);
		px_node_keep_fd(o.fs, *out, rfd);
		*fd = rfd;
	} else {
		px_nodes_unadmit(o.fs, c);
		if (rfd >= 0)
			close(rfd);
	}
	op_end(&o);
	return e;
}

/* MKDIR, MKNOD and SYMLINK share their shape. */
static int make(struct x9p_fs *fs, const struct x9p_ctx *c, uint16_t op, struct x9p_node *dir,
		const char *name, uint32_t mode, uint64_t rdev, const char *target,
		struct x9p_attr *attr)
{
	struct op o;
	int e = check_name(name, false);

	if (e)
		return e;
	if (target && (!*target || strlen(target) > X9P_PX_TARGET_MAX))
		return *target ? -ENAMETOOLONG : -ENOENT;
	e = op_begin(&o, fs, c, op);
	if (e)
		return e;
	op_node(&o, dir, &o.q.node);
	o.q.name = pstr(name);
	o.q.mode = mode;
	o.q.rdev = rdev;
	if (target)
		o.q.target = pstr(target);
	o.q.uid = c ? c->uid : (uint32_t)-1;
	o.q.gid = c ? c->gid : (uint32_t)-1;
	o.verify = made_verify;
	e = op_call(&o, NULL);
	if (e == 0)
		e = attr_out(&o, attr);
	op_end(&o);
	return e;
}

static int px_mkdir(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *dir,
		    const char *name, uint32_t mode, struct x9p_attr *attr)
{
	return make(fs, c, X9P_PX_MKDIR, dir, name, mode & 07777, 0, NULL, attr);
}

static int px_mknod(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *dir,
		    const char *name, uint32_t mode, uint64_t rdev, struct x9p_attr *attr)
{
	switch (mode & S_IFMT) {
	case S_IFREG: case S_IFCHR: case S_IFBLK: case S_IFIFO: case S_IFSOCK:
		break;
	default:
		return -EINVAL;
	}
	return make(fs, c, X9P_PX_MKNOD, dir, name, mode & (S_IFMT | 07777), rdev, NULL, attr);
}

static int px_symlink(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *dir,
		      const char *name, const char *target, struct x9p_attr *attr)
{
	return make(fs, c, X9P_PX_SYMLINK, dir, name, 0, 0, target ? target : "", attr);
}

static int px_link(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *dir,
		   struct x9p_node *target, const char *name)
{
	struct op o;
	int e = check_name(name, false);

	if (e)
		return e;
	e = op_begin(&o, fs, c, X9P_PX_LINK);
	if (e)
		return e;
	op_node(&o, dir, &o.q.node);
	op_node(&o, target, &o.q.node2);
	o.q.name = pstr(name);
	o.verify = linked_verify;
	e = op_call(&o, NULL);
	op_end(&o);
	return e;
}

static int px_readlink(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *n,
		       char *buf, size_t len)
{
	struct op o;
	int e = op_begin(&o, fs, c, X9P_PX_READLINK);

	if (e)
		return e;
	op_node(&o, n, &o.q.node);
	o.q.size = (uint32_t)MIN(len, (size_t)X9P_PX_TARGET_MAX);
	e = op_call(&o, NULL);
	if (e == 0 && o.rep.data_len > o.q.size) {
		px_conn_fail(o.fs, o.cn, "a symlink target longer than asked for");
		e = -EIO;
	}
	if (e == 0) {
		memcpy(buf, o.rep.data, o.rep.data_len);
		e = (int)o.rep.data_len;
	}
	op_end(&o);
	return e;
}

static int px_rename(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *olddir,
		     const char *oldname, struct x9p_node *newdir, const char *newname)
{
	struct op o;
	int e = check_name(oldname, false);

	if (e == 0)
		e = check_name(newname, false);
	if (e)
		return e;
	e = op_begin(&o, fs, c, X9P_PX_RENAME);
	if (e)
		return e;
	op_node(&o, olddir, &o.q.node);
	op_node(&o, newdir, &o.q.node2);
	o.q.name = pstr(oldname);
	o.q.name2 = pstr(newname);
	o.verify = renamed_verify;
	px_nodes_before(PXFS(fs), olddir, oldname, newdir, newname);
	e = op_call(&o, NULL);
	op_end(&o);
	if (e == 0)
		px_nodes_renamed(PXFS(fs), olddir, oldname, newdir, newname,
				 o.found_done ? &o.found : NULL);
	return e;
}

static int px_unlink(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *dir,
		     const char *name, int flags)
{
	struct op o;
	int e = check_name(name, false);

	if (e)
		return e;
	if (flags & ~AT_REMOVEDIR)
		return -EINVAL;
	e = op_begin(&o, fs, c, X9P_PX_UNLINK);
	if (e)
		return e;
	op_node(&o, dir, &o.q.node);
	o.q.name = pstr(name);
	o.q.uflags = (flags & AT_REMOVEDIR) ? X9P_PXU_REMOVEDIR : 0;
	o.verify = gone_verify;
	px_nodes_before(PXFS(fs), dir, name, NULL, NULL);
	e = op_call(&o, NULL);
	op_end(&o);
	if (e == 0)
		px_nodes_unlinked(PXFS(fs), dir, name);
	return e;
}

static uint8_t dtype_of(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return DT_REG;
	case S_IFDIR: return DT_DIR;
	case S_IFLNK: return DT_LNK;
	case S_IFCHR: return DT_CHR;
	case S_IFBLK: return DT_BLK;
	case S_IFIFO: return DT_FIFO;
	case S_IFSOCK: return DT_SOCK;
	default: return DT_UNKNOWN;
	}
}

static int px_readdir(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *dir,
		      uint64_t cookie, size_t budget, bool want_attr, x9p_dirent_cb cb,
		      void *opaque, bool *at_end)
{
	struct x9p_px_diriter it;
	struct x9p_px_dirent de;
	struct op o;
	int e = op_begin(&o, fs, c, X9P_PX_READDIR), taken = 0;
	bool stopped = false;

	if (at_end)
		*at_end = false;
	if (e)
		return e;
	op_node(&o, dir, &o.q.node);
	o.q.cookie = cookie;
	o.q.budget = (uint32_t)MIN(budget, (size_t)UINT32_MAX);
	o.q.rflags = want_attr ? X9P_PXR_ATTR : 0;
	e = op_call(&o, NULL);
	if (e == 0 && want_attr && o.rep.count && !(o.rep.rflags & X9P_PXR_FULL)) {
		px_conn_fail(o.fs, o.cn, "directory entries without the attributes asked for");
		e = -EIO;
	}
	if (e < 0)
		goto out;
	/* The decoder validated every entry already. */
	x9p_px_diriter_init(&it, &o.rep);
	while (x9p_px_dirent_next(&it, &de) == 1) {
		struct x9p_dirent d;
		struct x9p_attr a;
		char name[X9P_PX_NAME_MAX + 1];

		memcpy(name, de.name.s, de.name.len);
		name[de.name.len] = 0;
		if (px_attr_to_fs(&o.fs->qid, &de.attr, &a) < 0)
			continue;
		d.name = name;
		d.qid = a.qid;
		d.dtype = dtype_of(de.attr.mode);
		d.next = de.next;
		d.attr = want_attr ? &a : NULL;
		if (cb(opaque, &d)) {
			stopped = true;
			break;
		}
		taken++;
	}
	e = taken;
	if (at_end)
		*at_end = !stopped && (o.rep.rflags & X9P_PXR_EOF);
out:
	op_end(&o);
	return e;
}

static int px_statfs(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *n,
		     struct p9_statfs *st)
{
	struct op o;
	int e = op_begin(&o, fs, c, X9P_PX_STATFS);

	if (e)
		return e;
	op_node(&o, n, &o.q.node);
	e = op_call(&o, NULL);
	if (e == 0) {
		st->type = o.rep.st.type;
		st->bsize = o.rep.st.bsize;
		st->blocks = o.rep.st.blocks;
		st->bfree = o.rep.st.bfree;
		st->bavail = o.rep.st.bavail;
		st->files = o.rep.st.files;
		st->ffree = o.rep.st.ffree;
		st->fsid = o.rep.st.fsid;
		st->namelen = o.rep.st.namelen;
	}
	op_end(&o);
	return e;
}

static int px_fsync(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *n,
		    bool datasync)
{
	struct op o;
	int e = op_begin(&o, fs, c, X9P_PX_FSYNC);

	if (e)
		return e;
	op_node(&o, n, &o.q.node);
	o.q.datasync = datasync;
	e = op_call(&o, NULL);
	op_end(&o);
	return e;
}

static int check_xname(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	return n == 0 || n > X9P_PX_XNAME_MAX ? -ERANGE : 0;
}

/* GETXATTR and LISTXATTR: a length query (size 0) or the value. */
static ssize_t xread(struct x9p_fs *fs, const struct x9p_ctx *c, uint16_t op,
		     struct x9p_node *n, const char *name, void *buf, size_t size)
{
	struct op o;
	ssize_t e;

	if (op == X9P_PX_GETXATTR && (e = check_xname(name)) < 0)
		return e;
	e = op_begin(&o, fs, c, op);
	if (e)
		return e;
	op_node(&o, n, &o.q.node);
	if (name)
		o.q.xname = pstr(name);
	o.q.size = (uint32_t)MIN(size, (size_t)X9P_PX_XSIZE_MAX);
	e = op_call(&o, NULL);
	if (e < 0)
		goto out;
	if (size == 0) {
		e = o.rep.xlen;
		goto out;
	}
	if (o.rep.data_len > o.q.size || o.rep.data_len != o.rep.xlen) {
		px_conn_fail(o.fs, o.cn, "an xattr reply larger than the buffer");
		e = -EIO;
		goto out;
	}
	/* A list is names each ending in NUL; nothing else may pass. */
	if (op == X9P_PX_LISTXATTR && o.rep.data_len) {
		const uint8_t *p = o.rep.data, *end = p + o.rep.data_len;

		if (end[-1] != 0)
			e = -EIO;
		for (; e == 0 && p < end; p += strlen((const char *)p) + 1) {
			if (*p == 0)
				e = -EIO;
		}
		if (e) {
			px_conn_fail(o.fs, o.cn, "a malformed xattr list");
			goto out;
		}
	}
	memcpy(buf, o.rep.data, o.rep.data_len);
	e = o.rep.data_len;
out:
	op_end(&o);
	return e;
}

static ssize_t px_getxattr(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *n,
			   const char *name, void *buf, size_t size)
{
	return xread(fs, c, X9P_PX_GETXATTR, n, name, buf, size);
}

static ssize_t px_listxattr(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *n,
			    char *buf, size_t size)
{
	return xread(fs, c, X9P_PX_LISTXATTR, n, NULL, buf, size);
}

static int px_setxattr(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *n,
		       const char *name, const void *value, size_t size, int flags)
{
	struct op o;
	int e = check_xname(name);

	if (e)
		return e;
	if (size > X9P_PX_XSIZE_MAX)
		return -E2BIG;
	if (flags & ~(XATTR_CREATE | XATTR_REPLACE) ||
	    (flags & (XATTR_CREATE | XATTR_REPLACE)) == (XATTR_CREATE | XATTR_REPLACE))
		return -EINVAL;
	e = op_begin(&o, fs, c, X9P_PX_SETXATTR);
	if (e)
		return e;
	op_node(&o, n, &o.q.node);
	o.q.xname = pstr(name);
	o.q.xflags = (flags & XATTR_CREATE) ? X9P_PXX_CREATE :
		     (flags & XATTR_REPLACE) ? X9P_PXX_REPLACE : 0;
	o.q.value = value;
	o.q.value_len = (uint32_t)size;
	o.verify = gone_verify;
	e = op_call(&o, NULL);
	op_end(&o);
	return e;
}

static int px_removexattr(struct x9p_fs *fs, const struct x9p_ctx *c, struct x9p_node *n,
			  const char *name)
{
	struct op o;
	int e = check_xname(name);

	if (e)
		return e;
	e = op_begin(&o, fs, c, X9P_PX_REMOVEXATTR);
	if (e)
		return e;
	op_node(&o, n, &o.q.node);
	o.q.xname = pstr(name);
	o.verify = gone_verify;
	e = op_call(&o, NULL);
	op_end(&o);
	return e;
}

static unsigned kept_fds_max(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return 1u << 16;
	return (unsigned)MIN(rl.rlim_cur / 4, (rlim_t)1 << 20);
}

static void px_journal(struct x9p_fs *base, struct x9p_journal *j)
{
	PXFS(base)->journal = j;
}

static uint32_t px_node_jslot(struct x9p_fs *base, struct x9p_node *n)
{
	return n->jslot;
}

static struct x9p_node *px_node_restore_op(struct x9p_fs *base, const struct x9p_ctx *c,
					   uint32_t slot, struct x9p_node **parent, char **name)
{
	return px_node_restore(PXFS(base), c, slot, parent, name);
}

static void px_destroy(struct x9p_fs *base)
{
	struct px_fs *fs = PXFS(base);

	px_stop(fs);
	if (fs->launcher)
		fs->launcher->destroy(fs->launcher);
	if (fs->wake[0] >= 0)
		close(fs->wake[0]);
	if (fs->wake[1] >= 0)
		close(fs->wake[1]);
	px_nodes_clear(fs);
	if (fs->restored)
		g_hash_table_destroy(fs->restored);
	px_qid_free(&fs->qid);
	g_free(fs->first_error);
	g_mutex_clear(&fs->lock);
	g_cond_clear(&fs->cond);
	g_free(fs);
}

const struct x9p_fs_ops px_ops = {
	.name = "proxy",
	.attach = px_attach,
	.walk = px_walk,
	.node_dup = px_node_dup,
	.node_put = px_node_put,
	.getattr = px_getattr,
	.setattr = px_setattr,
	.open = px_open,
	.create = px_create,
	.mkdir = px_mkdir,
	.mknod = px_mknod,
	.symlink = px_symlink,
	.link = px_link,
	.readlink = px_readlink,
	.rename = px_rename,
	.unlink = px_unlink,
	.readdir = px_readdir,
	.statfs = px_statfs,
	.fsync = px_fsync,
	.getxattr = px_getxattr,
	.listxattr = px_listxattr,
	.setxattr = px_setxattr,
	.removexattr = px_removexattr,
	.journal = px_journal,
	.node_jslot = px_node_jslot,
	.node_restore = px_node_restore_op,
	.destroy = px_destroy,
};

struct x9p_fs *x9p_proxy_new_with(const struct x9p_proxy_cfg *cfg,
				  struct x9p_helper_launcher *launcher, GError **err)
{
	struct px_fs *fs = g_new0(struct px_fs, 1);

	fs->base.ops = &px_ops;
	fs->base.readonly = cfg->readonly;
	fs->cfg = *cfg;
	/* Only what the HELLO reply is checked against is kept. */
	fs->cfg.export_path = NULL;
	fs->cfg.helper_path = NULL;
	fs->cfg.log_level = NULL;
	fs->launcher = launcher;
	fs->wake[0] = fs->wake[1] = -1;
	fs->kept_fds_max = kept_fds_max();
	g_mutex_init(&fs->lock);
	g_cond_init(&fs->cond);
	px_nodes_init(fs);
	px_qid_init(&fs->qid, cfg->multidevs == X9P_MULTIDEVS_REMAP);
	if ((unsigned)cfg->model > X9P_SM_NONE || (unsigned)cfg->multidevs > X9P_MULTIDEVS_WARN) {
		g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			    "invalid security model or multidevs value");
		goto fail;
	}
	if (px_start(fs, err) < 0)
		goto fail;
	return &fs->base;
fail:
	px_destroy(&fs->base);
	return NULL;
}
