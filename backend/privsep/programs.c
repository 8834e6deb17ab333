// SPDX-License-Identifier: GPL-2.0-or-later
/* Finding companion programs; see programs.h. */
#include <stdlib.h>

#include <glib.h>

#include "privsep/programs.h"

char *x9p_program_path(const char *name, const char *env_var)
{
	const char *env = getenv(env_var);
	char *self, *dir, *p;

	if (env && *env)
		return g_strdup(env);
	self = g_file_read_link("/proc/self/exe", NULL);
	if (self) {
		dir = g_path_get_dirname(self);
		p = g_build_filename(dir, name, NULL);
		g_free(dir);
		g_free(self);
		if (g_file_test(p, G_FILE_TEST_IS_EXECUTABLE) && !g_file_test(p, G_FILE_TEST_IS_DIR))
			return p;
		g_free(p);
	}
	return g_build_filename(X9P_LIBEXECDIR, name, NULL);
}
