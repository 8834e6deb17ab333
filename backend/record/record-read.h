/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reading a recording (record.h's format) back: for x9p-replay and the
 * recording's own tests.  A recording may come from anywhere (a bug
 * report): every length and count is checked, and anything that does not
 * parse is an error naming its offset, never a crash (fuzz-record).
 */
#ifndef X9P_RECORD_READ_H
#define X9P_RECORD_READ_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "record/record.h"

struct x9p_rec_entry {
	uint8_t type, ring;
	uint64_t t_ns;
	uint32_t f[5];               /* the type's fixed fields */
	const uint8_t *data;         /* the rest: frame, text or tar; in the recording */
	uint32_t len;
	size_t offset;               /* of the record in the file */
};

struct x9p_rec_trace {
	uint16_t version, flags;
	uint32_t part;
	uint64_t realtime_ns;
	GArray *entries;             /* struct x9p_rec_entry */
	GBytes *bytes;               /* what entries point into */
	size_t cut_at;               /* 0, or where a record cut short begins
				      * (its writer died in the middle of it):
				      * the entries are those before it */
};

/* Fixed u32 fields of each type (0 for an unknown type). */
unsigned x9p_rec_nfixed(unsigned type);
const char *x9p_rec_type_name(unsigned type);

/* Parses a recording (takes a reference to bytes): NULL and err when it
 * is not one or a record is malformed; a last record cut short is not an
 * error (cut_at). */
struct x9p_rec_trace *x9p_rec_parse(GBytes *bytes, GError **err);
struct x9p_rec_trace *x9p_rec_load(const char *path, GError **err);
void x9p_rec_trace_free(struct x9p_rec_trace *t);

#endif
