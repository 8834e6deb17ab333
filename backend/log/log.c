// SPDX-License-Identifier: GPL-2.0-or-later
/* Log lines on stderr; see log.h. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log/log.h"

static GLogLevelFlags threshold = G_LOG_LEVEL_INFO;
static char *prefix;
static bool show_pid;

static const struct {
	const char *name;
	GLogLevelFlags level;
} levels[] = {
	{ "error", G_LOG_LEVEL_CRITICAL },
	{ "warning", G_LOG_LEVEL_WARNING },
	{ "notice", G_LOG_LEVEL_MESSAGE },
	{ "info", G_LOG_LEVEL_INFO },
	{ "debug", G_LOG_LEVEL_DEBUG },
};

static const char *level_name(GLogLevelFlags level)
{
	if (level & G_LOG_LEVEL_ERROR)
		return "fatal";
	for (size_t i = 0; i < G_N_ELEMENTS(levels); i++)
		if (level & levels[i].level)
			return levels[i].name;
	return "debug";
}

static GLogWriterOutput writer(GLogLevelFlags level, const GLogField *fields, gsize n,
			       gpointer data)
{
	const char *msg = "";
	gssize len = -1;

	if ((level & G_LOG_LEVEL_MASK) > threshold && !(level & G_LOG_FLAG_FATAL))
		return G_LOG_WRITER_HANDLED;
	for (gsize i = 0; i < n; i++) {
		if (strcmp(fields[i].key, "MESSAGE") == 0) {
			msg = fields[i].value;
			len = fields[i].length;
		}
	}
	if (len < 0)
		len = (gssize)strlen(msg);
	flockfile(stderr);
	if (show_pid)
		fprintf(stderr, "%s[%d]: %s: %.*s\n", prefix, (int)getpid(), level_name(level),
			(int)len, msg);
	else
		fprintf(stderr, "%s: %s: %.*s\n", prefix, level_name(level), (int)len, msg);
	fflush(stderr);
	funlockfile(stderr);
	return G_LOG_WRITER_HANDLED;
}

void x9p_log_init(const char *name, bool with_pid, GLogLevelFlags level)
{
	g_free(prefix);
	prefix = g_strdup(name);
	show_pid = with_pid;
	threshold = level;
	g_log_set_writer_func(writer, NULL, NULL);
}

bool x9p_log_set_level(const char *name)
{
	for (size_t i = 0; i < G_N_ELEMENTS(levels); i++) {
		if (strcmp(name, levels[i].name) == 0) {
			threshold = levels[i].level;
			return true;
		}
	}
	return false;
}

GLogLevelFlags x9p_log_threshold(void)
{
	return threshold;
}

void x9p_log_set_threshold(GLogLevelFlags level)
{
	for (size_t i = 0; i < G_N_ELEMENTS(levels); i++)
		if (level == levels[i].level)
			threshold = level;
}
