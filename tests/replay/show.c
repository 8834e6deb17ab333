// SPDX-License-Identifier: GPL-2.0-or-later
/* A 9P message as one line of its fields (replay.h). */
#include <string.h>

#include "replay.h"

static void str(GString *g, const char *name, struct p9_str s)
{
	g_string_append_printf(g, " %s \"%.*s\"", name, (int)MIN(s.len, 64), s.s ? s.s : "");
	if (s.len > 64)
		g_string_append(g, "...");
}

static void qid(GString *g, const char *name, const struct p9_qid *q)
{
	g_string_append_printf(g, " %s(0x%x,%u,0x%llx)", name, q->type, q->version,
			       (unsigned long long)q->path);
}

static void data(GString *g, const uint8_t *p, uint32_t n)
{
	g_string_append_printf(g, " count %u", n);
	if (n && p) {
		g_string_append(g, " data ");
		for (uint32_t i = 0; i < MIN(n, 16u); i++)
			g_string_append_printf(g, "%02x", p[i]);
		if (n > 16)
			g_string_append(g, "...");
	}
}

static void dirents(GString *g, const uint8_t *p, uint32_t n)
{
	struct p9_rd rd;
	unsigned shown = 0;

	p9_rd_init(&rd, p, n);
	g_string_append_printf(g, " count %u [", n);
	while (p9_rd_left(&rd) && !rd.err) {
		struct p9_dirent de = p9_getdirent(&rd);

		if (rd.err)
			break;
		if (shown++ == 8) {
			g_string_append(g, " ...");
			break;
		}
		g_string_append_printf(g, " %.*s@%llu", (int)de.name.len, de.name.s,
				       (unsigned long long)de.offset);
		qid(g, "", &de.qid);
	}
	g_string_append(g, " ]");
}

static void stat9(GString *g, const struct p9_stat *st)
{
	str(g, "name", st->name);
	qid(g, "qid", &st->qid);
	g_string_append_printf(g, " mode 0%o length %llu", st->mode,
			       (unsigned long long)st->length);
	str(g, "uid", st->uid);
	str(g, "gid", st->gid);
}

char *replay_show(const uint8_t *frame, size_t len, enum p9_dialect d)
{
	GString *g = g_string_new(NULL);
	struct p9_msg m;
	const char *name;

	if (len < P9_HDR_SIZE || p9_decode(frame, len, d, &m) < 0) {
		g_string_append_printf(g, "undecodable frame of %zu bytes:", len);
		for (size_t i = 0; i < MIN(len, (size_t)24); i++)
			g_string_append_printf(g, " %02x", frame[i]);
		return g_string_free(g, FALSE);
	}
	name = p9_type_name(m.type);
	g_string_append_printf(g, "%s tag %u", name ? name : "?", m.tag);
	switch (m.type) {
	case P9_TVERSION: case P9_RVERSION:
		g_string_append_printf(g, " msize %u", m.u.version.msize);
		str(g, "version", m.u.version.version);
		break;
	case P9_TATTACH:
		g_string_append_printf(g, " fid %u afid %d n_uname %u", m.u.tattach.fid,
				       (int)m.u.tattach.afid, m.u.tattach.n_uname);
		str(g, "uname", m.u.tattach.uname);
		str(g, "aname", m.u.tattach.aname);
		break;
	case P9_RATTACH: case P9_RAUTH:
		qid(g, "qid", &m.u.rattach.qid);
		break;
	case P9_RERROR:
		str(g, "ename", m.u.rerror.ename);
		g_string_append_printf(g, " ecode %u (%s)", m.u.rerror.ecode,
				       g_strerror((int)m.u.rerror.ecode));
		break;
	case P9_RLERROR:
		g_string_append_printf(g, " ecode %u (%s)", m.u.rlerror.ecode,
				       g_strerror((int)m.u.rlerror.ecode));
		break;
	case P9_TFLUSH:
		g_string_append_printf(g, " oldtag %u", m.u.tflush.oldtag);
		break;
	case P9_TWALK:
		g_string_append_printf(g, " fid %u newfid %u", m.u.twalk.fid, m.u.twalk.newfid);
		for (unsigned i = 0; i < m.u.twalk.nwname && i < P9_MAXWELEM; i++)
			str(g, "", m.u.twalk.wname[i]);
		break;
	case P9_RWALK:
		for (unsigned i = 0; i < m.u.rwalk.nwqid && i < P9_MAXWELEM; i++)
			qid(g, "", &m.u.rwalk.wqid[i]);
		break;
	case P9_TOPEN:
		g_string_append_printf(g, " fid %u mode %u", m.u.topen.fid, m.u.topen.mode);
		break;
	case P9_ROPEN: case P9_RCREATE: case P9_RLOPEN: case P9_RLCREATE:
		qid(g, "qid", &m.u.ropen.qid);
		g_string_append_printf(g, " iounit %u", m.u.ropen.iounit);
		break;
	case P9_TCREATE:
		g_string_append_printf(g, " fid %u perm 0%o mode %u", m.u.tcreate.fid,
				       m.u.tcreate.perm, m.u.tcreate.mode);
		str(g, "name", m.u.tcreate.name);
		break;
	case P9_TREAD: case P9_TREADDIR:
		g_string_append_printf(g, " fid %u offset %llu count %u", m.u.tread.fid,
				       (unsigned long long)m.u.tread.offset, m.u.tread.count);
		break;
	case P9_RREAD:
		data(g, m.u.rread.data, m.u.rread.count);
		break;
	case P9_RREADDIR:
		dirents(g, m.u.rread.data, m.u.rread.count);
		break;
	case P9_TWRITE:
		g_string_append_printf(g, " fid %u offset %llu", m.u.twrite.fid,
				       (unsigned long long)m.u.twrite.offset);
		data(g, m.u.twrite.data, m.u.twrite.count);
		break;
	case P9_RWRITE:
		g_string_append_printf(g, " count %u", m.u.rwrite.count);
		break;
	case P9_TCLUNK: case P9_TREMOVE: case P9_TSTAT: case P9_TSTATFS: case P9_TREADLINK:
		g_string_append_printf(g, " fid %u", m.u.tfid.fid);
		break;
	case P9_RSTAT:
		stat9(g, &m.u.rstat.stat);
		break;
	case P9_TWSTAT:
		g_string_append_printf(g, " fid %u", m.u.twstat.fid);
		stat9(g, &m.u.twstat.stat);
		break;
	case P9_RSTATFS:
		g_string_append_printf(g, " type 0x%x bsize %u blocks %llu bfree %llu files %llu "
				       "namelen %u", m.u.rstatfs.st.type, m.u.rstatfs.st.bsize,
				       (unsigned long long)m.u.rstatfs.st.blocks,
				       (unsigned long long)m.u.rstatfs.st.bfree,
				       (unsigned long long)m.u.rstatfs.st.files,
				       m.u.rstatfs.st.namelen);
		break;
	case P9_TLOPEN:
		g_string_append_printf(g, " fid %u flags 0x%x", m.u.tlopen.fid, m.u.tlopen.flags);
		break;
	case P9_TLCREATE:
		g_string_append_printf(g, " fid %u flags 0x%x mode 0%o gid %u", m.u.tlcreate.fid,
				       m.u.tlcreate.flags, m.u.tlcreate.mode, m.u.tlcreate.gid);
		str(g, "name", m.u.tlcreate.name);
		break;
	case P9_TSYMLINK:
		g_string_append_printf(g, " fid %u gid %u", m.u.tsymlink.fid, m.u.tsymlink.gid);
		str(g, "name", m.u.tsymlink.name);
		str(g, "target", m.u.tsymlink.symtgt);
		break;
	case P9_RSYMLINK: case P9_RMKNOD: case P9_RMKDIR:
		qid(g, "qid", &m.u.rqid.qid);
		break;
	case P9_TMKNOD:
		g_string_append_printf(g, " dfid %u mode 0%o", m.u.tmknod.dfid, m.u.tmknod.mode);
		str(g, "name", m.u.tmknod.name);
		break;
	case P9_TRENAME:
		g_string_append_printf(g, " fid %u dfid %u", m.u.trename.fid, m.u.trename.dfid);
		str(g, "name", m.u.trename.name);
		break;
	case P9_RREADLINK:
		str(g, "target", m.u.rreadlink.target);
		break;
	case P9_TGETATTR:
		g_string_append_printf(g, " fid %u mask 0x%llx", m.u.tgetattr.fid,
				       (unsigned long long)m.u.tgetattr.request_mask);
		break;
	case P9_RGETATTR: {
		const struct p9_getattr *a = &m.u.rgetattr;

		g_string_append_printf(g, " valid 0x%llx", (unsigned long long)a->valid);
		qid(g, "qid", &a->qid);
		g_string_append_printf(g, " mode 0%o uid %u gid %u nlink %llu rdev %llu size %llu "
				       "blocks %llu", a->mode, a->uid, a->gid,
				       (unsigned long long)a->nlink, (unsigned long long)a->rdev,
				       (unsigned long long)a->size, (unsigned long long)a->blocks);
		break;
	}
	case P9_TSETATTR:
		g_string_append_printf(g, " fid %u valid 0x%x mode 0%o uid %u gid %u size %llu",
				       m.u.tsetattr.fid, m.u.tsetattr.attr.valid,
				       m.u.tsetattr.attr.mode, m.u.tsetattr.attr.uid,
				       m.u.tsetattr.attr.gid,
				       (unsigned long long)m.u.tsetattr.attr.size);
		break;
	case P9_TXATTRWALK:
		g_string_append_printf(g, " fid %u newfid %u", m.u.txattrwalk.fid,
				       m.u.txattrwalk.newfid);
		str(g, "name", m.u.txattrwalk.name);
		break;
	case P9_RXATTRWALK:
		g_string_append_printf(g, " size %llu", (unsigned long long)m.u.rxattrwalk.size);
		break;
	case P9_TXATTRCREATE:
		g_string_append_printf(g, " fid %u size %llu flags %u", m.u.txattrcreate.fid,
				       (unsigned long long)m.u.txattrcreate.attr_size,
				       m.u.txattrcreate.flags);
		str(g, "name", m.u.txattrcreate.name);
		break;
	case P9_TFSYNC:
		g_string_append_printf(g, " fid %u datasync %u", m.u.tfsync.fid,
				       m.u.tfsync.datasync);
		break;
	case P9_TLOCK: case P9_TGETLOCK:
		g_string_append_printf(g, " fid %u type %u start %llu length %llu proc %u",
				       m.u.tlock.fid, m.u.tlock.lock.type,
				       (unsigned long long)m.u.tlock.lock.start,
				       (unsigned long long)m.u.tlock.lock.length,
				       m.u.tlock.lock.proc_id);
		break;
	case P9_RLOCK:
		g_string_append_printf(g, " status %u", m.u.rlock.status);
		break;
	case P9_RGETLOCK:
		g_string_append_printf(g, " type %u start %llu length %llu proc %u",
				       m.u.rgetlock.lock.type,
				       (unsigned long long)m.u.rgetlock.lock.start,
				       (unsigned long long)m.u.rgetlock.lock.length,
				       m.u.rgetlock.lock.proc_id);
		break;
	case P9_TLINK:
		g_string_append_printf(g, " dfid %u fid %u", m.u.tlink.dfid, m.u.tlink.fid);
		str(g, "name", m.u.tlink.name);
		break;
	case P9_TMKDIR:
		g_string_append_printf(g, " dfid %u mode 0%o gid %u", m.u.tmkdir.dfid,
				       m.u.tmkdir.mode, m.u.tmkdir.gid);
		str(g, "name", m.u.tmkdir.name);
		break;
	case P9_TRENAMEAT:
		g_string_append_printf(g, " olddirfid %u newdirfid %u", m.u.trenameat.olddirfid,
				       m.u.trenameat.newdirfid);
		str(g, "oldname", m.u.trenameat.oldname);
		str(g, "newname", m.u.trenameat.newname);
		break;
	case P9_TUNLINKAT:
		g_string_append_printf(g, " dirfid %u flags 0x%x", m.u.tunlinkat.dirfd,
				       m.u.tunlinkat.flags);
		str(g, "name", m.u.tunlinkat.name);
		break;
	default:
		break;
	}
	return g_string_free(g, FALSE);
}
