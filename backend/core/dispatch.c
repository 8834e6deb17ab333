// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Request decoding, Tversion, error replies and the operation table.
 *
 * Which operations a dialect may use is decided here, once: a 9P2000.L
 * session gets EOPNOTSUPP for Topen/Tcreate/Tstat/Twstat and a 9P2000(.u)
 * session for the .L-only messages, so handlers need not check.
 */
#include <errno.h>
#include <string.h>

#include "core/core.h"
#include "journal/journal.h"

typedef void (*op_fn)(struct x9p_req *, struct p9_msg *);

/* Which dialect has which message is the codec's table (p9_type_in_dialect). */
static const op_fn optab[256] = {
	[P9_TATTACH] = x9p_op_attach,
	[P9_TAUTH] = x9p_op_auth,
	[P9_TWALK] = x9p_op_walk,
	[P9_TCLUNK] = x9p_op_clunk,
	[P9_TREMOVE] = x9p_op_remove,
	[P9_TREAD] = x9p_op_read,
	[P9_TWRITE] = x9p_op_write,
	[P9_TOPEN] = x9p_op_open,
	[P9_TCREATE] = x9p_op_create,
	[P9_TSTAT] = x9p_op_stat,
	[P9_TWSTAT] = x9p_op_wstat,
	[P9_TLOPEN] = x9p_op_lopen,
	[P9_TLCREATE] = x9p_op_lcreate,
	[P9_TFSYNC] = x9p_op_fsync,
	[P9_TLOCK] = x9p_op_lock,
	[P9_TGETLOCK] = x9p_op_getlock,
	[P9_TREADDIR] = x9p_op_readdir,
	[P9_TGETATTR] = x9p_op_getattr,
	[P9_TSETATTR] = x9p_op_setattr,
	[P9_TSTATFS] = x9p_op_statfs,
	[P9_TMKDIR] = x9p_op_mkdir,
	[P9_TMKNOD] = x9p_op_mknod,
	[P9_TSYMLINK] = x9p_op_symlink,
	[P9_TLINK] = x9p_op_link,
	[P9_TREADLINK] = x9p_op_readlink,
	[P9_TRENAME] = x9p_op_rename,
	[P9_TRENAMEAT] = x9p_op_renameat,
	[P9_TUNLINKAT] = x9p_op_unlinkat,
	[P9_TXATTRWALK] = x9p_op_xattrwalk,
	[P9_TXATTRCREATE] = x9p_op_xattrcreate,
};

int x9p_encode_err(struct x9p_session *s, uint16_t tag, int err, uint8_t *buf, size_t len)
{
	struct p9_msg m = { .tag = tag };
	char ename[X9P_ERRMAX];

	if (err < 0)
		err = -err;
	if (s->dialect == P9_DIALECT_2000L) {
		m.type = P9_RLERROR;
		m.u.rlerror.ecode = (uint32_t)err;
	} else {
		/* Linux trims its receive buffer: keep the string short. */
		g_strlcpy(ename, g_strerror(err), sizeof(ename) - 1);
		m.type = P9_RERROR;
		m.u.rerror.ename = p9_str_c(ename);
		m.u.rerror.ecode = (uint32_t)err;
	}
	return p9_encode(buf, len, s->dialect, &m);
}

void x9p_reply_err(struct x9p_req *r, int err)
{
	uint8_t buf[P9_HDR_SIZE + 2 + X9P_ERRMAX + 4];
	struct iovec iov = { buf, 0 };
	int len = x9p_encode_err(r->s, r->tag, err, buf, sizeof(buf));

	iov.iov_len = len > 0 ? (size_t)len : 0;
	x9p_req_finish(r, &iov, 1, err < 0 ? err : -err);
}

void x9p_reply(struct x9p_req *r, struct p9_msg *m)
{
	size_t cap = r->s->msize;
	uint8_t *buf = g_malloc(cap);
	struct iovec iov = { buf, 0 };
	int len;

	m->tag = r->tag;
	len = p9_encode(buf, cap, r->s->dialect, m);
	if (len < 0) {
		/* Only reachable through a handler bug: the reply is bounded by msize. */
		g_warning("%s: %s reply does not fit msize %zu", r->s->channel,
			  p9_type_name(m->type), cap);
		g_free(buf);
		x9p_reply_err(r, EMSGSIZE);
		return;
	}
	iov.iov_len = (size_t)len;
	x9p_req_finish(r, &iov, 1, 0);
	g_free(buf);
}

static bool parse_version(struct p9_str v, enum p9_dialect *d)
{
	if (p9_dialect_parse(v, d))
		return true;
	/* Any unknown "9P2000.xxx" extension falls back to 9P2000 */
	if (v.len >= 6 && memcmp(v.s, "9P2000", 6) == 0 && (v.len == 6 || v.s[6] == '.')) {
		*d = P9_DIALECT_2000;
		return true;
	}
	return false;
}

void x9p_do_version(struct x9p_session *s, struct x9p_req *r)
{
	struct p9_msg m, out = { .type = P9_RVERSION };
	enum p9_dialect d;
	uint8_t buf[64];
	struct iovec iov = { buf, 0 };
	int len;

	/* Tversion's layout is the same in every dialect. */
	if (p9_decode(r->frame, r->len, P9_DIALECT_2000, &m) < 0) {
		g_info("%s: malformed Tversion", s->channel);
		len = x9p_encode_err(s, r->tag, EPROTO, buf, sizeof(buf));
		iov.iov_len = len > 0 ? (size_t)len : 0;
		x9p_req_finish(r, &iov, 1, -EPROTO);
		return;
	}
	out.tag = r->tag;
	if (!parse_version(m.u.version.version, &d) || m.u.version.msize < X9P_MIN_MSIZE) {
		if (m.u.version.msize < X9P_MIN_MSIZE)
			g_info("%s: client msize %u below minimum %u", s->channel,
			       m.u.version.msize, X9P_MIN_MSIZE);
		out.u.version.msize = MIN(m.u.version.msize, s->max_msize);
		out.u.version.version = p9_str_c("unknown");
	} else {
		uint32_t msize = MIN(m.u.version.msize, s->max_msize);

		if (!(s->versioned && s->srv->keep_fids_on_version)) {
			x9p_fidtab_clear(&s->fids);
			x9p_locks_drop_session(s->srv->locks, s);
		}
		s->dialect = d;
		g_atomic_int_set((gint *)&s->msize, (gint)msize);
		s->versioned = true;
		g_atomic_int_set(&s->version_done, 1);
		s->resumed = false;
		if (s->journal)
			x9p_journal_set_version(s->journal, (uint32_t)d, msize);
		out.u.version.msize = msize;
		out.u.version.version = p9_str_c(p9_dialect_name(d));
		g_debug("%s: %s msize %u", s->channel, p9_dialect_name(d), msize);
	}
	len = p9_encode(buf, sizeof(buf), P9_DIALECT_2000, &out);
	iov.iov_len = len > 0 ? (size_t)len : 0;
	x9p_req_finish(r, &iov, 1, 0);
}

void x9p_dispatch(struct x9p_req *r)
{
	struct x9p_session *s = r->s;
	struct p9_msg m;
	int err;

	if (!s->versioned) {
		x9p_reply_err(r, EPROTO);
		return;
	}
	if (r->cancelled && s->closing) {
		x9p_reply_err(r, EINTR);
		return;
	}
	if (!optab[r->type]) {
		g_debug("%s: unknown message type %u", s->channel, r->type);
		x9p_reply_err(r, EOPNOTSUPP);
		return;
	}
	if (!p9_type_in_dialect(r->type, s->dialect)) {
		x9p_reply_err(r, EOPNOTSUPP);
		return;
	}
	if (r->data) {
		/* Only a Twrite may leave its payload in transport buffers. */
		if (r->type == P9_TWRITE) {
			x9p_op_write_data(r);
		} else {
			x9p_req_release_data(r);
			x9p_reply_err(r, EPROTO);
		}
		return;
	}
	err = p9_decode(r->frame, r->len, s->dialect, &m);
	if (err < 0) {
		g_info("%s: malformed %s (tag %u): %s", s->channel, p9_type_name(r->type),
		       r->tag, g_strerror(-err));
		x9p_reply_err(r, -err);
		return;
	}
	optab[r->type](r, &m);
}
