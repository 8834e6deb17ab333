/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "x9p-sandbox"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "sandbox-ns.h"

static void restore_effective_ids(uid_t euid, gid_t egid)
{
	/* Real and saved ids are still the old ones, so this cannot fail
	 * for lack of privilege; a failure would leave us half-switched. */
	if (setresuid(-1, euid, -1) < 0 || setresgid(-1, egid, -1) < 0)
		g_error("sandbox: cannot restore effective ids: %s", g_strerror(errno));
}

int x9p_sb_enter_userns(uid_t uid, gid_t gid, bool *fatal, char **err)
{
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;
	char map[64];
	int rc;

	*fatal = false;
	if (getresuid(&ruid, &euid, &suid) < 0 || getresgid(&rgid, &egid, &sgid) < 0)
		return x9p_sb_fail(err, errno, "getresuid");

	if (egid != gid && setresgid(-1, gid, -1) < 0)
		return x9p_sb_fail(err, errno, "cannot switch to gid %u", (unsigned)gid);
	if (euid != uid && setresuid(-1, uid, -1) < 0) {
		rc = x9p_sb_fail(err, errno, "cannot switch to uid %u", (unsigned)uid);
		restore_effective_ids(euid, egid);
		return rc;
	}

	/* Changing the effective uid made the process non-dumpable, which
	 * gives /proc/self/{uid_map,gid_map,setgroups} to root: writing them
	 * as the new uid needs the process dumpable for now (it is made
	 * non-dumpable again before the sandbox is finished). */
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0) {
		rc = x9p_sb_fail(err, errno, "PR_SET_DUMPABLE");
		restore_effective_ids(euid, egid);
		return rc;
	}

	if (unshare(CLONE_NEWUSER) < 0) {
		rc = x9p_sb_fail(err, errno, "unshare(CLONE_NEWUSER)");
		restore_effective_ids(euid, egid);
		return rc;
	}

	*fatal = true;
	/* "deny" is required before an unprivileged gid_map write, and it
	 * also keeps the helper from ever regaining supplementary groups. */
	rc = x9p_sb_write_file("/proc/self/setgroups", "deny", err);
	if (rc < 0)
		return rc;
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
	rc = x9p_sb_write_file("/proc/self/uid_map", map, err);
	if (rc < 0)
		return rc;
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
	rc = x9p_sb_write_file("/proc/self/gid_map", map, err);
	if (rc < 0)
		return rc;
	*fatal = false;
	return 0;
}

static const struct {
	int flag;
	unsigned bit;
	const char *name;
} others[] = {
	{ CLONE_NEWNS, X9P_SANDBOX_MOUNTNS, "mount" },
	{ CLONE_NEWPID, X9P_SANDBOX_PIDNS, "pid" },
	{ CLONE_NEWNET, X9P_SANDBOX_NETNS, "network" },
	{ CLONE_NEWIPC, X9P_SANDBOX_IPCNS, "ipc" },
	{ CLONE_NEWUTS, X9P_SANDBOX_UTSNS, "uts" },
};

unsigned x9p_sb_unshare_others(void)
{
	int all = 0;
	unsigned got = 0;

	for (size_t i = 0; i < G_N_ELEMENTS(others); i++)
		all |= others[i].flag;
	if (unshare(all) == 0) {
		for (size_t i = 0; i < G_N_ELEMENTS(others); i++)
			got |= others[i].bit;
		return got;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(others); i++) {
		if (unshare(others[i].flag) == 0)
			got |= others[i].bit;
		else
			g_warning("sandbox: no %s namespace (unshare: %s); continuing without it",
				  others[i].name, g_strerror(errno));
	}
	return got;
}
