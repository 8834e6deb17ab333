// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A worker's confinement; see lockdown.h.  The steps reuse the helper's
 * sandbox building blocks (helper/sandbox-*.h): one implementation of
 * namespaces, capabilities and seccomp for both kinds of process.
 */
#define G_LOG_DOMAIN "x9p-worker"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "worker/lockdown.h"
#include "sandbox-caps.h"
#include "sandbox-mount.h"
#include "sandbox-ns.h"
#include "sandbox-process.h"
#include "sandbox-seccomp.h"

/* Where the empty root is mounted before pivoting into it: the first of
 * these that exists (in the worker's own mount namespace, so nothing of
 * the host's tree changes). */
static const char *const mount_points[] = { "/tmp", "/mnt", "/run", "/media" };

static int pivot_to_empty(char **err)
{
	const char *mp = NULL;
	struct stat st;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return x9p_sb_fail(err, errno, "making / private");
	for (size_t i = 0; i < G_N_ELEMENTS(mount_points) && !mp; i++)
		if (stat(mount_points[i], &st) == 0 && S_ISDIR(st.st_mode))
			mp = mount_points[i];
	if (!mp)
		return x9p_sb_fail(err, ENOENT, "no directory to mount the empty root on");
	if (mount("x9p-empty", mp, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "size=4k,nr_inodes=1,mode=0555") < 0)
		return x9p_sb_fail(err, errno, "mounting the empty root on %s", mp);
	if (chdir(mp) < 0)
		return x9p_sb_fail(err, errno, "chdir %s", mp);
	/* The old root ends up stacked under the new one and is detached. */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return x9p_sb_fail(err, errno, "pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		return x9p_sb_fail(err, errno, "detaching the old root");
	if (chdir("/") < 0)
		return x9p_sb_fail(err, errno, "chdir /");
	return 0;
}

static int chroot_to_removed_dir(char **err)
{
	char dir[] = "/tmp/x9p-worker-XXXXXX";
	int fd, e;

	if (!mkdtemp(dir))
		return x9p_sb_fail(err, errno, "mkdtemp %s", dir);
	fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	e = errno;
	if (rmdir(dir) < 0 || fd < 0) {
		if (fd >= 0)
			close(fd);
		return x9p_sb_fail(err, fd < 0 ? e : errno, "the empty directory %s", dir);
	}
	if (fchdir(fd) < 0 || chroot(".") < 0 || chdir("/") < 0) {
		e = errno;
		close(fd);
		return x9p_sb_fail(err, e, "chroot into the removed directory");
	}
	close(fd);
	return 0;
}

static int check_parent(pid_t parent, char **err)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return x9p_sb_fail(err, errno, "PR_SET_PDEATHSIG");
	if (getppid() != parent)
		return x9p_sb_fail(err, ESRCH, "the monitor is gone");
	return 0;
}

int x9p_worker_lockdown(const struct x9p_lockdown_cfg *cfg, int *proc_fd, char **err)
{
	char *why = NULL;
	bool fatal;
	int rc;

	*proc_fd = -1;

	if (x9p_sb_count_threads() != 1)
		return x9p_sb_fail(err, EBUSY, "lockdown with more than one thread");
	x9p_sb_caps_init();
	x9p_sb_prewarm_libraries();
	rc = check_parent(cfg->parent, err);
	if (rc == 0)
		rc = x9p_sb_set_limit(RLIMIT_CORE, 0, "RLIMIT_CORE", err);
	if (rc < 0)
		return rc;
	/* Before the user namespace, which then denies setgroups for good. */
	if (geteuid() == 0) {
		rc = x9p_sb_drop_groups(err);
		if (rc < 0)
			return rc;
	}
	switch (cfg->sandbox) {
	case MW_SANDBOX_NAMESPACE:
		/* The user namespace denies setgroups and maps only these ids. */
		rc = x9p_sb_enter_userns(cfg->uid, cfg->gid, &fatal, err);
		if (rc == 0 && unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) < 0)
			rc = x9p_sb_fail(err, errno, "unshare (mount, network, ipc, uts)");
		if (rc == 0)
			rc = x9p_sb_caps_drop_bounds(err);
		break;
	case MW_SANDBOX_CHROOT:
	case MW_SANDBOX_NONE:
		rc = x9p_sb_caps_drop_bounds(err);
		break;
	}
	if (rc < 0)
		return rc;
	if (x9p_sb_clone_proc_fd(STDIN_FILENO, proc_fd, &why) < 0) {
		g_info("no private /proc/self/fd: %s", why);
		g_free(why);
	}
	if (cfg->sandbox == MW_SANDBOX_NAMESPACE)
		rc = pivot_to_empty(err);
	else if (cfg->sandbox == MW_SANDBOX_CHROOT)
		rc = chroot_to_removed_dir(err);
	if (rc < 0)
		return rc;
	rc = x9p_sb_caps_switch_ids(cfg->uid, cfg->gid, false, err);
	if (rc == 0)
		rc = x9p_sb_caps_limit(X9P_CAPS_NONE, err);
	if (rc < 0)
		return rc;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return x9p_sb_fail(err, errno, "PR_SET_NO_NEW_PRIVS");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return x9p_sb_fail(err, errno, "PR_SET_DUMPABLE");
	/* Changing ids cleared the parent-death signal. */
	rc = check_parent(cfg->parent, err);
	if (rc < 0)
		return rc;
	if (cfg->seccomp != MW_SECCOMP_NONE) {
		struct x9p_sb_worker_filter f = {
			.log_only = cfg->seccomp == MW_SECCOMP_LOG,
			.proc_fd = *proc_fd,
			.xen = cfg->xen,
			.synthetic = cfg->synthetic,
			.record = cfg->record,
		};

		rc = x9p_sb_seccomp_worker(&f, err);
	}
	return rc;
}
