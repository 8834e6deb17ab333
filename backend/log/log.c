// SPDX-License-Identifier: GPL-2.0-or-later
/* Log lines on stderr, the journal or syslog; see log.h. */
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log/log.h"

enum target { T_STDERR, T_JOURNAL, T_SYSLOG };

static GLogLevelFlags threshold = G_LOG_LEVEL_INFO;
static char *prefix;
static bool show_pid;
static enum target target = T_STDERR;
static bool installed;

static const struct {
	const char *name;
	GLogLevelFlags level;
	int priority;                /* syslog's and the journal's */
} levels[] = {
	{ "error", G_LOG_LEVEL_CRITICAL, LOG_ERR },
	{ "warning", G_LOG_LEVEL_WARNING, LOG_WARNING },
	{ "notice", G_LOG_LEVEL_MESSAGE, LOG_NOTICE },
	{ "info", G_LOG_LEVEL_INFO, LOG_INFO },
	{ "debug", G_LOG_LEVEL_DEBUG, LOG_DEBUG },
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

static int level_priority(GLogLevelFlags level)
{
	if (level & G_LOG_LEVEL_ERROR)
		return LOG_CRIT;
	for (size_t i = 0; i < G_N_ELEMENTS(levels); i++)
		if (level & levels[i].level)
			return levels[i].priority;
	return LOG_DEBUG;
}

static void journal(int priority, const char *ident, const char *msg, gssize len,
		    const char *device, pid_t child)
{
	char prio[2] = { (char)('0' + priority), 0 };
	char pid[16];
	GLogField f[6] = {
		{ "PRIORITY", prio, -1 },
		{ "SYSLOG_IDENTIFIER", ident, -1 },
		{ "MESSAGE", msg, len },
	};
	gsize n = 3;

	if (device)
		f[n++] = (GLogField){ "X9P_DEVICE", device, -1 };
	if (child > 0) {
		g_snprintf(pid, sizeof(pid), "%d", (int)child);
		f[n++] = (GLogField){ "X9P_CHILD_PID", pid, -1 };
		/* What journalctl shows as NAME[PID]: the child's, not ours. */
		f[n++] = (GLogField){ "SYSLOG_PID", pid, -1 };
	}
	/* Not there (the journal went away): the line goes to stderr. */
	if (g_log_writer_journald(G_LOG_LEVEL_MESSAGE, f, n, NULL) == G_LOG_WRITER_HANDLED)
		return;
	fprintf(stderr, "%s: %.*s\n", ident, (int)(len < 0 ? (gssize)strlen(msg) : len), msg);
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
	if (target == T_JOURNAL) {
		journal(level_priority(level), prefix, msg, len, NULL, 0);
		return G_LOG_WRITER_HANDLED;
	}
	if (target == T_SYSLOG) {
		syslog(level_priority(level), "%.*s", (int)len, msg);
		return G_LOG_WRITER_HANDLED;
	}
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
	x9p_log_set_target("auto");
	/* GLib takes one writer for the life of the process. */
	if (!installed)
		g_log_set_writer_func(writer, NULL, NULL);
	installed = true;
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

bool x9p_log_set_target(const char *name)
{
	if (strcmp(name, "auto") == 0)
		target = g_log_writer_is_journald(STDERR_FILENO) ? T_JOURNAL : T_STDERR;
	else if (strcmp(name, "stderr") == 0)
		target = T_STDERR;
	else if (strcmp(name, "journal") == 0)
		target = T_JOURNAL;
	else if (strcmp(name, "syslog") == 0)
		target = T_SYSLOG;
	else
		return false;
	if (target == T_SYSLOG)
		openlog(prefix ? prefix : "x9p", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	return true;
}

static gboolean opt_target(const gchar *name, const gchar *value, gpointer data, GError **err)
{
	if (x9p_log_set_target(value ? value : "syslog"))
		return TRUE;
	g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
		    "--log-target: '%s' is not auto, journal, syslog or stderr", value);
	return FALSE;
}

const GOptionEntry x9p_log_target_entries[] = {
	{ "log-target", 0, 0, G_OPTION_ARG_CALLBACK, (gpointer)opt_target,
	  "Where log lines go: auto (default: the journal under systemd, else "
	  "stderr), journal, syslog or stderr", "TARGET" },
	{ "syslog", 0, G_OPTION_FLAG_NO_ARG, G_OPTION_ARG_CALLBACK, (gpointer)opt_target,
	  "Log to syslog (the same as --log-target=syslog)", NULL },
	{ NULL },
};

void x9p_log_child_line(const char *name, pid_t pid, const char *device, const char *line,
			size_t len)
{
	int priority = LOG_NOTICE;
	const char *text = line, *named = device;
	char out[1280];
	size_t o;

	/* Its own "LEVEL: " (log.c's, in the child) says how important it is. */
	for (size_t i = 0; i < G_N_ELEMENTS(levels); i++) {
		size_t k = strlen(levels[i].name);

		if (len > k + 1 && memcmp(line, levels[i].name, k) == 0 && line[k] == ':') {
			priority = levels[i].priority;
			text = line + k + 2;
			break;
		}
	}
	if (target == T_JOURNAL) {
		/* PRIORITY says the level. */
		journal(priority, name, text, (gssize)(len - (size_t)(text - line)), device, pid);
		return;
	}
	/* The device once: many lines name it already. */
	if (device && (size_t)(text - line) + strlen(device) <= len &&
	    strncmp(text, device, strlen(device)) == 0)
		named = NULL;
	o = (size_t)g_snprintf(out, 256, "%s[%d]%s%s: ", name, (int)pid, named ? " " : "",
			       named ? named : "");
	o = MIN(o, 255u);
	len = MIN(len, sizeof(out) - o - 1);
	memcpy(out + o, line, len);
	o += len;
	if (target == T_SYSLOG) {
		syslog(priority, "%.*s", (int)o, out);
		return;
	}
	out[o++] = '\n';
	/* One write: lines of several writers never interleave. */
	if (write(STDERR_FILENO, out, o) < 0)
		return;
}
