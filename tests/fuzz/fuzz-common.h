/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What every fuzzer of tests/fuzz shares:
 *  - fuzz_begin(): the command line (--seconds N, --seed S, and the
 *    fuzzer's own options), a seed from the clock unless one was given,
 *    and the TAP plan and "# seed" line test-fuzz.sh reads.
 *  - CHECK() records the first failed check in `failure`; fuzz_failed()
 *    prints it as the "not ok 1" line with the command that replays it.
 *  - fuzz_mutate_basic(): the byte mutations every message fuzzer starts
 *    from (flipped bytes, a cut, junk appended, an all-ones field); a
 *    fuzzer adds those that know its format on top.
 */
#ifndef X9P_FUZZ_COMMON_H
#define X9P_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

/* The first failed check of the run, reported at its end (fuzz_failed). */
static char failure[512];

#define CHECK(cond, ...)                                                              \
	do {                                                                          \
		if (!(cond) && !failure[0])                                           \
			snprintf(failure, sizeof(failure), __VA_ARGS__);              \
	} while (0)

/* Parses the command line into *seconds (default 20) and *seed, and the
 * fuzzer's `extra` options (NULL-terminated, or NULL); exits 2 on a bad
 * one.  Picks a seed from the clock when none was given and prints the
 * plan and the seed. */
static inline void fuzz_begin(int *argc, char ***argv, const char *name, const char *summary,
			      const GOptionEntry *extra, gint *seconds, gint64 *seed)
{
	GOptionEntry common[] = {
		{ "seconds", 0, 0, G_OPTION_ARG_INT, seconds, "run for about N seconds (default 20)",
		  "N" },
		{ "seed", 0, 0, G_OPTION_ARG_INT64, seed, "seed (default: from the clock)", "S" },
		{ NULL },
	};
	GOptionContext *ctx = g_option_context_new(summary);
	GError *err = NULL;

	*seconds = 20;
	*seed = 0;
	g_option_context_add_main_entries(ctx, common, NULL);
	if (extra)
		g_option_context_add_main_entries(ctx, extra, NULL);
	if (!g_option_context_parse(ctx, argc, argv, &err)) {
		fprintf(stderr, "%s: %s\n", name, err->message);
		exit(2);
	}
	g_option_context_free(ctx);
	if (!*seed)
		*seed = g_get_real_time() ^ ((gint64)getpid() << 32);
	printf("1..1\n# seed %" G_GINT64_FORMAT "\n", *seed);
	fflush(stdout);
}

/* Reports `failure` and how to replay it (`replay_args` after the seed,
 * or ""); returns 1, the fuzzer's exit status. */
static inline int fuzz_failed(const char *name, gint64 seed, const char *replay_args)
{
	printf("not ok 1 - %s\n# replay: %s --seed %" G_GINT64_FORMAT "%s\n", failure, name, seed,
	       replay_args);
	return 1;
}

#define FUZZ_BASIC_MUTATIONS 4

/* Applies basic mutation `which` (0 .. FUZZ_BASIC_MUTATIONS - 1) to the
 * *len bytes of buf (room for size); the all-ones field lands at or after
 * byte `from` (past a header the fuzzer wants intact, or 0). */
static inline void fuzz_mutate_basic(GRand *r, int which, uint8_t *buf, int *len, size_t size,
				     int from)
{
	switch (which) {
	case 0: /* flip bytes */
		for (int i = g_rand_int_range(r, 1, 4); i > 0 && *len > 0; i--)
			buf[g_rand_int_range(r, 0, *len)] ^= (uint8_t)g_rand_int_range(r, 1, 256);
		break;
	case 1: /* cut */
		*len = g_rand_int_range(r, 0, *len + 1);
		break;
	case 2: /* grow with junk */
		for (int i = g_rand_int_range(r, 1, 64); i > 0 && (size_t)*len < size; i--)
			buf[(*len)++] = (uint8_t)g_rand_int(r);
		break;
	default: /* a field at an edge */
		if (*len >= from + 4)
			memset(buf + g_rand_int_range(r, 0, *len - 3), 0xff, 4);
		break;
	}
}

#endif
