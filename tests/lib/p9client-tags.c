/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * p9client: which tags are outstanding and what each reply may be.
 *
 * Tests send duplicate tags on purpose, so a tag can have several
 * requests outstanding.  The T types of the oldest P9C_TYPES_PER_TAG of
 * them are remembered (0 marks one that was not); a reply is matched
 * against them and retires the request it answers.
 */
#include <errno.h>
#include <string.h>

#include "p9client-impl.h"

void p9c_tags_init(struct p9c *c)
{
	c->tag_count = g_new0(uint8_t, P9C_NTAGS);
	c->tag_types = g_new0(uint8_t, (size_t)P9C_NTAGS * P9C_TYPES_PER_TAG);
	c->tag_flushes = g_new0(uint32_t, P9C_NTAGS);
	c->outstanding = 0;
}

void p9c_tags_free(struct p9c *c)
{
	g_free(c->tag_count);
	g_free(c->tag_types);
	g_free(c->tag_flushes);
}

static uint8_t *types_of(struct p9c *c, uint16_t tag)
{
	return c->tag_types + (size_t)tag * P9C_TYPES_PER_TAG;
}

void p9c_tags_reset(struct p9c *c)
{
	memset(c->tag_count, 0, P9C_NTAGS);
	memset(c->tag_flushes, 0, P9C_NTAGS * sizeof(uint32_t));
	c->outstanding = 0;
}

void p9c_tag_sent(struct p9c *c, uint8_t type, uint16_t tag, int flushed_tag)
{
	uint8_t n = c->tag_count[tag];

	if (n == UINT8_MAX)
		return;
	if (n < P9C_TYPES_PER_TAG)
		types_of(c, tag)[n] = type;
	c->tag_count[tag] = (uint8_t)(n + 1);
	c->outstanding++;
	if (type == P9_TFLUSH && flushed_tag >= 0)
		c->tag_flushes[tag] = (uint32_t)flushed_tag + 1;
}

int p9c_tag_alloc(struct p9c *c)
{
	for (unsigned i = 0; i < P9C_NTAGS; i++) {
		uint16_t t = c->next_tag++;
		if (t != P9_NOTAG && !c->tag_count[t])
			return t;
	}
	return -EBUSY;
}

bool p9c_tag_has_type(struct p9c *c, uint16_t tag, uint8_t type)
{
	unsigned n = c->tag_count[tag] < P9C_TYPES_PER_TAG ? c->tag_count[tag] : P9C_TYPES_PER_TAG;

	for (unsigned i = 0; i < n; i++)
		if (types_of(c, tag)[i] == type)
			return true;
	return false;
}

/* Retires slot i of tag's remembered requests. */
static void retire(struct p9c *c, uint16_t tag, unsigned i)
{
	uint8_t *types = types_of(c, tag);
	unsigned n = c->tag_count[tag];
	unsigned stored = n < P9C_TYPES_PER_TAG ? n : P9C_TYPES_PER_TAG;

	memmove(types + i, types + i + 1, stored - i - 1);
	/* A request beyond the remembered ones moves into view, type unknown. */
	if (n > P9C_TYPES_PER_TAG)
		types[P9C_TYPES_PER_TAG - 1] = 0;
	c->tag_count[tag] = (uint8_t)(n - 1);
	c->outstanding--;
	if (!c->tag_count[tag])
		c->tag_flushes[tag] = 0;
}

/* Chooses the outstanding request a reply answers; -1 if none fits. */
static int match(struct p9c *c, uint16_t tag, uint8_t rtype, bool is_error)
{
	uint8_t *types = types_of(c, tag);
	unsigned n = c->tag_count[tag];
	unsigned stored = n < P9C_TYPES_PER_TAG ? n : P9C_TYPES_PER_TAG;
	int unknown = -1;

	for (unsigned i = 0; i < stored; i++) {
		if (types[i] && rtype == types[i] + 1)
			return (int)i;
		if (!types[i] && unknown < 0)
			unknown = (int)i;
	}
	/* An error may answer any of them; the newest is the likeliest (a
	 * duplicate refused while the original is still being served). */
	if (is_error)
		return (int)stored - 1;
	return unknown;
}

int p9c_tag_reply(struct p9c *c, uint16_t tag, uint8_t rtype, bool is_error)
{
	int i;

	if (!c->tag_count[tag])
		return -EPROTO;
	i = match(c, tag, rtype, is_error);
	if (rtype == P9_RFLUSH && i >= 0 && types_of(c, tag)[i] == P9_TFLUSH &&
	    c->tag_flushes[tag]) {
		uint16_t old = (uint16_t)(c->tag_flushes[tag] - 1);
		/* No reply came before the Rflush: none may come after it. */
		if (c->tag_count[old])
			retire(c, old, c->tag_count[old] < P9C_TYPES_PER_TAG ?
				       c->tag_count[old] - 1u : P9C_TYPES_PER_TAG - 1u);
	}
	/* A reply that fits nothing still retires a request, so that one bad
	 * reply does not leave its tag looking busy forever. */
	retire(c, tag, i >= 0 ? (unsigned)i : 0);
	return i >= 0 ? 0 : -EPROTO;
}

void p9c_tag_drop(struct p9c *c, uint16_t tag)
{
	if (c->tag_count[tag])
		retire(c, tag, 0);
}
