/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "x9p-sandbox"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox-mount.h"

static bool same_inode(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

static void close_if(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/*
 * A detached copy of the /proc/self/fd mount point, checked to be procfs
 * and to show this process's own descriptor `probe_fd`.
 */
int x9p_sb_clone_proc_fd(int probe_fd, int *proc_fd, char **err)
{
	struct statfs sf;
	struct stat a, b;
	char name[16];
	int fd;

	fd = open_tree(AT_FDCWD, "/proc/self/fd", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (fd < 0)
		return x9p_sb_fail(err, errno, "open_tree(/proc/self/fd)");
	snprintf(name, sizeof(name), "%d", probe_fd);
	if (fstatfs(fd, &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC ||
	    fstatat(fd, name, &a, 0) < 0 || fstat(probe_fd, &b) < 0 || !same_inode(&a, &b)) {
		close(fd);
		return x9p_sb_fail(err, EXDEV, "/proc/self/fd is not this process's procfs fd directory");
	}
	*proc_fd = fd;
	return 0;
}

/* The export as seen in this (new) mount namespace: same inode, new mount. */
static int reopen_here(int export_fd, const struct stat *want, int *out, char **err)
{
	char link[32], path[PATH_MAX];
	struct stat st;
	ssize_t n;
	int fd;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", export_fd);
	n = readlink(link, path, sizeof(path));
	if (n < 0)
		return x9p_sb_fail(err, errno, "readlink(%s)", link);
	if ((size_t)n >= sizeof(path))
		return x9p_sb_fail(err, ENAMETOOLONG, "the export's path is too long");
	path[n] = '\0';
	if (path[0] != '/')
		return x9p_sb_fail(err, ENOENT, "the export has no path here (%s)", path);
	fd = open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return x9p_sb_fail(err, errno, "re-opening the export %s in the new mount namespace",
				   path);
	if (fstat(fd, &st) < 0 || !same_inode(&st, want)) {
		close(fd);
		return x9p_sb_fail(err, EXDEV, "%s is no longer the export directory", path);
	}
	*out = fd;
	return 0;
}

static int check_root(const struct stat *want, unsigned long flags, int *root_fd, char **err)
{
	struct statvfs sv;
	struct stat st;
	int fd;

	if (chdir("/") < 0)
		return x9p_sb_fail(err, errno, "chdir(/)");
	fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return x9p_sb_fail(err, errno, "opening the new /");
	if (fstat(fd, &st) < 0 || !same_inode(&st, want)) {
		close(fd);
		return x9p_sb_fail(err, EXDEV, "the new / is not the export");
	}
	if (fstatvfs(fd, &sv) < 0 || (sv.f_flag & flags) != flags) {
		close(fd);
		return x9p_sb_fail(err, EPERM, "the new / lacks its mount flags");
	}
	*root_fd = fd;
	return 0;
}

int x9p_sb_pivot_to_export(int export_fd, bool readonly, int *root_fd, int *proc_fd,
			   bool *fatal, char **err)
{
	struct mount_attr attr = {
		.attr_set = MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC |
			    (readonly ? MOUNT_ATTR_RDONLY : 0),
	};
	unsigned long want_flags = ST_NODEV | ST_NOSUID | ST_NOEXEC | (readonly ? ST_RDONLY : 0);
	int here = -1, tree = -1, rc;
	struct stat exp;

	*fatal = false;
	*root_fd = *proc_fd = -1;
	if (fstat(export_fd, &exp) < 0)
		return x9p_sb_fail(err, errno, "fstat(export)");
	if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return x9p_sb_fail(err, errno, "making / a slave mount");
	rc = reopen_here(export_fd, &exp, &here, err);
	if (rc < 0)
		return rc;
	rc = x9p_sb_clone_proc_fd(export_fd, proc_fd, err);
	if (rc < 0)
		goto out;

	rc = -1;
	tree = open_tree(here, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
	if (tree < 0) {
		rc = x9p_sb_fail(err, errno, "open_tree(export)");
		goto out;
	}
	if (mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0) {
		rc = x9p_sb_fail(err, errno, "mount_setattr(nodev,nosuid,noexec%s)",
				 readonly ? ",rdonly" : "");
		goto out;
	}
	if (move_mount(tree, "", here, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
		rc = x9p_sb_fail(err, errno, "move_mount(export)");
		goto out;
	}
	if (fchdir(tree) < 0) {
		rc = x9p_sb_fail(err, errno, "fchdir(export mount)");
		goto out;
	}
	/* pivot_root(".", ".") stacks the old root on top of the new one, so
	 * no directory inside the export is needed to park it. */
	if (syscall(SYS_pivot_root, ".", ".") < 0) {
		rc = x9p_sb_fail(err, errno, "pivot_root");
		goto out;
	}
	*fatal = true;
	if (umount2(".", MNT_DETACH) < 0) {
		rc = x9p_sb_fail(err, errno, "detaching the old root");
		goto out;
	}
	/* Private: a mount made on the host under the export later would
	 * arrive with the host's flags (perhaps without nodev). */
	if (mount(NULL, "/", NULL, MS_PRIVATE | MS_REC, NULL) < 0) {
		rc = x9p_sb_fail(err, errno, "making the new / private");
		goto out;
	}
	rc = check_root(&exp, want_flags, root_fd, err);
out:
	close_if(&here);
	close_if(&tree);
	if (rc < 0)
		close_if(proc_fd);
	return rc;
}

int x9p_sb_chroot_to_export(int export_fd, int *root_fd, int *proc_fd, char **err)
{
	struct stat exp;
	char *ignored = NULL;
	int rc;

	*root_fd = *proc_fd = -1;
	if (fstat(export_fd, &exp) < 0)
		return x9p_sb_fail(err, errno, "fstat(export)");
	if (x9p_sb_clone_proc_fd(export_fd, proc_fd, &ignored) < 0) {
		g_message("sandbox: no private proc fd: %s", ignored);
		g_free(ignored);
	}
	if (fchdir(export_fd) < 0 || chroot(".") < 0) {
		rc = x9p_sb_fail(err, errno, "chroot into the export");
		close_if(proc_fd);
		return rc;
	}
	rc = check_root(&exp, 0, root_fd, err);
	if (rc < 0)
		close_if(proc_fd);
	return rc;
}

int x9p_sb_plain_proc_fd(void)
{
	return open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
}
