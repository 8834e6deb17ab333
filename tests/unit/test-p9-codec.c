/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * 9P codec: round trips for every message in every dialect, byte vectors
 * written out by hand from the protocol description, and hostile frames
 * (truncated, oversized counts, bad strings, bad sizes, unknown types).
 *
 * Frames under test are always copied into an exactly sized heap buffer
 * so that AddressSanitizer or valgrind sees any read past the frame.
 */
#include <errno.h>
#include <string.h>

#include <glib.h>

#include "9p/p9.h"

static const enum p9_dialect dialects[] = {
	P9_DIALECT_2000, P9_DIALECT_2000U, P9_DIALECT_2000L,
};
static const char *const dialect_names[] = { "9P2000", "9P2000.u", "9P2000.L" };

/* Every type the codec can put on the wire (Terror/Tlerror cannot). */
static const uint8_t all_types[] = {
	P9_RLERROR, P9_TSTATFS, P9_RSTATFS, P9_TLOPEN, P9_RLOPEN,
	P9_TLCREATE, P9_RLCREATE, P9_TSYMLINK, P9_RSYMLINK, P9_TMKNOD, P9_RMKNOD,
	P9_TRENAME, P9_RRENAME, P9_TREADLINK, P9_RREADLINK, P9_TGETATTR,
	P9_RGETATTR, P9_TSETATTR, P9_RSETATTR, P9_TXATTRWALK, P9_RXATTRWALK,
	P9_TXATTRCREATE, P9_RXATTRCREATE, P9_TREADDIR, P9_RREADDIR, P9_TFSYNC,
	P9_RFSYNC, P9_TLOCK, P9_RLOCK, P9_TGETLOCK, P9_RGETLOCK, P9_TLINK,
	P9_RLINK, P9_TMKDIR, P9_RMKDIR, P9_TRENAMEAT, P9_RRENAMEAT, P9_TUNLINKAT,
	P9_RUNLINKAT, P9_TVERSION, P9_RVERSION, P9_TAUTH, P9_RAUTH, P9_TATTACH,
	P9_RATTACH, P9_RERROR, P9_TFLUSH, P9_RFLUSH, P9_TWALK, P9_RWALK,
	P9_TOPEN, P9_ROPEN, P9_TCREATE, P9_RCREATE, P9_TREAD, P9_RREAD,
	P9_TWRITE, P9_RWRITE, P9_TCLUNK, P9_RCLUNK, P9_TREMOVE, P9_RREMOVE,
	P9_TSTAT, P9_RSTAT, P9_TWSTAT, P9_RWSTAT,
};

static const uint8_t payload[] = "payload bytes \x00\x01\x02\xff with a NUL inside";

static struct p9_qid mkqid(uint8_t type, uint32_t ver, uint64_t path)
{
	return (struct p9_qid){ type, ver, path };
}

static void sample_stat(struct p9_stat *st)
{
	memset(st, 0, sizeof(*st));
	st->type = 0x1234;
	st->dev = 0xdeadbeef;
	st->qid = mkqid(P9_QTDIR, 7, 0x0102030405060708ULL);
	st->mode = P9_DMDIR | 0755;
	st->atime = 1700000000;
	st->mtime = 1700000001;
	st->length = 0x1122334455667788ULL;
	st->name = p9_str_c("name");
	st->uid = p9_str_c("alice");
	st->gid = p9_str_c("staff");
	st->muid = p9_str_c("bob");
	st->extension = p9_str_c("ext target");
	st->n_uid = 1000;
	st->n_gid = 100;
	st->n_muid = 1001;
}

static void sample_lock(struct p9_lock *lk, bool flags)
{
	lk->type = P9_LOCK_TYPE_WRLCK;
	lk->flags = flags ? P9_LOCK_FLAGS_BLOCK : 0;
	lk->start = 0x100;
	lk->length = 0xFFFFFFFFFFFFFFF0ULL;
	lk->proc_id = 4242;
	lk->client_id = p9_str_c("host.example");
}

/* A message of the given type with every field set to a distinct value. */
static void sample(uint8_t type, struct p9_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->tag = (uint16_t)(0x0100 + type);
	switch (type) {
	case P9_TVERSION:
	case P9_RVERSION:
		m->tag = P9_NOTAG;
		m->u.version.msize = 131072;
		m->u.version.version = p9_str_c("9P2000.L");
		break;
	case P9_TAUTH:
		m->u.tauth.afid = 9;
		m->u.tauth.uname = p9_str_c("user");
		m->u.tauth.aname = p9_str_c("/export");
		m->u.tauth.n_uname = 1000;
		break;
	case P9_RAUTH:
		m->u.rauth.aqid = mkqid(P9_QTAUTH, 1, 99);
		break;
	case P9_TATTACH:
		m->u.tattach.fid = 1;
		m->u.tattach.afid = P9_NOFID;
		m->u.tattach.uname = p9_str_c("root");
		m->u.tattach.aname = p9_str_c("");
		m->u.tattach.n_uname = 0;
		break;
	case P9_RATTACH:
		m->u.rattach.qid = mkqid(P9_QTDIR, 0, 2);
		break;
	case P9_RERROR:
		m->u.rerror.ename = p9_str_c("No such file or directory");
		m->u.rerror.ecode = ENOENT;
		break;
	case P9_RLERROR:
		m->u.rlerror.ecode = EACCES;
		break;
	case P9_TFLUSH:
		m->u.tflush.oldtag = 77;
		break;
	case P9_TWALK:
		m->u.twalk.fid = 1;
		m->u.twalk.newfid = 2;
		m->u.twalk.nwname = 3;
		m->u.twalk.wname[0] = p9_str_c("usr");
		m->u.twalk.wname[1] = p9_str_c("share");
		m->u.twalk.wname[2] = p9_str_c("doc");
		break;
	case P9_RWALK:
		m->u.rwalk.nwqid = 2;
		m->u.rwalk.wqid[0] = mkqid(P9_QTDIR, 1, 10);
		m->u.rwalk.wqid[1] = mkqid(P9_QTFILE, 2, 11);
		break;
	case P9_TOPEN:
		m->u.topen.fid = 5;
		m->u.topen.mode = P9_ORDWR | P9_OTRUNC;
		break;
	case P9_ROPEN:
	case P9_RCREATE:
	case P9_RLOPEN:
	case P9_RLCREATE:
		m->u.ropen.qid = mkqid(P9_QTFILE, 3, 0xabcdef);
		m->u.ropen.iounit = 65536;
		break;
	case P9_TCREATE:
		m->u.tcreate.fid = 6;
		m->u.tcreate.name = p9_str_c("newfile");
		m->u.tcreate.perm = P9_DMSYMLINK | 0777;
		m->u.tcreate.mode = P9_OWRITE;
		m->u.tcreate.extension = p9_str_c("target");
		break;
	case P9_TREAD:
	case P9_TREADDIR:
		m->u.tread.fid = 7;
		m->u.tread.offset = 0x7fffffffffff0000ULL;
		m->u.tread.count = 8168;
		break;
	case P9_RREAD:
	case P9_RREADDIR:
		m->u.rread.count = sizeof(payload);
		m->u.rread.data = payload;
		break;
	case P9_TWRITE:
		m->u.twrite.fid = 8;
		m->u.twrite.offset = 4096;
		m->u.twrite.count = sizeof(payload);
		m->u.twrite.data = payload;
		break;
	case P9_RWRITE:
		m->u.rwrite.count = 4096;
		break;
	case P9_TCLUNK:
	case P9_TREMOVE:
	case P9_TSTAT:
	case P9_TSTATFS:
	case P9_TREADLINK:
		m->u.tfid.fid = 0x01020304;
		break;
	case P9_RSTAT:
		sample_stat(&m->u.rstat.stat);
		break;
	case P9_TWSTAT:
		m->u.twstat.fid = 12;
		sample_stat(&m->u.twstat.stat);
		break;
	case P9_RSTATFS:
		m->u.rstatfs.st = (struct p9_statfs){ 0x01021994, 4096, 1000, 900, 800,
						      500, 400, 0x1122334455667788ULL, 255 };
		break;
	case P9_TLOPEN:
		m->u.tlopen.fid = 13;
		m->u.tlopen.flags = P9L_RDWR | P9L_NOFOLLOW;
		break;
	case P9_TLCREATE:
		m->u.tlcreate.fid = 14;
		m->u.tlcreate.name = p9_str_c("created");
		m->u.tlcreate.flags = P9L_CREATE | P9L_EXCL | P9L_WRONLY;
		m->u.tlcreate.mode = 0640;
		m->u.tlcreate.gid = 100;
		break;
	case P9_TSYMLINK:
		m->u.tsymlink.fid = 15;
		m->u.tsymlink.name = p9_str_c("link");
		m->u.tsymlink.symtgt = p9_str_c("../target/file");
		m->u.tsymlink.gid = 101;
		break;
	case P9_RSYMLINK:
	case P9_RMKNOD:
	case P9_RMKDIR:
		m->u.rqid.qid = mkqid(P9_QTSYMLINK, 4, 0x55);
		break;
	case P9_TMKNOD:
		m->u.tmknod.dfid = 16;
		m->u.tmknod.name = p9_str_c("fifo");
		m->u.tmknod.mode = 010644;
		m->u.tmknod.major = 8;
		m->u.tmknod.minor = 1;
		m->u.tmknod.gid = 102;
		break;
	case P9_TRENAME:
		m->u.trename.fid = 17;
		m->u.trename.dfid = 18;
		m->u.trename.name = p9_str_c("renamed");
		break;
	case P9_RREADLINK:
		m->u.rreadlink.target = p9_str_c("/abs/target");
		break;
	case P9_TGETATTR:
		m->u.tgetattr.fid = 19;
		m->u.tgetattr.request_mask = P9_GETATTR_ALL;
		break;
	case P9_RGETATTR: {
		struct p9_getattr *a = &m->u.rgetattr;
		a->valid = P9_GETATTR_BASIC;
		a->qid = mkqid(P9_QTFILE, 5, 0x66);
		a->mode = 0100644;
		a->uid = 1000;
		a->gid = 1001;
		a->nlink = 2;
		a->rdev = 3;
		a->size = 4;
		a->blksize = 5;
		a->blocks = 6;
		a->atime_sec = 7;
		a->atime_nsec = 8;
		a->mtime_sec = 9;
		a->mtime_nsec = 10;
		a->ctime_sec = 11;
		a->ctime_nsec = 12;
		a->btime_sec = 13;
		a->btime_nsec = 14;
		a->gen = 15;
		a->data_version = 16;
		break;
	}
	case P9_TSETATTR:
		m->u.tsetattr.fid = 20;
		m->u.tsetattr.attr = (struct p9_setattr){ P9_SETATTR_MODE | P9_SETATTR_SIZE,
							  0644, 1, 2, 3, 4, 5, 6, 7 };
		break;
	case P9_TXATTRWALK:
		m->u.txattrwalk.fid = 21;
		m->u.txattrwalk.newfid = 22;
		m->u.txattrwalk.name = p9_str_c("user.comment");
		break;
	case P9_RXATTRWALK:
		m->u.rxattrwalk.size = 123;
		break;
	case P9_TXATTRCREATE:
		m->u.txattrcreate.fid = 23;
		m->u.txattrcreate.name = p9_str_c("user.x");
		m->u.txattrcreate.attr_size = 5;
		m->u.txattrcreate.flags = 1;
		break;
	case P9_TFSYNC:
		m->u.tfsync.fid = 24;
		m->u.tfsync.datasync = 1;
		break;
	case P9_TLOCK:
		m->u.tlock.fid = 25;
		sample_lock(&m->u.tlock.lock, true);
		break;
	case P9_RLOCK:
		m->u.rlock.status = P9_LOCK_BLOCKED;
		break;
	case P9_TGETLOCK:
		m->u.tlock.fid = 26;
		sample_lock(&m->u.tlock.lock, false);
		break;
	case P9_RGETLOCK:
		sample_lock(&m->u.rgetlock.lock, false);
		break;
	case P9_TLINK:
		m->u.tlink.dfid = 27;
		m->u.tlink.fid = 28;
		m->u.tlink.name = p9_str_c("hardlink");
		break;
	case P9_TMKDIR:
		m->u.tmkdir.dfid = 29;
		m->u.tmkdir.name = p9_str_c("dir");
		m->u.tmkdir.mode = 0755;
		m->u.tmkdir.gid = 103;
		break;
	case P9_TRENAMEAT:
		m->u.trenameat.olddirfid = 30;
		m->u.trenameat.oldname = p9_str_c("old");
		m->u.trenameat.newdirfid = 31;
		m->u.trenameat.newname = p9_str_c("new");
		break;
	case P9_TUNLINKAT:
		m->u.tunlinkat.dirfd = 32;
		m->u.tunlinkat.name = p9_str_c("gone");
		m->u.tunlinkat.flags = P9_AT_REMOVEDIR;
		break;
	default:
		break;
	}
}

/* ---- field-by-field comparison ------------------------------------------ */

static void str_equal(struct p9_str got, struct p9_str want, const char *what)
{
	if (got.len != want.len || (want.len && memcmp(got.s, want.s, want.len))) {
		g_test_message("%s: got \"%.*s\", want \"%.*s\"", what, got.len,
			       got.s, want.len, want.s);
		g_test_fail();
	}
}

#define EQ(f) g_assert_cmpuint(got->f, ==, want->f)
#define SEQ(f) str_equal(got->f, want->f, #f)
#define QEQ(f)                                          \
	do {                                            \
		EQ(f.type);                             \
		EQ(f.version);                          \
		EQ(f.path);                             \
	} while (0)

static void stat_equal(const struct p9_stat *got, const struct p9_stat *want,
		       enum p9_dialect d)
{
	EQ(type);
	EQ(dev);
	QEQ(qid);
	EQ(mode);
	EQ(atime);
	EQ(mtime);
	EQ(length);
	SEQ(name);
	SEQ(uid);
	SEQ(gid);
	SEQ(muid);
	if (d == P9_DIALECT_2000) {
		/* Not on the wire: the decoder reports "not given". */
		g_assert_cmpuint(got->extension.len, ==, 0);
		g_assert_cmpuint(got->n_uid, ==, P9_NONUNAME);
		g_assert_cmpuint(got->n_gid, ==, P9_NONUNAME);
		g_assert_cmpuint(got->n_muid, ==, P9_NONUNAME);
	} else {
		SEQ(extension);
		EQ(n_uid);
		EQ(n_gid);
		EQ(n_muid);
	}
}

static void lock_equal(const struct p9_lock *got, const struct p9_lock *want)
{
	EQ(type);
	EQ(flags);
	EQ(start);
	EQ(length);
	EQ(proc_id);
	SEQ(client_id);
}

static void msg_equal(const struct p9_msg *got, const struct p9_msg *want,
		      enum p9_dialect d)
{
	bool u = d != P9_DIALECT_2000;

	EQ(type);
	EQ(tag);
	switch (want->type) {
	case P9_TVERSION:
	case P9_RVERSION:
		EQ(u.version.msize);
		SEQ(u.version.version);
		break;
	case P9_TAUTH:
		EQ(u.tauth.afid);
		SEQ(u.tauth.uname);
		SEQ(u.tauth.aname);
		g_assert_cmpuint(got->u.tauth.n_uname, ==,
				 u ? want->u.tauth.n_uname : P9_NONUNAME);
		break;
	case P9_RAUTH:
		QEQ(u.rauth.aqid);
		break;
	case P9_TATTACH:
		EQ(u.tattach.fid);
		EQ(u.tattach.afid);
		SEQ(u.tattach.uname);
		SEQ(u.tattach.aname);
		g_assert_cmpuint(got->u.tattach.n_uname, ==,
				 u ? want->u.tattach.n_uname : P9_NONUNAME);
		break;
	case P9_RATTACH:
		QEQ(u.rattach.qid);
		break;
	case P9_RERROR:
		SEQ(u.rerror.ename);
		g_assert_cmpuint(got->u.rerror.ecode, ==, u ? want->u.rerror.ecode : 0);
		break;
	case P9_RLERROR:
		EQ(u.rlerror.ecode);
		break;
	case P9_TFLUSH:
		EQ(u.tflush.oldtag);
		break;
	case P9_TWALK:
		EQ(u.twalk.fid);
		EQ(u.twalk.newfid);
		EQ(u.twalk.nwname);
		for (unsigned i = 0; i < want->u.twalk.nwname; i++)
			SEQ(u.twalk.wname[i]);
		break;
	case P9_RWALK:
		EQ(u.rwalk.nwqid);
		for (unsigned i = 0; i < want->u.rwalk.nwqid; i++)
			QEQ(u.rwalk.wqid[i]);
		break;
	case P9_TOPEN:
		EQ(u.topen.fid);
		EQ(u.topen.mode);
		break;
	case P9_ROPEN:
	case P9_RCREATE:
	case P9_RLOPEN:
	case P9_RLCREATE:
		QEQ(u.ropen.qid);
		EQ(u.ropen.iounit);
		break;
	case P9_TCREATE:
		EQ(u.tcreate.fid);
		SEQ(u.tcreate.name);
		EQ(u.tcreate.perm);
		EQ(u.tcreate.mode);
		if (u)
			SEQ(u.tcreate.extension);
		else
			g_assert_cmpuint(got->u.tcreate.extension.len, ==, 0);
		break;
	case P9_TREAD:
	case P9_TREADDIR:
		EQ(u.tread.fid);
		EQ(u.tread.offset);
		EQ(u.tread.count);
		break;
	case P9_RREAD:
	case P9_RREADDIR:
		EQ(u.rread.count);
		g_assert_cmpmem(got->u.rread.data, got->u.rread.count,
				want->u.rread.data, want->u.rread.count);
		break;
	case P9_TWRITE:
		EQ(u.twrite.fid);
		EQ(u.twrite.offset);
		EQ(u.twrite.count);
		g_assert_cmpmem(got->u.twrite.data, got->u.twrite.count,
				want->u.twrite.data, want->u.twrite.count);
		break;
	case P9_RWRITE:
		EQ(u.rwrite.count);
		break;
	case P9_TCLUNK:
	case P9_TREMOVE:
	case P9_TSTAT:
	case P9_TSTATFS:
	case P9_TREADLINK:
		EQ(u.tfid.fid);
		break;
	case P9_RSTAT:
		stat_equal(&got->u.rstat.stat, &want->u.rstat.stat, d);
		break;
	case P9_TWSTAT:
		EQ(u.twstat.fid);
		stat_equal(&got->u.twstat.stat, &want->u.twstat.stat, d);
		break;
	case P9_RSTATFS:
		EQ(u.rstatfs.st.type);
		EQ(u.rstatfs.st.bsize);
		EQ(u.rstatfs.st.blocks);
		EQ(u.rstatfs.st.bfree);
		EQ(u.rstatfs.st.bavail);
		EQ(u.rstatfs.st.files);
		EQ(u.rstatfs.st.ffree);
		EQ(u.rstatfs.st.fsid);
		EQ(u.rstatfs.st.namelen);
		break;
	case P9_TLOPEN:
		EQ(u.tlopen.fid);
		EQ(u.tlopen.flags);
		break;
	case P9_TLCREATE:
		EQ(u.tlcreate.fid);
		SEQ(u.tlcreate.name);
		EQ(u.tlcreate.flags);
		EQ(u.tlcreate.mode);
		EQ(u.tlcreate.gid);
		break;
	case P9_TSYMLINK:
		EQ(u.tsymlink.fid);
		SEQ(u.tsymlink.name);
		SEQ(u.tsymlink.symtgt);
		EQ(u.tsymlink.gid);
		break;
	case P9_RSYMLINK:
	case P9_RMKNOD:
	case P9_RMKDIR:
		QEQ(u.rqid.qid);
		break;
	case P9_TMKNOD:
		EQ(u.tmknod.dfid);
		SEQ(u.tmknod.name);
		EQ(u.tmknod.mode);
		EQ(u.tmknod.major);
		EQ(u.tmknod.minor);
		EQ(u.tmknod.gid);
		break;
	case P9_TRENAME:
		EQ(u.trename.fid);
		EQ(u.trename.dfid);
		SEQ(u.trename.name);
		break;
	case P9_RREADLINK:
		SEQ(u.rreadlink.target);
		break;
	case P9_TGETATTR:
		EQ(u.tgetattr.fid);
		EQ(u.tgetattr.request_mask);
		break;
	case P9_RGETATTR:
		EQ(u.rgetattr.valid);
		QEQ(u.rgetattr.qid);
		EQ(u.rgetattr.mode);
		EQ(u.rgetattr.uid);
		EQ(u.rgetattr.gid);
		EQ(u.rgetattr.nlink);
		EQ(u.rgetattr.rdev);
		EQ(u.rgetattr.size);
		EQ(u.rgetattr.blksize);
		EQ(u.rgetattr.blocks);
		EQ(u.rgetattr.atime_sec);
		EQ(u.rgetattr.atime_nsec);
		EQ(u.rgetattr.mtime_sec);
		EQ(u.rgetattr.mtime_nsec);
		EQ(u.rgetattr.ctime_sec);
		EQ(u.rgetattr.ctime_nsec);
		EQ(u.rgetattr.btime_sec);
		EQ(u.rgetattr.btime_nsec);
		EQ(u.rgetattr.gen);
		EQ(u.rgetattr.data_version);
		break;
	case P9_TSETATTR:
		EQ(u.tsetattr.fid);
		EQ(u.tsetattr.attr.valid);
		EQ(u.tsetattr.attr.mode);
		EQ(u.tsetattr.attr.uid);
		EQ(u.tsetattr.attr.gid);
		EQ(u.tsetattr.attr.size);
		EQ(u.tsetattr.attr.atime_sec);
		EQ(u.tsetattr.attr.atime_nsec);
		EQ(u.tsetattr.attr.mtime_sec);
		EQ(u.tsetattr.attr.mtime_nsec);
		break;
	case P9_TXATTRWALK:
		EQ(u.txattrwalk.fid);
		EQ(u.txattrwalk.newfid);
		SEQ(u.txattrwalk.name);
		break;
	case P9_RXATTRWALK:
		EQ(u.rxattrwalk.size);
		break;
	case P9_TXATTRCREATE:
		EQ(u.txattrcreate.fid);
		SEQ(u.txattrcreate.name);
		EQ(u.txattrcreate.attr_size);
		EQ(u.txattrcreate.flags);
		break;
	case P9_TFSYNC:
		EQ(u.tfsync.fid);
		EQ(u.tfsync.datasync);
		break;
	case P9_TLOCK:
	case P9_TGETLOCK:
		EQ(u.tlock.fid);
		lock_equal(&got->u.tlock.lock, &want->u.tlock.lock);
		break;
	case P9_RLOCK:
		EQ(u.rlock.status);
		break;
	case P9_RGETLOCK:
		lock_equal(&got->u.rgetlock.lock, &want->u.rgetlock.lock);
		break;
	case P9_TLINK:
		EQ(u.tlink.dfid);
		EQ(u.tlink.fid);
		SEQ(u.tlink.name);
		break;
	case P9_TMKDIR:
		EQ(u.tmkdir.dfid);
		SEQ(u.tmkdir.name);
		EQ(u.tmkdir.mode);
		EQ(u.tmkdir.gid);
		break;
	case P9_TRENAMEAT:
		EQ(u.trenameat.olddirfid);
		SEQ(u.trenameat.oldname);
		EQ(u.trenameat.newdirfid);
		SEQ(u.trenameat.newname);
		break;
	case P9_TUNLINKAT:
		EQ(u.tunlinkat.dirfd);
		SEQ(u.tunlinkat.name);
		EQ(u.tunlinkat.flags);
		break;
	default:
		/* Messages without a body: type and tag said it all. */
		break;
	}
}

/* ---- helpers -------------------------------------------------------------- */

/* Encodes m; returns a g_malloc'd frame of exactly *len bytes. */
static uint8_t *encode_exact(const struct p9_msg *m, enum p9_dialect d, size_t *len)
{
	uint8_t tmp[4096];
	int n = p9_encode(tmp, sizeof(tmp), d, m);

	g_assert_cmpint(n, >, 0);
	*len = (size_t)n;
	return g_memdup2(tmp, (gsize)n);
}

static int decode_copy(const void *buf, size_t len, enum p9_dialect d, struct p9_msg *m)
{
	uint8_t *copy = g_memdup2(buf, (gsize)len);
	int rc = p9_decode(copy, len, d, m);
	g_free(copy);
	return rc;
}

static void set_size(uint8_t *frame, uint32_t size)
{
	frame[0] = (uint8_t)size;
	frame[1] = (uint8_t)(size >> 8);
	frame[2] = (uint8_t)(size >> 16);
	frame[3] = (uint8_t)(size >> 24);
}

struct case_id {
	uint8_t type;
	enum p9_dialect d;
};

/* ---- round trips ---------------------------------------------------------- */

static void test_roundtrip(gconstpointer data)
{
	const struct case_id *c = data;
	struct p9_msg want, got;
	size_t len;
	uint8_t *frame;

	sample(c->type, &want);
	frame = encode_exact(&want, c->d, &len);
	g_assert_cmpuint(p9_frame_size(frame), ==, len);
	g_assert_cmpuint(frame[4], ==, c->type);
	g_assert_cmpint(p9_decode(frame, len, c->d, &got), ==, 0);
	msg_equal(&got, &want, c->d);

	/* Re-encoding what was decoded reproduces the frame byte for byte. */
	uint8_t again[4096];
	int n = p9_encode(again, sizeof(again), c->d, &got);
	g_assert_cmpint(n, ==, (int)len);
	g_assert_cmpmem(again, len, frame, len);

	/* Every too-small output buffer is refused without writing past it. */
	for (size_t small = 0; small < len; small++) {
		uint8_t *out = g_malloc(small ? small : 1);
		g_assert_cmpint(p9_encode(out, small, c->d, &want), ==, -EMSGSIZE);
		g_free(out);
	}
	g_free(frame);
}

/* Truncation at every length, with and without a matching size field. */
static void test_truncated(gconstpointer data)
{
	const struct case_id *c = data;
	struct p9_msg m;
	size_t len;
	uint8_t *frame;

	sample(c->type, &m);
	frame = encode_exact(&m, c->d, &len);
	for (size_t cut = 0; cut < len; cut++) {
		uint8_t *part = g_memdup2(frame, (gsize)(cut ? cut : 1));
		int rc = p9_decode(part, cut, c->d, &m);
		g_assert_cmpint(rc, ==, -EPROTO);
		if (cut >= 4) {
			set_size(part, (uint32_t)cut);
			rc = p9_decode(part, cut, c->d, &m);
			if (c->type == P9_TFSYNC && cut == len - 4) {
				/* The old Tfsync without datasync is valid. */
				g_assert_cmpint(rc, ==, 0);
				g_assert_cmpuint(m.u.tfsync.datasync, ==, 0);
			} else {
				g_assert_cmpint(rc, <, 0);
			}
			if (cut >= P9_HDR_SIZE) {
				g_assert_cmpuint(m.type, ==, c->type);
				g_assert_cmpuint(m.tag, ==, frame[5] | frame[6] << 8);
			}
		}
		g_free(part);
	}
	g_free(frame);
}

/* One extra byte after a complete message, size field covering it. */
static void test_trailing(gconstpointer data)
{
	const struct case_id *c = data;
	struct p9_msg m;
	size_t len;
	uint8_t *frame, *big;

	sample(c->type, &m);
	frame = encode_exact(&m, c->d, &len);
	big = g_malloc(len + 1);
	memcpy(big, frame, len);
	big[len] = 0;
	set_size(big, (uint32_t)(len + 1));
	g_assert_cmpint(p9_decode(big, len + 1, c->d, &m), ==, -EPROTO);
	g_assert_cmpuint(m.type, ==, c->type);

	/* Size field off by one either way, frame length unchanged. */
	set_size(frame, (uint32_t)len + 1);
	g_assert_cmpint(p9_decode(frame, len, c->d, &m), ==, -EPROTO);
	set_size(frame, (uint32_t)len - 1);
	g_assert_cmpint(p9_decode(frame, len, c->d, &m), ==, -EPROTO);
	g_free(big);
	g_free(frame);
}

/* ---- byte vectors written out by hand ------------------------------------- */

static void expect_bytes(const struct p9_msg *m, enum p9_dialect d,
			 const uint8_t *want, size_t wantlen)
{
	uint8_t buf[512];
	int n = p9_encode(buf, sizeof(buf), d, m);

	g_assert_cmpint(n, ==, (int)wantlen);
	g_assert_cmpmem(buf, (size_t)n, want, wantlen);

	/* Decoded strings point into the frame: keep it alive while comparing. */
	struct p9_msg back;
	g_assert_cmpint(p9_decode(want, wantlen, d, &back), ==, 0);
	msg_equal(&back, m, d);
}

static void test_vector_tversion(void)
{
	static const uint8_t want[] = {
		0x15, 0x00, 0x00, 0x00, 100, 0xff, 0xff,
		0x00, 0x20, 0x00, 0x00,
		0x08, 0x00, '9', 'P', '2', '0', '0', '0', '.', 'L',
	};
	struct p9_msg m = { .type = P9_TVERSION, .tag = P9_NOTAG };

	m.u.version.msize = 8192;
	m.u.version.version = p9_str_c("9P2000.L");
	for (unsigned i = 0; i < G_N_ELEMENTS(dialects); i++)
		expect_bytes(&m, dialects[i], want, sizeof(want));
}

static void test_vector_twalk(void)
{
	static const uint8_t want[] = {
		0x18, 0x00, 0x00, 0x00, 110, 0x01, 0x00,
		0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
		0x02, 0x00,
		0x01, 0x00, 'a',
		0x02, 0x00, 'b', 'c',
	};
	struct p9_msg m = { .type = P9_TWALK, .tag = 1 };

	m.u.twalk.fid = 1;
	m.u.twalk.newfid = 2;
	m.u.twalk.nwname = 2;
	m.u.twalk.wname[0] = p9_str_c("a");
	m.u.twalk.wname[1] = p9_str_c("bc");
	expect_bytes(&m, P9_DIALECT_2000L, want, sizeof(want));
}

static void test_vector_rlerror(void)
{
	static const uint8_t want[] = {
		0x0b, 0x00, 0x00, 0x00, 7, 0x05, 0x00, 0x02, 0x00, 0x00, 0x00,
	};
	struct p9_msg m = { .type = P9_RLERROR, .tag = 5 };

	m.u.rlerror.ecode = ENOENT;
	expect_bytes(&m, P9_DIALECT_2000L, want, sizeof(want));
}

static void test_vector_tattach_dialects(void)
{
	/* 9P2000 has no n_uname; .u and .L append it. */
	static const uint8_t plain[] = {
		0x15, 0x00, 0x00, 0x00, 104, 0x02, 0x00,
		0x03, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff,
		0x02, 0x00, 'm', 'e', 0x00, 0x00,
	};
	static const uint8_t dotu[] = {
		0x19, 0x00, 0x00, 0x00, 104, 0x02, 0x00,
		0x03, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff,
		0x02, 0x00, 'm', 'e', 0x00, 0x00,
		0xe8, 0x03, 0x00, 0x00,
	};
	struct p9_msg m = { .type = P9_TATTACH, .tag = 2 };

	m.u.tattach.fid = 3;
	m.u.tattach.afid = P9_NOFID;
	m.u.tattach.uname = p9_str_c("me");
	m.u.tattach.aname = p9_str_c("");
	m.u.tattach.n_uname = 1000;
	expect_bytes(&m, P9_DIALECT_2000U, dotu, sizeof(dotu));
	expect_bytes(&m, P9_DIALECT_2000L, dotu, sizeof(dotu));
	expect_bytes(&m, P9_DIALECT_2000, plain, sizeof(plain));
	/* A .u frame is not a valid 9P2000 frame and vice versa. */
	struct p9_msg back;
	g_assert_cmpint(decode_copy(dotu, sizeof(dotu), P9_DIALECT_2000, &back), ==, -EPROTO);
	g_assert_cmpint(decode_copy(plain, sizeof(plain), P9_DIALECT_2000U, &back), ==, -EPROTO);
}

static void test_vector_tlock(void)
{
	static const uint8_t want[] = {
		0x27, 0x00, 0x00, 0x00, 52, 0x09, 0x00,
		0x03, 0x00, 0x00, 0x00,             /* fid */
		0x01,                               /* type */
		0x02, 0x00, 0x00, 0x00,             /* flags */
		0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, /* start */
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* length */
		0x07, 0x00, 0x00, 0x00,             /* proc_id */
		0x01, 0x00, 'c',                    /* client_id */
	};
	struct p9_msg m = { .type = P9_TLOCK, .tag = 9 };

	m.u.tlock.fid = 3;
	m.u.tlock.lock.type = P9_LOCK_TYPE_WRLCK;
	m.u.tlock.lock.flags = P9_LOCK_FLAGS_RECLAIM;
	m.u.tlock.lock.start = 0x0102030405060708ULL;
	m.u.tlock.lock.length = 0;
	m.u.tlock.lock.proc_id = 7;
	m.u.tlock.lock.client_id = p9_str_c("c");
	expect_bytes(&m, P9_DIALECT_2000L, want, sizeof(want));
}

static void test_vector_rstat_dotu(void)
{
	/* n[2] = 66 wraps a record whose own size[2] is 64. */
	static const uint8_t want[] = {
		0x4b, 0x00, 0x00, 0x00, 125, 0x04, 0x00,
		0x42, 0x00,
		0x40, 0x00,
		0x00, 0x00,                         /* type */
		0x00, 0x00, 0x00, 0x00,             /* dev */
		0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, /* qid */
		0xa4, 0x81, 0x00, 0x00,             /* mode 0100644 */
		0x01, 0x00, 0x00, 0x00,             /* atime */
		0x02, 0x00, 0x00, 0x00,             /* mtime */
		0x05, 0, 0, 0, 0, 0, 0, 0,          /* length */
		0x01, 0x00, 'f',                    /* name */
		0x01, 0x00, 'u',                    /* uid */
		0x01, 0x00, 'g',                    /* gid */
		0x00, 0x00,                         /* muid */
		0x00, 0x00,                         /* extension */
		0xe8, 0x03, 0x00, 0x00,             /* n_uid */
		0x64, 0x00, 0x00, 0x00,             /* n_gid */
		0xff, 0xff, 0xff, 0xff,             /* n_muid */
	};
	struct p9_msg m = { .type = P9_RSTAT, .tag = 4 };
	struct p9_stat *st = &m.u.rstat.stat;

	st->qid = mkqid(0, 1, 2);
	st->mode = 0100644;
	st->atime = 1;
	st->mtime = 2;
	st->length = 5;
	st->name = p9_str_c("f");
	st->uid = p9_str_c("u");
	st->gid = p9_str_c("g");
	st->muid = p9_str_c("");
	st->extension = p9_str_c("");
	st->n_uid = 1000;
	st->n_gid = 100;
	st->n_muid = P9_NONUNAME;
	g_assert_cmpuint(p9_stat_size(P9_DIALECT_2000U, st), ==, 66);
	expect_bytes(&m, P9_DIALECT_2000U, want, sizeof(want));
}

static void test_tfsync_without_datasync(void)
{
	static const uint8_t old[] = {
		0x0b, 0x00, 0x00, 0x00, 50, 0x01, 0x00, 0x2a, 0x00, 0x00, 0x00,
	};
	struct p9_msg m;

	g_assert_cmpint(decode_copy(old, sizeof(old), P9_DIALECT_2000L, &m), ==, 0);
	g_assert_cmpuint(m.u.tfsync.fid, ==, 42);
	g_assert_cmpuint(m.u.tfsync.datasync, ==, 0);
}

/* ---- hostile frames ------------------------------------------------------- */

/* Builds a frame from raw body bytes after the header; fixes the size. */
static uint8_t *raw_frame(uint8_t type, const void *body, size_t bodylen, size_t *len)
{
	uint8_t *f = g_malloc(P9_HDR_SIZE + bodylen);

	set_size(f, (uint32_t)(P9_HDR_SIZE + bodylen));
	f[4] = type;
	f[5] = 0x34;
	f[6] = 0x12;
	if (bodylen)
		memcpy(f + P9_HDR_SIZE, body, bodylen);
	*len = P9_HDR_SIZE + bodylen;
	return f;
}

static int decode_raw(uint8_t type, const void *body, size_t bodylen, enum p9_dialect d)
{
	struct p9_msg m;
	size_t len;
	uint8_t *f = raw_frame(type, body, bodylen, &len);
	int rc = p9_decode(f, len, d, &m);

	g_assert_cmpuint(m.type, ==, type);
	g_assert_cmpuint(m.tag, ==, 0x1234);
	g_free(f);
	return rc;
}

static void test_short_header(void)
{
	static const uint8_t hdr[] = { 0x07, 0, 0, 0, 100, 0xff, 0xff };
	struct p9_msg m;

	for (size_t n = 0; n < sizeof(hdr); n++)
		g_assert_cmpint(decode_copy(hdr, n, P9_DIALECT_2000L, &m), ==, -EPROTO);
	g_assert_cmpint(p9_decode(NULL, 0, P9_DIALECT_2000L, &m), ==, -EPROTO);
	/* A bare header of a body-less reply is complete. */
	static const uint8_t rclunk[] = { 0x07, 0, 0, 0, P9_RCLUNK, 0x01, 0x00 };
	g_assert_cmpint(decode_copy(rclunk, sizeof(rclunk), P9_DIALECT_2000L, &m), ==, 0);
	/* The same header claiming 8 bytes is not. */
	static const uint8_t liar[] = { 0x08, 0, 0, 0, P9_RCLUNK, 0x01, 0x00 };
	g_assert_cmpint(decode_copy(liar, sizeof(liar), P9_DIALECT_2000L, &m), ==, -EPROTO);
	/* A size field of 4 GiB - 1 on a short frame. */
	static const uint8_t huge[] = { 0xff, 0xff, 0xff, 0xff, P9_TCLUNK, 0x01, 0x00, 1, 0, 0, 0 };
	g_assert_cmpint(decode_copy(huge, sizeof(huge), P9_DIALECT_2000L, &m), ==, -EPROTO);
}

static void test_unknown_types(void)
{
	static const uint8_t unknown[] = { 0, 1, 5, 6, 28, 29, 99, 106, 128, 200, 255 };

	for (unsigned i = 0; i < G_N_ELEMENTS(unknown); i++) {
		uint8_t body[4] = { 0 };
		g_assert_cmpint(decode_raw(unknown[i], body, sizeof(body), P9_DIALECT_2000L),
				==, -EOPNOTSUPP);
		g_assert_cmpint(decode_raw(unknown[i], NULL, 0, P9_DIALECT_2000U),
				==, -EOPNOTSUPP);
	}
	struct p9_msg m = { .type = 200 };
	uint8_t buf[64];
	g_assert_cmpint(p9_encode(buf, sizeof(buf), P9_DIALECT_2000L, &m), ==, -EINVAL);
	m.type = P9_TERROR;
	g_assert_cmpint(p9_encode(buf, sizeof(buf), P9_DIALECT_2000L, &m), ==, -EINVAL);
	m.type = P9_TCLUNK;
	g_assert_cmpint(p9_encode(buf, sizeof(buf), (enum p9_dialect)7, &m), ==, -EINVAL);
}

static void test_string_past_end(void)
{
	/* Tversion: msize, then a string claiming 100 bytes with 8 present. */
	static const uint8_t body[] = { 0, 0x20, 0, 0, 100, 0, '9', 'P', '2', '0', '0', '0', '.', 'L' };
	g_assert_cmpint(decode_raw(P9_TVERSION, body, sizeof(body), P9_DIALECT_2000L), ==, -EPROTO);

	/* Length 0xFFFF at the very end of the frame. */
	static const uint8_t body2[] = { 1, 0, 0, 0, 0xff, 0xff };
	g_assert_cmpint(decode_raw(P9_TXATTRWALK, body2, sizeof(body2), P9_DIALECT_2000L), ==, -EPROTO);

	/* Second Twalk element overruns. */
	static const uint8_t body3[] = { 1, 0, 0, 0, 2, 0, 0, 0, 2, 0, 1, 0, 'a', 5, 0, 'b' };
	g_assert_cmpint(decode_raw(P9_TWALK, body3, sizeof(body3), P9_DIALECT_2000L), ==, -EPROTO);
}

static void test_string_with_nul(void)
{
	struct p9_msg m;
	uint8_t buf[256];
	int n;

	sample(P9_TLCREATE, &m);
	m.u.tlcreate.name = (struct p9_str){ "a\0b", 3 };
	n = p9_encode(buf, sizeof(buf), P9_DIALECT_2000L, &m);
	g_assert_cmpint(n, >, 0);
	g_assert_cmpint(decode_copy(buf, (size_t)n, P9_DIALECT_2000L, &m), ==, -EPROTO);

	/* A NUL as the last byte, in a walk element, in Rerror's ename. */
	sample(P9_TWALK, &m);
	m.u.twalk.wname[2] = (struct p9_str){ "doc\0", 4 };
	n = p9_encode(buf, sizeof(buf), P9_DIALECT_2000L, &m);
	g_assert_cmpint(decode_copy(buf, (size_t)n, P9_DIALECT_2000L, &m), ==, -EPROTO);

	sample(P9_RERROR, &m);
	m.u.rerror.ename = (struct p9_str){ "\0", 1 };
	n = p9_encode(buf, sizeof(buf), P9_DIALECT_2000U, &m);
	g_assert_cmpint(decode_copy(buf, (size_t)n, P9_DIALECT_2000U, &m), ==, -EPROTO);

	/* The primitive itself. */
	static const uint8_t s[] = { 3, 0, 'x', 0, 'y' };
	struct p9_rd r;
	p9_rd_init(&r, s, sizeof(s));
	(void)p9_getstr(&r);
	g_assert_true(r.err);
}

static void test_nwname_limits(void)
{
	uint8_t body[4 + 4 + 2 + 17 * 3];
	size_t n = 0;

	memset(body, 0, sizeof(body));
	n = 8;
	body[n++] = 17;
	body[n++] = 0;
	for (int i = 0; i < 17; i++) {
		body[n++] = 1;
		body[n++] = 0;
		body[n++] = 'x';
	}
	g_assert_cmpint(decode_raw(P9_TWALK, body, n, P9_DIALECT_2000L), ==, -EINVAL);
	/* 16 is the limit and fine. */
	body[8] = 16;
	g_assert_cmpint(decode_raw(P9_TWALK, body, n - 3, P9_DIALECT_2000L), ==, 0);
	/* nwname 0xFFFF with no elements: rejected before reading any. */
	body[8] = 0xff;
	body[9] = 0xff;
	g_assert_cmpint(decode_raw(P9_TWALK, body, 10, P9_DIALECT_2000L), ==, -EINVAL);

	uint8_t rbody[2 + 17 * 13];
	memset(rbody, 0, sizeof(rbody));
	rbody[0] = 17;
	g_assert_cmpint(decode_raw(P9_RWALK, rbody, sizeof(rbody), P9_DIALECT_2000L), ==, -EINVAL);
	rbody[0] = 16;
	g_assert_cmpint(decode_raw(P9_RWALK, rbody, sizeof(rbody) - 13, P9_DIALECT_2000L), ==, 0);

	struct p9_msg m;
	uint8_t buf[1024];
	sample(P9_TWALK, &m);
	m.u.twalk.nwname = 17;
	g_assert_cmpint(p9_encode(buf, sizeof(buf), P9_DIALECT_2000L, &m), ==, -EINVAL);
	sample(P9_RWALK, &m);
	m.u.rwalk.nwqid = 17;
	g_assert_cmpint(p9_encode(buf, sizeof(buf), P9_DIALECT_2000L, &m), ==, -EINVAL);
}

static void test_huge_counts(void)
{
	/* Twrite: fid offset count=0xFFFFFFFF and 4 bytes of data. */
	uint8_t tw[4 + 8 + 4 + 4] = { 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
				      0xff, 0xff, 0xff, 0xff, 'd', 'a', 't', 'a' };
	g_assert_cmpint(decode_raw(P9_TWRITE, tw, sizeof(tw), P9_DIALECT_2000L), ==, -EPROTO);
	/* count one more than present, one less (trailing byte), exact. */
	tw[12] = 5; tw[13] = tw[14] = tw[15] = 0;
	g_assert_cmpint(decode_raw(P9_TWRITE, tw, sizeof(tw), P9_DIALECT_2000L), ==, -EPROTO);
	tw[12] = 3;
	g_assert_cmpint(decode_raw(P9_TWRITE, tw, sizeof(tw), P9_DIALECT_2000L), ==, -EPROTO);
	tw[12] = 4;
	g_assert_cmpint(decode_raw(P9_TWRITE, tw, sizeof(tw), P9_DIALECT_2000L), ==, 0);

	static const uint8_t types[] = { P9_RREAD, P9_RREADDIR };
	for (unsigned i = 0; i < G_N_ELEMENTS(types); i++) {
		uint8_t rr[4 + 3] = { 0xf0, 0xff, 0xff, 0xff, 'a', 'b', 'c' };
		g_assert_cmpint(decode_raw(types[i], rr, sizeof(rr), P9_DIALECT_2000L), ==, -EPROTO);
		rr[0] = 4; rr[1] = rr[2] = rr[3] = 0;
		g_assert_cmpint(decode_raw(types[i], rr, sizeof(rr), P9_DIALECT_2000L), ==, -EPROTO);
		rr[0] = 0x80; rr[3] = 0x80;
		g_assert_cmpint(decode_raw(types[i], rr, sizeof(rr), P9_DIALECT_2000U), ==, -EPROTO);
		rr[0] = 3; rr[3] = 0;
		g_assert_cmpint(decode_raw(types[i], rr, sizeof(rr), P9_DIALECT_2000L), ==, 0);
	}

	/* An empty payload with a NULL pointer is fine; data without one is not. */
	struct p9_msg m = { .type = P9_RREAD, .tag = 1 };
	uint8_t buf[64];
	g_assert_cmpint(p9_encode(buf, sizeof(buf), P9_DIALECT_2000L, &m), ==, 11);
	m.u.rread.count = 1;
	g_assert_cmpint(p9_encode(buf, sizeof(buf), P9_DIALECT_2000L, &m), ==, -EINVAL);
}

static void test_rstat_nesting(void)
{
	struct p9_msg m;
	size_t len;
	uint8_t *f;

	sample(P9_RSTAT, &m);
	f = encode_exact(&m, P9_DIALECT_2000U, &len);
	/* Outer n one too large / small. */
	f[7]++;
	g_assert_cmpint(decode_copy(f, len, P9_DIALECT_2000U, &m), ==, -EPROTO);
	f[7] -= 2;
	g_assert_cmpint(decode_copy(f, len, P9_DIALECT_2000U, &m), ==, -EPROTO);
	f[7]++;
	/* Inner size one too small: the record's last field overruns it. */
	f[9]--;
	g_assert_cmpint(decode_copy(f, len, P9_DIALECT_2000U, &m), ==, -EPROTO);
	/* Inner and outer agreeing with each other is not enough. */
	f[7]--;
	g_assert_cmpint(decode_copy(f, len, P9_DIALECT_2000U, &m), ==, -EPROTO);
	f[7]++;
	f[9]++;
	g_assert_cmpint(decode_copy(f, len, P9_DIALECT_2000U, &m), ==, 0);
	/* A .u record read as 9P2000 leaves slack inside the record. */
	g_assert_cmpint(decode_copy(f, len, P9_DIALECT_2000, &m), ==, -EPROTO);
	g_free(f);

	/* Twstat: record one byte larger than its fields (slack inside). */
	sample(P9_TWSTAT, &m);
	f = encode_exact(&m, P9_DIALECT_2000, &len);
	uint8_t *g = g_malloc(len + 1);
	memcpy(g, f, len);
	g[len] = 0;
	set_size(g, (uint32_t)len + 1);
	g[11]++;        /* n */
	g[13]++;        /* size */
	g_assert_cmpint(decode_copy(g, len + 1, P9_DIALECT_2000, &m), ==, -EPROTO);
	g_free(g);
	g_free(f);

	/* A stat record whose size does not fit its 16-bit field. */
	char *longname = g_malloc(0xFFF0);
	memset(longname, 'n', 0xFFF0);
	sample(P9_RSTAT, &m);
	m.u.rstat.stat.name = (struct p9_str){ longname, 0xFFF0 };
	uint8_t *big = g_malloc(0x20000);
	g_assert_cmpint(p9_encode(big, 0x20000, P9_DIALECT_2000U, &m), ==, -EINVAL);
	g_free(big);
	g_free(longname);
}

/* Deterministic byte flips and length changes: decode must never crash and
 * every accepted frame must re-encode to the same bytes. */
static void test_mutations(void)
{
	guint32 seed = 0x9e3779b9;

	for (unsigned t = 0; t < G_N_ELEMENTS(all_types); t++) {
		for (unsigned di = 0; di < G_N_ELEMENTS(dialects); di++) {
			struct p9_msg m;
			size_t len;
			uint8_t *frame;

			sample(all_types[t], &m);
			frame = encode_exact(&m, dialects[di], &len);
			for (int iter = 0; iter < 200; iter++) {
				uint8_t *f = g_memdup2(frame, (gsize)len);
				seed = seed * 1103515245u + 12345u;
				size_t pos = (seed >> 8) % len;
				seed = seed * 1103515245u + 12345u;
				f[pos] ^= (uint8_t)(1u << ((seed >> 16) & 7));
				if (iter & 1)
					set_size(f, (uint32_t)len);
				if (p9_decode(f, len, dialects[di], &m) == 0) {
					uint8_t again[4096];
					int n = p9_encode(again, sizeof(again), dialects[di], &m);
					g_assert_cmpint(n, ==, (int)len);
					g_assert_cmpmem(again, len, f, len);
				}
				g_free(f);
			}
			g_free(frame);
		}
	}
}

/* ---- names, stats, dirents, primitives ------------------------------------ */

static void test_name_valid(void)
{
	g_assert_true(p9_name_valid(p9_str_c("file")));
	g_assert_true(p9_name_valid(p9_str_c("...")));
	g_assert_true(p9_name_valid(p9_str_c(".hidden")));
	g_assert_true(p9_name_valid(p9_str_c("..x")));
	g_assert_true(p9_name_valid(p9_str_c("a b\\c")));
	g_assert_false(p9_name_valid(p9_str_c("")));
	g_assert_false(p9_name_valid(p9_str_c(".")));
	g_assert_false(p9_name_valid(p9_str_c("..")));
	g_assert_false(p9_name_valid(p9_str_c("/")));
	g_assert_false(p9_name_valid(p9_str_c("a/b")));
	g_assert_false(p9_name_valid(p9_str_c("a/")));
	g_assert_false(p9_name_valid(p9_str_c("/a")));
	g_assert_false(p9_name_valid((struct p9_str){ "a\0b", 3 }));
	g_assert_false(p9_name_valid((struct p9_str){ "\0", 1 }));
	g_assert_false(p9_name_valid((struct p9_str){ "..\0", 3 }));
	g_assert_false(p9_name_valid((struct p9_str){ NULL, 0 }));
	/* Only the first len bytes count. */
	g_assert_true(p9_name_valid((struct p9_str){ "ab/c", 2 }));
	g_assert_false(p9_name_valid((struct p9_str){ "..abc", 2 }));
}

static void test_type_table(void)
{
	g_assert_cmpstr(p9_type_name(P9_TWALK), ==, "Twalk");
	g_assert_cmpstr(p9_type_name(P9_RWALK), ==, "Rwalk");
	g_assert_cmpstr(p9_type_name(P9_RLERROR), ==, "Rlerror");
	g_assert_cmpstr(p9_type_name(P9_TUNLINKAT), ==, "Tunlinkat");
	g_assert_cmpstr(p9_type_name(P9_RGETLOCK), ==, "Rgetlock");
	g_assert_null(p9_type_name(0));
	g_assert_null(p9_type_name(99));
	g_assert_null(p9_type_name(255));

	for (unsigned i = 0; i < G_N_ELEMENTS(all_types); i++) {
		uint8_t t = all_types[i];
		const char *name = p9_type_name(t);
		g_assert_nonnull(name);
		g_assert_cmpint(name[0], ==, (t & 1) ? 'R' : 'T');
		g_assert_cmpint(p9_is_tmsg(t), ==, !(t & 1));
		g_assert_cmpint(p9_is_rmsg(t), ==, (t & 1));
	}
	g_assert_false(p9_is_tmsg(P9_TERROR));
	g_assert_false(p9_is_tmsg(P9_TLERROR));
	g_assert_false(p9_is_tmsg(0));
	g_assert_false(p9_is_tmsg(P9_RVERSION));
	g_assert_true(p9_is_rmsg(P9_RERROR));

	g_assert_true(p9_type_in_dialect(P9_TLOPEN, P9_DIALECT_2000L));
	g_assert_false(p9_type_in_dialect(P9_TLOPEN, P9_DIALECT_2000U));
	g_assert_false(p9_type_in_dialect(P9_RLERROR, P9_DIALECT_2000));
	g_assert_true(p9_type_in_dialect(P9_RLERROR, P9_DIALECT_2000L));
	g_assert_true(p9_type_in_dialect(P9_TOPEN, P9_DIALECT_2000U));
	g_assert_false(p9_type_in_dialect(P9_TOPEN, P9_DIALECT_2000L));
	g_assert_true(p9_type_in_dialect(P9_RERROR, P9_DIALECT_2000));
	g_assert_false(p9_type_in_dialect(P9_RERROR, P9_DIALECT_2000L));
	g_assert_true(p9_type_in_dialect(P9_TWALK, P9_DIALECT_2000L));
	g_assert_false(p9_type_in_dialect(P9_TERROR, P9_DIALECT_2000));
	g_assert_false(p9_type_in_dialect(130, P9_DIALECT_2000));
}

static void test_stat_helpers(void)
{
	for (unsigned di = 0; di < G_N_ELEMENTS(dialects); di++) {
		enum p9_dialect d = dialects[di];
		struct p9_stat st, back;
		uint8_t buf[512];
		struct p9_wr w;
		struct p9_rd r;

		sample_stat(&st);
		p9_wr_init(&w, buf, sizeof(buf));
		p9_putstat(&w, d, &st);
		p9_putstat(&w, d, &st);
		g_assert_false(w.err);
		g_assert_cmpuint(p9_wr_len(&w), ==, 2 * p9_stat_size(d, &st));

		/* Two records back to back, as in a directory read. */
		p9_rd_init(&r, buf, p9_wr_len(&w));
		for (int i = 0; i < 2; i++) {
			back = p9_getstat(&r, d);
			g_assert_false(r.err);
			stat_equal(&back, &st, d);
		}
		g_assert_cmpuint(p9_rd_left(&r), ==, 0);
		back = p9_getstat(&r, d);
		g_assert_true(r.err);

		/* Truncated at every length. */
		size_t one = p9_stat_size(d, &st);
		for (size_t cut = 0; cut < one; cut++) {
			uint8_t *part = g_memdup2(buf, (gsize)(cut ? cut : 1));
			p9_rd_init(&r, part, cut);
			(void)p9_getstat(&r, d);
			g_assert_true(r.err);
			g_free(part);
		}

		/* Writer overflow is sticky and writes nothing past the end. */
		for (size_t cut = 0; cut < one; cut++) {
			uint8_t *out = g_malloc(cut ? cut : 1);
			p9_wr_init(&w, out, cut);
			p9_putstat(&w, d, &st);
			g_assert_true(w.err);
			g_free(out);
		}
	}
}

static void test_dirents(void)
{
	struct p9_dirent in[3] = {
		{ mkqid(P9_QTDIR, 0, 1), 1, 4, p9_str_c(".") },
		{ mkqid(P9_QTDIR, 0, 2), 2, 4, p9_str_c("..") },
		{ mkqid(P9_QTFILE, 9, 0xffffffffffffffffULL), 0x7fffffffffffffffULL, 8,
		  p9_str_c("a file") },
	};
	uint8_t buf[256];
	struct p9_wr w;
	struct p9_rd r;
	size_t total = 0;

	p9_wr_init(&w, buf, sizeof(buf));
	for (int i = 0; i < 3; i++) {
		p9_putdirent(&w, &in[i]);
		total += p9_dirent_size(in[i].name.len);
	}
	g_assert_false(w.err);
	g_assert_cmpuint(p9_wr_len(&w), ==, total);

	p9_rd_init(&r, buf, total);
	for (int i = 0; i < 3; i++) {
		struct p9_dirent de = p9_getdirent(&r);
		g_assert_false(r.err);
		g_assert_cmpuint(de.qid.type, ==, in[i].qid.type);
		g_assert_cmpuint(de.qid.version, ==, in[i].qid.version);
		g_assert_cmpuint(de.qid.path, ==, in[i].qid.path);
		g_assert_cmpuint(de.offset, ==, in[i].offset);
		g_assert_cmpuint(de.type, ==, in[i].type);
		str_equal(de.name, in[i].name, "name");
	}
	g_assert_cmpuint(p9_rd_left(&r), ==, 0);

	size_t third = p9_dirent_size(in[0].name.len) + p9_dirent_size(in[1].name.len);
	for (size_t cut = 0; cut < p9_dirent_size(in[2].name.len); cut++) {
		uint8_t *part = g_memdup2(buf + third, (gsize)(cut ? cut : 1));
		p9_rd_init(&r, part, cut);
		(void)p9_getdirent(&r);
		g_assert_true(r.err);
		g_free(part);
	}
}

static void test_primitives(void)
{
	static const uint8_t le[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09 };
	struct p9_rd r;

	p9_rd_init(&r, le, sizeof(le));
	g_assert_cmpuint(p9_get8(&r), ==, 0x01);
	g_assert_cmpuint(p9_get16(&r), ==, 0x0302);
	g_assert_cmpuint(p9_get32(&r), ==, 0x07060504);
	g_assert_false(r.err);
	g_assert_cmpuint(p9_get32(&r), ==, 0);   /* only two bytes left */
	g_assert_true(r.err);
	g_assert_cmpuint(p9_rd_left(&r), ==, 2);
	g_assert_cmpuint(p9_get8(&r), ==, 0);    /* sticky */

	p9_rd_init(&r, le + 1, 8);
	g_assert_cmpuint(p9_get64(&r), ==, 0x0908070605040302ULL);
	g_assert_cmpuint(p9_frame_size(le), ==, 0x04030201);

	uint8_t out[8];
	struct p9_wr w;
	p9_wr_init(&w, out, sizeof(out));
	p9_put64(&w, 0x1122334455667788ULL);
	g_assert_false(w.err);
	g_assert_cmpuint(out[0], ==, 0x88);
	g_assert_cmpuint(out[7], ==, 0x11);
	p9_put8(&w, 1);
	g_assert_true(w.err);
	g_assert_cmpint(p9_end_frame(&w), ==, -EMSGSIZE);

	/* putcstr: NULL is "", the length is the string's. */
	uint8_t sb[16];
	p9_wr_init(&w, sb, sizeof(sb));
	p9_putcstr(&w, NULL);
	p9_putcstr(&w, "xyz");
	g_assert_false(w.err);
	g_assert_cmpuint(p9_wr_len(&w), ==, 2 + 5);
	static const uint8_t want[] = { 0, 0, 3, 0, 'x', 'y', 'z' };
	g_assert_cmpmem(sb, 7, want, sizeof(want));

	/* begin/end frame. */
	uint8_t fb[16];
	p9_wr_init(&w, fb, sizeof(fb));
	p9_begin_frame(&w, P9_RCLUNK, 0x0203);
	g_assert_cmpint(p9_end_frame(&w), ==, 7);
	static const uint8_t fwant[] = { 7, 0, 0, 0, P9_RCLUNK, 3, 2 };
	g_assert_cmpmem(fb, 7, fwant, sizeof(fwant));
}

static void test_str_helpers(void)
{
	char dst[4];

	g_assert_true(p9_str_eq(p9_str_c("abc"), "abc"));
	g_assert_false(p9_str_eq(p9_str_c("abc"), "abcd"));
	g_assert_false(p9_str_eq(p9_str_c("abc"), "abd"));
	g_assert_true(p9_str_eq(p9_str_c(""), ""));
	g_assert_true(p9_str_eq((struct p9_str){ "abcdef", 3 }, "abc"));
	g_assert_true(p9_str_copy(dst, sizeof(dst), p9_str_c("abc")));
	g_assert_cmpstr(dst, ==, "abc");
	g_assert_false(p9_str_copy(dst, sizeof(dst), p9_str_c("abcd")));
	g_assert_cmpstr(dst, ==, "");
	g_assert_true(p9_str_copy(dst, sizeof(dst), (struct p9_str){ "xyzw", 2 }));
	g_assert_cmpstr(dst, ==, "xy");
	g_assert_false(p9_str_copy(dst, 0, p9_str_c("")));
	g_assert_cmpuint(p9_str_c(NULL).len, ==, 0);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

	static struct case_id cases[G_N_ELEMENTS(all_types) * G_N_ELEMENTS(dialects)];
	unsigned nc = 0;
	for (unsigned t = 0; t < G_N_ELEMENTS(all_types); t++) {
		for (unsigned di = 0; di < G_N_ELEMENTS(dialects); di++) {
			struct case_id *c = &cases[nc++];
			c->type = all_types[t];
			c->d = dialects[di];
			const char *tn = p9_type_name(c->type);
			char *p;
			p = g_strdup_printf("/p9/roundtrip/%s/%s", dialect_names[di], tn);
			g_test_add_data_func(p, c, test_roundtrip);
			g_free(p);
			p = g_strdup_printf("/p9/truncated/%s/%s", dialect_names[di], tn);
			g_test_add_data_func(p, c, test_truncated);
			g_free(p);
			p = g_strdup_printf("/p9/trailing/%s/%s", dialect_names[di], tn);
			g_test_add_data_func(p, c, test_trailing);
			g_free(p);
		}
	}
	g_test_add_func("/p9/vector/tversion", test_vector_tversion);
	g_test_add_func("/p9/vector/twalk", test_vector_twalk);
	g_test_add_func("/p9/vector/rlerror", test_vector_rlerror);
	g_test_add_func("/p9/vector/tattach-dialects", test_vector_tattach_dialects);
	g_test_add_func("/p9/vector/tlock", test_vector_tlock);
	g_test_add_func("/p9/vector/rstat-dotu", test_vector_rstat_dotu);
	g_test_add_func("/p9/vector/tfsync-old", test_tfsync_without_datasync);
	g_test_add_func("/p9/bad/short-header", test_short_header);
	g_test_add_func("/p9/bad/unknown-type", test_unknown_types);
	g_test_add_func("/p9/bad/string-past-end", test_string_past_end);
	g_test_add_func("/p9/bad/string-with-nul", test_string_with_nul);
	g_test_add_func("/p9/bad/nwname", test_nwname_limits);
	g_test_add_func("/p9/bad/huge-counts", test_huge_counts);
	g_test_add_func("/p9/bad/rstat-nesting", test_rstat_nesting);
	g_test_add_func("/p9/bad/mutations", test_mutations);
	g_test_add_func("/p9/names/valid", test_name_valid);
	g_test_add_func("/p9/names/types", test_type_table);
	g_test_add_func("/p9/records/stat", test_stat_helpers);
	g_test_add_func("/p9/records/dirent", test_dirents);
	g_test_add_func("/p9/wire/primitives", test_primitives);
	g_test_add_func("/p9/wire/strings", test_str_helpers);
	return g_test_run();
}
