/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "x9p-sandbox"

#include <cap-ng.h>
#include <errno.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox-caps.h"

static const unsigned passthrough_caps[] = {
	CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_FSETID,
	CAP_SETUID, CAP_SETGID, CAP_MKNOD,
};

/* Set once the bounding set was emptied, so the check can insist on it. */
static bool bounds_dropped;

guint64 x9p_sb_caps_mask(enum x9p_caps_need need)
{
	guint64 m = 0;

	if (need == X9P_CAPS_PASSTHROUGH)
		for (size_t i = 0; i < G_N_ELEMENTS(passthrough_caps); i++)
			m |= G_GUINT64_CONSTANT(1) << passthrough_caps[i];
	return m;
}

struct capsets {
	guint64 eff, prm, inh;
};

static int read_caps(struct capsets *c)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) < 0)
		return -errno;
	c->eff = d[0].effective | (guint64)d[1].effective << 32;
	c->prm = d[0].permitted | (guint64)d[1].permitted << 32;
	c->inh = d[0].inheritable | (guint64)d[1].inheritable << 32;
	return 0;
}

void x9p_sb_caps_init(void)
{
	/* Only for the side effect of initialising the library now. */
	capng_get_caps_process();
}

int x9p_sb_caps_drop_bounds(char **err)
{
	struct capsets c;
	int rc = read_caps(&c);

	if (rc < 0)
		return x9p_sb_fail(err, -rc, "capget");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return x9p_sb_fail(err, errno, "clearing the ambient capabilities");
	if (!(c.eff & (G_GUINT64_CONSTANT(1) << CAP_SETPCAP))) {
		g_message("sandbox: no CAP_SETPCAP, bounding set left as is "
			  "(no_new_privs and no execve make it unused)");
		return 0;
	}
	capng_clear(CAPNG_SELECT_BOUNDS);
	if (capng_apply(CAPNG_SELECT_BOUNDS) != 0)
		return x9p_sb_fail(err, errno ? errno : EPERM, "emptying the bounding set");
	bounds_dropped = true;
	return 0;
}

int x9p_sb_caps_switch_ids(uid_t uid, gid_t gid, bool keep_caps, char **err)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	/* Always switched, even when getresuid() already shows uid: inside a
	 * user namespace an unmapped id (the host root left behind in the
	 * real and saved ids by x9p_sb_enter_userns()) reads as the overflow
	 * id 65534, which is also the usual uid of "nobody". */
	if (keep_caps && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return x9p_sb_fail(err, errno, "PR_SET_KEEPCAPS");
	if (setresgid(gid, gid, gid) < 0)
		return x9p_sb_fail(err, errno, "setresgid(%u)", (unsigned)gid);
	if (setresuid(uid, uid, uid) < 0)
		return x9p_sb_fail(err, errno, "setresuid(%u)", (unsigned)uid);
	if (keep_caps && prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return x9p_sb_fail(err, errno, "PR_SET_KEEPCAPS");
	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
		return x9p_sb_fail(err, errno, "getresuid");
	if (ru != uid || eu != uid || su != uid || rg != gid || eg != gid || sg != gid)
		return x9p_sb_fail(err, EPERM, "uid/gid switch to %u/%u did not take",
				   (unsigned)uid, (unsigned)gid);
	return 0;
}

static int check(guint64 want, char **err)
{
	struct capsets c;
	int rc = read_caps(&c);

	if (rc < 0)
		return x9p_sb_fail(err, -rc, "capget");
	if (c.eff != want || c.prm != want || c.inh != 0)
		return x9p_sb_fail(err, EPERM,
				   "capabilities not as required: effective %#" G_GINT64_MODIFIER
				   "x permitted %#" G_GINT64_MODIFIER "x inheritable %#"
				   G_GINT64_MODIFIER "x, wanted %#" G_GINT64_MODIFIER "x",
				   c.eff, c.prm, c.inh, want);
	for (unsigned cap = 0; cap < 64; cap++) {
		int amb = prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0);
		int bnd = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);

		if (amb < 0 && bnd < 0)
			break; /* past the last capability the kernel knows */
		if (amb > 0)
			return x9p_sb_fail(err, EPERM, "ambient capability %u still set", cap);
		if (bounds_dropped && bnd > 0)
			return x9p_sb_fail(err, EPERM, "capability %u still in the bounding set", cap);
	}
	return 0;
}

int x9p_sb_caps_limit(enum x9p_caps_need need, char **err)
{
	capng_clear(CAPNG_SELECT_CAPS);
	if (need == X9P_CAPS_PASSTHROUGH)
		for (size_t i = 0; i < G_N_ELEMENTS(passthrough_caps); i++)
			if (capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED,
					 passthrough_caps[i]) != 0)
				return x9p_sb_fail(err, EINVAL, "capng_update(%u)", passthrough_caps[i]);
	if (capng_apply(CAPNG_SELECT_CAPS) != 0)
		return x9p_sb_fail(err, errno ? errno : EPERM,
				   "setting the capabilities (the %s set is not permitted)",
				   need == X9P_CAPS_PASSTHROUGH ? "passthrough" : "empty");
	return check(x9p_sb_caps_mask(need), err);
}

int x9p_sb_caps_drop_all(char **err)
{
	int rc = x9p_sb_caps_drop_bounds(err);

	if (rc < 0)
		return rc;
	return x9p_sb_caps_limit(X9P_CAPS_NONE, err);
}
