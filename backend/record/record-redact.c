// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Redaction of recorded frames (record.h): data zeroed, names replaced in
 * place by keyed pseudonyms of the same length.  Equal names get equal
 * pseudonyms, so a redacted recording still shows which requests touch
 * the same file; "." and ".." and the '/' of symlink targets stay.
 */
#include <string.h>

#include <glib.h>

#include "record/record.h"

static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";

static void pseudonym(char *s, size_t len, const uint8_t key[16])
{
	uint8_t digest[32];
	gsize dlen = sizeof(digest);

	if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
		return;
	for (size_t done = 0, round = 0; done < len; round++) {
		GHmac *h = g_hmac_new(G_CHECKSUM_SHA256, key, 16);
		uint8_t r = (uint8_t)round;

		g_hmac_update(h, (const guchar *)s, (gssize)len);
		g_hmac_update(h, &r, 1);
		g_hmac_get_digest(h, digest, &dlen);
		g_hmac_unref(h);
		for (size_t i = 0; i < dlen && done + i < len; i++)
			s[done + i] = alphabet[digest[i] % (sizeof(alphabet) - 1)];
		done += dlen;
	}
}

/* A name or path in a frame we own (the decoder's pointer is const). */
static void redact_str(uint8_t *frame, struct p9_str str, const uint8_t key[16])
{
	char *s = (char *)frame + (str.s - (const char *)frame);
	size_t start = 0;

	if (!str.s)
		return;
	for (size_t i = 0; i <= str.len; i++) {
		if (i == str.len || s[i] == '/') {
			/* The comparison above runs on the original bytes. */
			char saved[256];
			size_t n = i - start;

			if (n && n <= sizeof(saved)) {
				memcpy(saved, s + start, n);
				pseudonym(saved, n, key);
				memcpy(s + start, saved, n);
			} else if (n) {
				memset(s + start, 'x', n);
			}
			start = i + 1;
		}
	}
}

static void zero(uint8_t *frame, const uint8_t *data, uint32_t count)
{
	if (data && count)
		memset(frame + (data - frame), 0, count);
}

static void redact_dirents(uint8_t *frame, const uint8_t *data, uint32_t count,
			   const uint8_t key[16])
{
	struct p9_rd rd;

	p9_rd_init(&rd, data, count);
	while (p9_rd_left(&rd) && !rd.err) {
		struct p9_dirent de = p9_getdirent(&rd);

		if (!rd.err)
			redact_str(frame, de.name, key);
	}
}

static void redact_stat(uint8_t *frame, const struct p9_stat *st, const uint8_t key[16])
{
	redact_str(frame, st->name, key);
	redact_str(frame, st->extension, key);
	redact_str(frame, st->uid, key);
	redact_str(frame, st->gid, key);
	redact_str(frame, st->muid, key);
}

void x9p_rec_redact(uint8_t *frame, size_t len, enum p9_dialect d, const uint8_t key[16])
{
	struct p9_msg m;

	if (p9_decode(frame, len, d, &m) < 0) {
		/* Nothing of it can be told apart: keep only the header. */
		if (len > P9_HDR_SIZE)
			memset(frame + P9_HDR_SIZE, 0, len - P9_HDR_SIZE);
		return;
	}
	switch (m.type) {
	case P9_TAUTH:
		redact_str(frame, m.u.tauth.uname, key);
		redact_str(frame, m.u.tauth.aname, key);
		break;
	case P9_TATTACH:
		redact_str(frame, m.u.tattach.uname, key);
		redact_str(frame, m.u.tattach.aname, key);
		break;
	case P9_TLOCK:
	case P9_TGETLOCK:
		redact_str(frame, m.u.tlock.lock.client_id, key);
		break;
	case P9_RGETLOCK:
		redact_str(frame, m.u.rgetlock.lock.client_id, key);
		break;
	case P9_TWALK:
		for (unsigned i = 0; i < m.u.twalk.nwname && i < P9_MAXWELEM; i++)
			redact_str(frame, m.u.twalk.wname[i], key);
		break;
	case P9_TCREATE:
		redact_str(frame, m.u.tcreate.name, key);
		redact_str(frame, m.u.tcreate.extension, key);
		break;
	case P9_TLCREATE:
		redact_str(frame, m.u.tlcreate.name, key);
		break;
	case P9_TSYMLINK:
		redact_str(frame, m.u.tsymlink.name, key);
		redact_str(frame, m.u.tsymlink.symtgt, key);
		break;
	case P9_TMKNOD:
		redact_str(frame, m.u.tmknod.name, key);
		break;
	case P9_TRENAME:
		redact_str(frame, m.u.trename.name, key);
		break;
	case P9_RREADLINK:
		redact_str(frame, m.u.rreadlink.target, key);
		break;
	case P9_TXATTRWALK:
		redact_str(frame, m.u.txattrwalk.name, key);
		break;
	case P9_TXATTRCREATE:
		redact_str(frame, m.u.txattrcreate.name, key);
		break;
	case P9_TLINK:
		redact_str(frame, m.u.tlink.name, key);
		break;
	case P9_TMKDIR:
		redact_str(frame, m.u.tmkdir.name, key);
		break;
	case P9_TRENAMEAT:
		redact_str(frame, m.u.trenameat.oldname, key);
		redact_str(frame, m.u.trenameat.newname, key);
		break;
	case P9_TUNLINKAT:
		redact_str(frame, m.u.tunlinkat.name, key);
		break;
	case P9_TWRITE:
		zero(frame, m.u.twrite.data, m.u.twrite.count);
		break;
	case P9_RREAD:
		zero(frame, m.u.rread.data, m.u.rread.count);
		break;
	case P9_RREADDIR:
		redact_dirents(frame, m.u.rread.data, m.u.rread.count, key);
		break;
	case P9_RSTAT:
		redact_stat(frame, &m.u.rstat.stat, key);
		break;
	case P9_TWSTAT:
		redact_stat(frame, &m.u.twstat.stat, key);
		break;
	default:
		break;
	}
}
