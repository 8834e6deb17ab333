/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Per-thread identity switching for passthrough (see creds.h). */
#include <errno.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <glib.h>

#include "creds.h"
#include "helper.h"

static uid_t home_uid;
static gid_t home_gid;
static __thread bool groups_dropped;

void hx_creds_init(void)
{
	home_uid = geteuid();
	home_gid = getegid();
}

/* Makes this thread's effective capabilities equal to its permitted ones. */
static int raise_effective(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) < 0)
		return -errno;
	d[0].effective = d[0].permitted;
	d[1].effective = d[1].permitted;
	if (syscall(SYS_capset, &h, d) < 0)
		return -errno;
	return 0;
}

int hx_creds_enter(uid_t uid, gid_t gid, struct hx_creds *save)
{
	save->switched = false;
	if (hx.model != X9P_SM_PASSTHROUGH)
		return 0;
	/* -1 keeps the helper's own value for that half. */
	if (uid == (uid_t)-1)
		uid = home_uid;
	if (gid == (gid_t)-1)
		gid = home_gid;
	if (uid == home_uid && gid == home_gid && groups_dropped)
		return 0;
	if (!groups_dropped) {
		if (syscall(SYS_setgroups, 0, NULL) < 0)
			return -errno;
		groups_dropped = true;
	}
	if (syscall(SYS_setresgid, -1, gid, -1) < 0)
		return -errno;
	if (syscall(SYS_setresuid, -1, uid, -1) < 0) {
		int e = -errno;

		hx_creds_leave(&(struct hx_creds){ .switched = true });
		return e;
	}
	save->switched = true;
	/* Leaving uid 0 cleared the effective set; the guest was already checked. */
	if (uid != 0 && raise_effective() < 0) {
		hx_creds_leave(save);
		return -EPERM;
	}
	return 0;
}

void hx_creds_leave(struct hx_creds *save)
{
	if (!save->switched)
		return;
	if (syscall(SYS_setresuid, -1, home_uid, -1) < 0 ||
	    syscall(SYS_setresgid, -1, home_gid, -1) < 0) {
		g_critical("cannot restore the helper's identity: %s", g_strerror(errno));
		abort();
	}
	if (home_uid != 0 || raise_effective() == 0) {
		save->switched = false;
		return;
	}
	g_critical("cannot restore the helper's capabilities");
	abort();
}
