// SPDX-License-Identifier: GPL-2.0-or-later
/* The workers' confinement options; see confine.h. */
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "log/log.h"
#include "monitor/confine.h"

static char *opt_sandbox, *opt_seccomp, *opt_user;
static enum mw_sandbox sandbox = MW_SANDBOX_NAMESPACE;
static enum mw_seccomp seccomp = MW_SECCOMP_KILL;
static uid_t uid;
static gid_t gid;

const GOptionEntry x9p_confine_entries[] = {
	{ "sandbox", 0, 0, G_OPTION_ARG_STRING, &opt_sandbox,
	  "How workers are confined: namespace (default: an empty root in their "
	  "own namespaces), chroot (an empty removed directory) or none", "MODE" },
	{ "seccomp", 0, 0, G_OPTION_ARG_STRING, &opt_seccomp,
	  "Workers' system-call filter: kill (default), log or none", "MODE" },
	{ "worker-user", 0, 0, G_OPTION_ARG_STRING, &opt_user,
	  "User the workers run as (default " X9P_WORKER_USER ", or nobody if "
	  "there is no such user)", "USER" },
	{ NULL },
};

static const char *const sandbox_names[] = { "namespace", "chroot", "none" };
static const char *const seccomp_names[] = { "kill", "log", "none" };

static bool pick(const char *opt, const char *v, const char *const names[3], unsigned *out,
		 GError **err)
{
	for (unsigned i = 0; i < 3; i++) {
		if (strcmp(v, names[i]) == 0) {
			*out = i;
			return true;
		}
	}
	g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
		    "--%s: '%s' is not one of %s, %s, %s", opt, v, names[0], names[1], names[2]);
	return false;
}

bool x9p_confine_resolve(GError **err)
{
	const char *name = opt_user ? opt_user : X9P_WORKER_USER;
	struct passwd *pw;
	unsigned v;

	if (opt_sandbox) {
		if (!pick("sandbox", opt_sandbox, sandbox_names, &v, err))
			return false;
		sandbox = v;
	}
	if (opt_seccomp) {
		if (!pick("seccomp", opt_seccomp, seccomp_names, &v, err))
			return false;
		seccomp = v;
	}
	pw = getpwnam(name);
	if (!pw && !opt_user)
		pw = getpwnam("nobody");
	if (!pw) {
		g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			    "--worker-user: no user '%s'", name);
		return false;
	}
	if (pw->pw_uid == 0) {
		g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			    "--worker-user: '%s' is root; workers never are", pw->pw_name);
		return false;
	}
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (geteuid() != 0) {
		uid = geteuid();
		gid = getegid();
	}
	return true;
}

void x9p_confine_config(struct mw_msg *c)
{
	c->u[MW_CF_UID] = uid;
	c->u[MW_CF_GID] = gid;
	c->u[MW_CF_SANDBOX] = sandbox;
	c->u[MW_CF_SECCOMP] = seccomp;
	c->u[MW_CF_LOG_LEVEL] = x9p_log_threshold();
}
