// SPDX-License-Identifier: GPL-2.0-or-later
/* The unix sockets' and the process's options; see socket-opts.h. */
#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "monitor/socket-opts.h"
#include "socket/socket.h"

static char *opt_mode, *opt_group;
static gint64 opt_nofile;
static unsigned mode = X9P_SOCK_DEFAULT_MODE;
static gid_t group = (gid_t)-1;

const GOptionEntry x9p_socket_entries[] = {
	{ "socket-mode", 0, 0, G_OPTION_ARG_STRING, &opt_mode,
	  "Octal permissions of unix sockets (default 0600: owner only)", "MODE" },
	{ "socket-group", 0, 0, G_OPTION_ARG_STRING, &opt_group,
	  "Group of unix sockets, e.g. the VMM's with --socket-mode 0660 (default: "
	  "the daemon's)", "GROUP" },
	{ "rlimit-nofile", 0, 0, G_OPTION_ARG_INT64, &opt_nofile,
	  "Most open descriptors of the daemon and its workers (default: as "
	  "inherited)", "N" },
	{ NULL },
};

bool x9p_socket_resolve(GError **err)
{
	if (opt_mode) {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(opt_mode, &end, 8);
		if (!opt_mode[0] || *end || errno || v > 0777) {
			g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
				    "--socket-mode: '%s' is not an octal mode between 0 and 0777",
				    opt_mode);
			return false;
		}
		mode = (unsigned)v;
	}
	if (opt_group) {
		struct group *g = getgrnam(opt_group);
		char *end;
		unsigned long v = strtoul(opt_group, &end, 10);

		if (g)
			group = g->gr_gid;
		else if (opt_group[0] && !*end && v < (gid_t)-1)
			group = (gid_t)v;
		else {
			g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
				    "--socket-group: no group '%s'", opt_group);
			return false;
		}
	}
	if (opt_nofile < 0 || opt_nofile > (1 << 30)) {
		g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			    "--rlimit-nofile: %" G_GINT64_FORMAT " is out of range (1..%d)",
			    opt_nofile, 1 << 30);
		return false;
	}
	if (opt_nofile) {
		struct rlimit rl = { (rlim_t)opt_nofile, (rlim_t)opt_nofile };

		if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
			g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
				    "--rlimit-nofile %" G_GINT64_FORMAT ": %s", opt_nofile,
				    g_strerror(errno));
			return false;
		}
	}
	return true;
}

unsigned x9p_socket_mode(void)
{
	return mode;
}

gid_t x9p_socket_group(void)
{
	return group;
}
