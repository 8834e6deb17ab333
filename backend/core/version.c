// SPDX-License-Identifier: GPL-2.0-or-later
/* --version; see version.h.  X9P_VERSION comes from the Makefile, for
 * this file alone, so that a new commit rebuilds nothing else. */
#include <stdio.h>
#include <stdlib.h>

#include "core/version.h"

#ifndef X9P_VERSION
#define X9P_VERSION "unknown"
#endif

static gboolean want_version;

static const GOptionEntry entries[] = {
	{ "version", 0, 0, G_OPTION_ARG_NONE, &want_version,
	  "Print the program's name and version, and exit", NULL },
	{ NULL },
};

const char *x9p_version(void)
{
	return X9P_VERSION;
}

/* After the whole command line parsed: an unknown option next to
 * --version is still an error. */
static gboolean after_parse(GOptionContext *ctx, GOptionGroup *group, gpointer data, GError **err)
{
	if (want_version) {
		printf("%s %s\n", g_get_prgname() ? g_get_prgname() : "x9p", X9P_VERSION);
		fflush(stdout);
		exit(0);
	}
	return TRUE;
}

void x9p_version_add(GOptionContext *ctx)
{
	g_option_context_add_main_entries(ctx, entries, NULL);
	g_option_group_set_parse_hooks(g_option_context_get_main_group(ctx), NULL, after_parse);
}
