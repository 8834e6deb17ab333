/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * x9p_sandbox_enter(): the order of the confinement steps and the
 * fallbacks between them.  The steps themselves live in sandbox-*.c;
 * docs/sandbox.md explains the whole.
 */
#define G_LOG_DOMAIN "x9p-sandbox"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sandbox-caps.h"
#include "sandbox-mount.h"
#include "sandbox-ns.h"
#include "sandbox-pidns.h"
#include "sandbox-process.h"
#include "sandbox-priv.h"
#include "sandbox-seccomp.h"

/*
 * RLIMIT_NPROC inside a private user namespace, where it counts only the
 * helper's own threads: a backstop against runaway thread creation (new
 * processes are refused by seccomp anyway).  Far above any sane pool size;
 * a lower hard limit inherited from the parent stays.
 */
#define SANDBOX_NPROC 4096

static struct {
	bool entered;
	unsigned applied;
	int proc_fd;
} sb = { .proc_fd = -1 };

unsigned x9p_sandbox_applied(void)
{
	return sb.applied;
}

int x9p_sandbox_proc_fd(void)
{
	return sb.proc_fd;
}

/* Hands a message produced by a step over to the caller's *err. */
static int pass_error(int rc, char *why, char **err)
{
	if (err && !*err)
		*err = why;
	else
		g_free(why);
	return rc;
}

static int enter_namespaces(const struct x9p_sandbox_cfg *cfg, uid_t uid, gid_t gid,
			    unsigned *applied, char **err)
{
	if (geteuid() != 0 || cfg->caps == X9P_CAPS_NONE) {
		char *why = NULL;
		bool fatal;
		int rc = x9p_sb_enter_userns(uid, gid, &fatal, &why);

		if (rc == 0) {
			*applied |= X9P_SANDBOX_USERNS;
		} else if (fatal) {
			return pass_error(rc, why, err);
		} else {
			g_warning("sandbox: no user namespace (%s); continuing without it", why);
			g_free(why);
		}
	}
	*applied |= x9p_sb_unshare_others();
	if (*applied & X9P_SANDBOX_PIDNS)
		return x9p_sb_pidns_fork(err);
	return 0;
}

static int confine_filesystem(const struct x9p_sandbox_cfg *cfg, int *export_fd,
			      unsigned *applied, int *proc_fd, char **err)
{
	int root_fd = -1;
	char *why = NULL;
	bool fatal;
	int rc;

	if (*applied & X9P_SANDBOX_MOUNTNS) {
		rc = x9p_sb_pivot_to_export(*export_fd, cfg->readonly, &root_fd, proc_fd, &fatal,
					    &why);
		if (rc == 0) {
			*applied |= X9P_SANDBOX_PIVOT | X9P_SANDBOX_PROCFD;
		} else if (fatal) {
			return pass_error(rc, why, err);
		} else {
			g_warning("sandbox: cannot pivot_root into the export (%s); "
				  "falling back to chroot", why);
			g_free(why);
			why = NULL;
		}
	}
	if (!(*applied & X9P_SANDBOX_PIVOT)) {
		rc = x9p_sb_chroot_to_export(*export_fd, &root_fd, proc_fd, &why);
		if (rc == 0) {
			*applied |= X9P_SANDBOX_CHROOT;
			if (*proc_fd >= 0)
				*applied |= X9P_SANDBOX_PROCFD;
		} else {
			g_warning("sandbox: no filesystem confinement (%s): host paths stay "
				  "reachable; capabilities and seccomp still apply", why);
			g_free(why);
			*proc_fd = x9p_sb_plain_proc_fd();
		}
		if (cfg->readonly)
			g_warning("sandbox: the export is not mounted read-only here");
	}
	if (root_fd >= 0) {
		close(*export_fd);
		*export_fd = root_fd;
	}
	return 0;
}

int x9p_sandbox_enter(const struct x9p_sandbox_cfg *cfg, int *export_fd, char **err)
{
	unsigned applied = 0;
	int proc_fd = -1;
	struct stat st;
	uid_t uid;
	gid_t gid;
	int rc, n;

	if (err)
		*err = NULL;
	if (!cfg || !export_fd)
		return x9p_sb_fail(err, EINVAL, "x9p_sandbox_enter");
	if (sb.entered)
		return x9p_sb_fail(err, EALREADY, "the sandbox was already entered");
	if (cfg->caps != X9P_CAPS_NONE && cfg->caps != X9P_CAPS_PASSTHROUGH)
		return x9p_sb_fail(err, EINVAL, "unknown capability set %d", (int)cfg->caps);
	if (cfg->sock_fd < 0 || *export_fd < 0 || cfg->sock_fd == *export_fd ||
	    fcntl(cfg->sock_fd, F_GETFD) < 0)
		return x9p_sb_fail(err, EBADF, "socket or export descriptor");
	if (fstat(*export_fd, &st) < 0)
		return x9p_sb_fail(err, errno, "fstat(export)");
	if (!S_ISDIR(st.st_mode))
		return x9p_sb_fail(err, ENOTDIR, "the export");
	n = x9p_sb_count_threads();
	if (n > 1)
		return x9p_sb_fail(err, EBUSY, "%d threads already run; the sandbox must come first",
				   n);

	x9p_sb_caps_init();
	x9p_sb_prewarm_libraries();
	x9p_sb_close_stray_fds(cfg->sock_fd, *export_fd);
	x9p_sb_parent_watch_init();
	rc = x9p_sb_arm_pdeathsig(err);
	if (rc < 0)
		return rc;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return x9p_sb_fail(err, errno, "PR_SET_NO_NEW_PRIVS");
	rc = x9p_sb_drop_groups(err);
	if (rc < 0)
		return rc;
	rc = x9p_sb_set_rlimits(cfg, err);
	if (rc < 0)
		return rc;

	uid = cfg->run_uid != (uid_t)-1 ? cfg->run_uid : geteuid();
	gid = cfg->run_gid != (gid_t)-1 ? cfg->run_gid : getegid();
	if (!cfg->no_namespaces) {
		rc = enter_namespaces(cfg, uid, gid, &applied, err);
		if (rc < 0)
			return rc;
	}

	/* Before any path inside the export can be opened (sandbox-caps.h). */
	rc = x9p_sb_caps_drop_bounds(err);
	if (rc < 0)
		return rc;
	rc = confine_filesystem(cfg, export_fd, &applied, &proc_fd, err);
	if (rc < 0)
		return rc;
	if (applied & X9P_SANDBOX_USERNS) {
		struct rlimit cur;
		rlim_t nproc = SANDBOX_NPROC;

		/* Raising a hard limit needs CAP_SYS_RESOURCE in the initial user
		 * namespace: a lower one (a small machine's default) is kept. */
		if (getrlimit(RLIMIT_NPROC, &cur) == 0 && cur.rlim_max < nproc)
			nproc = cur.rlim_max;
		rc = x9p_sb_set_limit(RLIMIT_NPROC, nproc, "RLIMIT_NPROC", err);
		if (rc < 0)
			return rc;
	}

	rc = x9p_sb_caps_switch_ids(uid, gid, cfg->caps == X9P_CAPS_PASSTHROUGH, err);
	if (rc < 0)
		return rc;
	rc = x9p_sb_caps_limit(cfg->caps, err);
	if (rc < 0)
		return rc;
	/* The id switch cleared it; the parent may have died meanwhile. */
	rc = x9p_sb_arm_pdeathsig(err);
	if (rc < 0)
		return rc;
	x9p_sb_parent_watch_done();
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return x9p_sb_fail(err, errno, "PR_SET_DUMPABLE");

	if (cfg->no_seccomp) {
		g_warning("sandbox: seccomp disabled (no_seccomp): debugging only");
	} else {
		rc = x9p_sb_seccomp_helper(cfg->caps, err);
		if (rc < 0)
			return rc;
		applied |= X9P_SANDBOX_SECCOMP;
	}

	sb.entered = true;
	sb.applied = applied;
	sb.proc_fd = proc_fd;
	g_debug("sandbox: entered (applied %#x, uid %u, gid %u)", applied, (unsigned)uid,
		(unsigned)gid);
	return 0;
}
