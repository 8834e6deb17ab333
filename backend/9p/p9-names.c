/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Message-type table (names, which dialect defines which message) and the
 * single path-component check every name from the wire goes through.
 */
#include <string.h>

#include "9p/p9.h"

enum {
	IN_2000 = 1 << P9_DIALECT_2000,
	IN_U = 1 << P9_DIALECT_2000U,
	IN_L = 1 << P9_DIALECT_2000L,
	IN_ALL = IN_2000 | IN_U | IN_L,
	/* Error replies that are types but never valid requests. */
	NOT_A_REQUEST = 1 << 7,
};

struct type_info {
	const char *name;
	uint8_t dialects;
};

/*
 * Indexed by the T type; the R type is T+1 and shares the row.  9P2000.L
 * keeps the 9P2000 core (version, auth, attach, flush, walk, read, write,
 * clunk, remove) and replaces open/create/stat/wstat and Rerror.
 */
static const struct type_info types[256] = {
	[P9_TLERROR] = { "Tlerror", IN_L | NOT_A_REQUEST },
	[P9_TSTATFS] = { "Tstatfs", IN_L },
	[P9_TLOPEN] = { "Tlopen", IN_L },
	[P9_TLCREATE] = { "Tlcreate", IN_L },
	[P9_TSYMLINK] = { "Tsymlink", IN_L },
	[P9_TMKNOD] = { "Tmknod", IN_L },
	[P9_TRENAME] = { "Trename", IN_L },
	[P9_TREADLINK] = { "Treadlink", IN_L },
	[P9_TGETATTR] = { "Tgetattr", IN_L },
	[P9_TSETATTR] = { "Tsetattr", IN_L },
	[P9_TXATTRWALK] = { "Txattrwalk", IN_L },
	[P9_TXATTRCREATE] = { "Txattrcreate", IN_L },
	[P9_TREADDIR] = { "Treaddir", IN_L },
	[P9_TFSYNC] = { "Tfsync", IN_L },
	[P9_TLOCK] = { "Tlock", IN_L },
	[P9_TGETLOCK] = { "Tgetlock", IN_L },
	[P9_TLINK] = { "Tlink", IN_L },
	[P9_TMKDIR] = { "Tmkdir", IN_L },
	[P9_TRENAMEAT] = { "Trenameat", IN_L },
	[P9_TUNLINKAT] = { "Tunlinkat", IN_L },
	[P9_TVERSION] = { "Tversion", IN_ALL },
	[P9_TAUTH] = { "Tauth", IN_ALL },
	[P9_TATTACH] = { "Tattach", IN_ALL },
	[P9_TERROR] = { "Terror", IN_2000 | IN_U | NOT_A_REQUEST },
	[P9_TFLUSH] = { "Tflush", IN_ALL },
	[P9_TWALK] = { "Twalk", IN_ALL },
	[P9_TOPEN] = { "Topen", IN_2000 | IN_U },
	[P9_TCREATE] = { "Tcreate", IN_2000 | IN_U },
	[P9_TREAD] = { "Tread", IN_ALL },
	[P9_TWRITE] = { "Twrite", IN_ALL },
	[P9_TCLUNK] = { "Tclunk", IN_ALL },
	[P9_TREMOVE] = { "Tremove", IN_ALL },
	[P9_TSTAT] = { "Tstat", IN_2000 | IN_U },
	[P9_TWSTAT] = { "Twstat", IN_2000 | IN_U },
};

static const struct type_info *row(uint8_t type)
{
	const struct type_info *t = &types[type & ~1u];

	return t->name ? t : NULL;
}

const char *p9_type_name(uint8_t type)
{
	static const char *const rnames[256] = {
		[P9_RLERROR] = "Rlerror", [P9_RSTATFS] = "Rstatfs",
		[P9_RLOPEN] = "Rlopen", [P9_RLCREATE] = "Rlcreate",
		[P9_RSYMLINK] = "Rsymlink", [P9_RMKNOD] = "Rmknod",
		[P9_RRENAME] = "Rrename", [P9_RREADLINK] = "Rreadlink",
		[P9_RGETATTR] = "Rgetattr", [P9_RSETATTR] = "Rsetattr",
		[P9_RXATTRWALK] = "Rxattrwalk", [P9_RXATTRCREATE] = "Rxattrcreate",
		[P9_RREADDIR] = "Rreaddir", [P9_RFSYNC] = "Rfsync",
		[P9_RLOCK] = "Rlock", [P9_RGETLOCK] = "Rgetlock",
		[P9_RLINK] = "Rlink", [P9_RMKDIR] = "Rmkdir",
		[P9_RRENAMEAT] = "Rrenameat", [P9_RUNLINKAT] = "Runlinkat",
		[P9_RVERSION] = "Rversion", [P9_RAUTH] = "Rauth",
		[P9_RATTACH] = "Rattach", [P9_RERROR] = "Rerror",
		[P9_RFLUSH] = "Rflush", [P9_RWALK] = "Rwalk",
		[P9_ROPEN] = "Ropen", [P9_RCREATE] = "Rcreate",
		[P9_RREAD] = "Rread", [P9_RWRITE] = "Rwrite",
		[P9_RCLUNK] = "Rclunk", [P9_RREMOVE] = "Rremove",
		[P9_RSTAT] = "Rstat", [P9_RWSTAT] = "Rwstat",
	};
	const struct type_info *t = row(type);

	if (!t)
		return NULL;
	return (type & 1) ? rnames[type] : t->name;
}

bool p9_is_tmsg(uint8_t type)
{
	const struct type_info *t = row(type);

	return t && !(type & 1) && !(t->dialects & NOT_A_REQUEST);
}

bool p9_is_rmsg(uint8_t type)
{
	const struct type_info *t = row(type);

	return t && (type & 1);
}

bool p9_type_in_dialect(uint8_t type, enum p9_dialect d)
{
	const struct type_info *t = row(type);

	if (!t || (unsigned)d > P9_DIALECT_2000L)
		return false;
	if (type == P9_TERROR || type == P9_TLERROR)
		return false;
	return (t->dialects & (1u << d)) != 0;
}

static const char *const dialect_names[] = {
	[P9_DIALECT_2000] = "9P2000",
	[P9_DIALECT_2000U] = "9P2000.u",
	[P9_DIALECT_2000L] = "9P2000.L",
};

const char *p9_dialect_name(enum p9_dialect d)
{
	return (unsigned)d < sizeof(dialect_names) / sizeof(dialect_names[0]) ? dialect_names[d] : "9P2000";
}

bool p9_dialect_parse(struct p9_str name, enum p9_dialect *d)
{
	for (unsigned i = 0; i < sizeof(dialect_names) / sizeof(dialect_names[0]); i++)
		if (p9_str_eq(name, dialect_names[i])) {
			*d = (enum p9_dialect)i;
			return true;
		}
	return false;
}

bool p9_rversion_parse(const uint8_t *frame, size_t len, enum p9_dialect *d, uint32_t *msize)
{
	struct p9_rd rd;
	struct p9_str v;

	if (len < P9_HDR_SIZE || frame[4] != P9_RVERSION)
		return false;
	p9_rd_init(&rd, frame + P9_HDR_SIZE, len - P9_HDR_SIZE);
	*msize = p9_get32(&rd);
	v = p9_getstr(&rd);
	return !rd.err && p9_dialect_parse(v, d);
}

bool p9_name_valid(struct p9_str s)
{
	if (s.len == 0 || !s.s)
		return false;
	if (memchr(s.s, '/', s.len) || memchr(s.s, '\0', s.len))
		return false;
	if (s.s[0] == '.' && (s.len == 1 || (s.len == 2 && s.s[1] == '.')))
		return false;
	return true;
}
