// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Text cut into monitor-worker strings and joined back (privsep/mw.h,
 * mw_add_text, mw_text): any text of tokens comes back as it went,
 * through an encode and a decode; a token longer than a string, or more
 * text than a message's strings hold, is refused.
 */
#include <string.h>

#include <glib.h>

#include "privsep/mw.h"

static char *tokens(GRand *r, size_t total, unsigned max_token)
{
	GString *t = g_string_new(NULL);

	while (t->len < total) {
		unsigned n = (unsigned)g_rand_int_range(r, 1, (gint32)max_token + 1);

		if (t->len)
			g_string_append_c(t, ' ');
		for (unsigned i = 0; i < n; i++)
			g_string_append_c(t, (char)g_rand_int_range(r, 'a', 'z' + 1));
	}
	return g_string_free(t, FALSE);
}

static void t_round_trip(void)
{
	GRand *r = g_rand_new_with_seed(7);
	static uint8_t buf[MW_MAX_MSG];

	for (int i = 0; i < 200; i++) {
		char *text = tokens(r, (size_t)g_rand_int_range(r, 0, 6000), 300), *back;
		struct mw_msg m, d;
		int len;

		mw_init(&m, MW_KEEP_DEVICE, 0);
		g_assert_true(mw_add_text(&m, text));
		for (unsigned k = 0; k < m.ns; k++)
			g_assert_cmpuint(strlen(m.s[k]), <=, MW_MAX_STR);
		len = mw_encode(&m, buf, sizeof(buf));
		g_assert_cmpint(len, >, 0);
		g_assert_cmpint(mw_decode(buf, (size_t)len, MW_FROM_WORKER, NULL, 0, &d), ==, 0);
		back = mw_text(&d);
		g_assert_cmpstr(back, ==, text);
		g_free(back);
		mw_clear(&d);
		mw_clear(&m);
		g_free(text);
	}
	g_rand_free(r);
}

static void t_refused(void)
{
	char *long_token = g_strnfill(MW_MAX_STR + 1, 'x');
	GRand *r = g_rand_new_with_seed(8);
	char *huge = tokens(r, (size_t)(MW_MAX_S + 1) * MW_MAX_STR, 100);
	struct mw_msg m;

	mw_init(&m, MW_KEEP_DEVICE, 0);
	g_assert_false(mw_add_text(&m, long_token));
	mw_clear(&m);
	mw_init(&m, MW_KEEP_DEVICE, 0);
	g_assert_false(mw_add_text(&m, huge));
	mw_clear(&m);
	g_free(long_token);
	g_free(huge);
	g_rand_free(r);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/mw/text/round-trip", t_round_trip);
	g_test_add_func("/mw/text/refused", t_refused);
	return g_test_run();
}
