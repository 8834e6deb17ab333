/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * x9p_sandbox_enter() on real processes.
 *
 * Each case forks and re-executes this binary as "--sandbox-child OPTS..."
 * (a fresh single-threaded process, nothing of GTest in it), with a
 * SOCK_SEQPACKET socket on fd 3 and an O_PATH descriptor of a temporary
 * export directory on fd 4.  The child enters the sandbox, then reports
 * what it sees from the inside as "key=value" lines, waits for "go" and
 * performs one action (a forbidden system call, a threaded workload, an
 * exit code...).  The parent checks the report, looks at the helper from
 * the outside (/proc/PID/status, ns/, mountinfo; the helper's host pid
 * arrives with SCM_CREDENTIALS) and then checks how the child ended.
 *
 * Features the machine lacks (user namespaces, the new mount API, i386
 * emulation, root) are probed first in throw-away children, and the cases
 * that need them are skipped, never passed.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <grp.h>
#include <linux/capability.h>
#include <poll.h>
#include <seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <termios.h>
#include <unistd.h>

#include "sandbox.h"

#define CHILD_SOCK 3
#define CHILD_EXPORT 4
#define NOBODY 65534

/* ------------------------------------------------------------------ */
/* The child: enter the sandbox, report, act.                          */

struct child_opts {
	enum x9p_caps_need caps;
	bool ns, ro, seccomp;
	long uid, gid, pre_uid, pre_gid;
	unsigned files;
	long nproc_max;              /* >= 0: hard RLIMIT_NPROC before entering */
	const char *action;
	const char *outside;
	const char *deny;
};

static void kv(GString *s, const char *key, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static void kv(GString *s, const char *key, const char *fmt, ...)
{
	va_list ap;

	g_string_append_printf(s, "%s=", key);
	va_start(ap, fmt);
	g_string_append_vprintf(s, fmt, ap);
	va_end(ap);
	g_string_append_c(s, '\n');
}

static int errno_of(int rc)
{
	return rc < 0 ? errno : 0;
}

static bool same(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

static void read_small(int fd, char *buf, size_t size)
{
	ssize_t n = fd >= 0 ? read(fd, buf, size - 1) : -1;

	buf[n > 0 ? n : 0] = '\0';
	g_strchomp(buf);
}

static void report_caps(GString *r)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = { 0 };
	guint64 bnd = 0, amb = 0;

	syscall(SYS_capget, &h, d);
	kv(r, "capeff", "%" G_GINT64_MODIFIER "x", d[0].effective | (guint64)d[1].effective << 32);
	kv(r, "capprm", "%" G_GINT64_MODIFIER "x", d[0].permitted | (guint64)d[1].permitted << 32);
	kv(r, "capinh", "%" G_GINT64_MODIFIER "x",
	   d[0].inheritable | (guint64)d[1].inheritable << 32);
	for (unsigned c = 0; c < 64; c++) {
		if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) > 0)
			bnd |= G_GUINT64_CONSTANT(1) << c;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c, 0, 0) > 0)
			amb |= G_GUINT64_CONSTANT(1) << c;
	}
	kv(r, "capbnd", "%" G_GINT64_MODIFIER "x", bnd);
	kv(r, "capamb", "%" G_GINT64_MODIFIER "x", amb);
}

static void report_fs(GString *r, int efd, const struct child_opts *o)
{
	struct stat root, st;
	struct statvfs sv;
	char buf[64];
	int fd;

	stat("/", &root);
	kv(r, "root_dev", "%llu", (unsigned long long)root.st_dev);
	kv(r, "root_ino", "%llu", (unsigned long long)root.st_ino);
	kv(r, "efd_is_root", "%d", fstat(efd, &st) == 0 && same(&st, &root));
	kv(r, "dotdot_is_root", "%d", stat("/..", &st) == 0 && same(&st, &root));
	kv(r, "efd_dotdot_is_root", "%d", fstatat(efd, "..", &st, 0) == 0 && same(&st, &root));
	fd = open("/marker", O_RDONLY | O_CLOEXEC);
	read_small(fd, buf, sizeof(buf));
	kv(r, "marker", "%s", buf);
	if (fd >= 0)
		close(fd);
	fd = open(o->outside, O_RDONLY | O_CLOEXEC);
	kv(r, "outside_errno", "%d", errno_of(fd));
	if (fd >= 0)
		close(fd);
	fd = open("/null", O_RDWR | O_CLOEXEC);
	kv(r, "dev_errno", "%d", errno_of(fd));
	if (fd >= 0)
		close(fd);
	kv(r, "fsflags", "%lu", statvfs("/", &sv) == 0 ? sv.f_flag : 0UL);

	fd = open("/newfile", O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	kv(r, "write_errno", "%d", errno_of(fd));
	if (fd >= 0) {
		close(fd);
		unlinkat(AT_FDCWD, "/newfile", 0);
	}
	fd = mknodat(AT_FDCWD, "/newdev", S_IFCHR | 0600, makedev(1, 3));
	kv(r, "mknod_errno", "%d", errno_of(fd));
	if (fd == 0) {
		fd = open("/newdev", O_RDWR | O_CLOEXEC);
		kv(r, "mknod_open_errno", "%d", errno_of(fd));
		if (fd >= 0)
			close(fd);
		unlinkat(AT_FDCWD, "/newdev", 0);
	}
}

static void report_procfd(GString *r)
{
	int pfd = x9p_sandbox_proc_fd();
	struct stat a, b;
	char num[16], buf[64];
	int opath, fd, up;

	kv(r, "procfd", "%d", pfd >= 0);
	if (pfd < 0)
		return;
	opath = open("/marker", O_PATH | O_CLOEXEC);
	snprintf(num, sizeof(num), "%d", opath);
	fd = openat(pfd, num, O_RDONLY | O_CLOEXEC);
	read_small(fd, buf, sizeof(buf));
	kv(r, "reopen", "%s", buf);
	if (fd >= 0)
		close(fd);
	close(opath);
	up = openat(pfd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
	kv(r, "procfd_dotdot_stays", "%d",
	   up >= 0 && fstat(up, &a) == 0 && fstat(pfd, &b) == 0 && same(&a, &b));
	if (up >= 0)
		close(up);
}

static GString *report(int efd, const struct child_opts *o)
{
	GString *r = g_string_new(NULL);
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	struct rlimit rl;

	kv(r, "applied", "%u", x9p_sandbox_applied());
	kv(r, "pid", "%d", (int)getpid());
	getresuid(&ru, &eu, &su);
	getresgid(&rg, &eg, &sg);
	kv(r, "uids", "%u,%u,%u", ru, eu, su);
	kv(r, "gids", "%u,%u,%u", rg, eg, sg);
	kv(r, "ngroups", "%d", getgroups(0, NULL));
	report_caps(r);
	kv(r, "nnp", "%d", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
	kv(r, "dumpable", "%d", prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
	kv(r, "seccomp", "%d", prctl(PR_GET_SECCOMP, 0, 0, 0, 0));
	getrlimit(RLIMIT_NOFILE, &rl);
	kv(r, "nofile", "%llu", (unsigned long long)rl.rlim_max);
	getrlimit(RLIMIT_CORE, &rl);
	kv(r, "core", "%llu", (unsigned long long)rl.rlim_max);
	getrlimit(RLIMIT_NPROC, &rl);
	kv(r, "nproc", "%llu", (unsigned long long)rl.rlim_cur);
	getrlimit(RLIMIT_FSIZE, &rl);
	kv(r, "fsize", "%llu", (unsigned long long)rl.rlim_cur);
	kv(r, "setresuid_errno", "%d", errno_of(syscall(SYS_setresuid, -1, -1, -1)));
	kv(r, "clone3_errno", "%d", errno_of(syscall(SYS_clone3, NULL, 0)));
	kv(r, "unix_socket_errno", "%d", errno_of(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)));
	report_fs(r, efd, o);
	report_procfd(r);
	return r;
}

/* The threaded workload: what the fs code will do, under the filter. */
static int work_dir = -1;
static int work_failures;

#define WORK_CHECK(expr)                                       \
	do {                                                   \
		if (!(expr)) {                                 \
			g_printerr("child: %s failed: %s\n", #expr, \
				   g_strerror(errno));         \
			g_atomic_int_inc(&work_failures);      \
		}                                              \
	} while (0)

static void work_item(gpointer data, gpointer user_data)
{
	int i = GPOINTER_TO_INT(data);
	char f[32], l[32], h[32], m[32], d[32], sub[48], num[16], buf[16];
	struct statx stx;
	struct stat st;
	DIR *dir;
	int fd, p, r, dd;

	snprintf(f, sizeof(f), "f%d", i);
	snprintf(l, sizeof(l), "l%d", i);
	snprintf(h, sizeof(h), "h%d", i);
	snprintf(m, sizeof(m), "m%d", i);
	snprintf(d, sizeof(d), "d%d", i);
	fd = openat(work_dir, f, O_CREAT | O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0600);
	WORK_CHECK(fd >= 0);
	WORK_CHECK(pwrite(fd, "hello", 5, 0) == 5);
	WORK_CHECK(fstat(fd, &st) == 0 && st.st_size == 5);
	WORK_CHECK(fstatat(work_dir, f, &st, AT_SYMLINK_NOFOLLOW) == 0);
	WORK_CHECK(statx(work_dir, f, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) == 0);
	WORK_CHECK(ftruncate(fd, 3) == 0);
	WORK_CHECK(fsync(fd) == 0 && fdatasync(fd) == 0);
	fallocate(fd, 0, 0, 4096); /* may be unsupported; must not kill */
	if (fsetxattr(fd, "user.x9p", "v", 1, 0) == 0)
		WORK_CHECK(fgetxattr(fd, "user.x9p", buf, sizeof(buf)) == 1);
	flistxattr(fd, buf, sizeof(buf));
	WORK_CHECK(fchmodat(work_dir, f, 0640, 0) == 0);
	WORK_CHECK(fchownat(work_dir, f, geteuid(), getegid(), AT_SYMLINK_NOFOLLOW) == 0);
	WORK_CHECK(utimensat(work_dir, f, NULL, AT_SYMLINK_NOFOLLOW) == 0);

	/* An O_PATH node re-opened through the private proc fd. */
	p = openat(work_dir, f, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	WORK_CHECK(p >= 0);
	snprintf(num, sizeof(num), "%d", p);
	r = openat(x9p_sandbox_proc_fd(), num, O_RDWR | O_CLOEXEC);
	WORK_CHECK(r >= 0 && pread(r, buf, 3, 0) == 3 && memcmp(buf, "hel", 3) == 0);
	if (r >= 0)
		close(r);
	close(p);

	WORK_CHECK(symlinkat("target", work_dir, l) == 0);
	WORK_CHECK(readlinkat(work_dir, l, buf, sizeof(buf)) == 6);
	lgetxattr("/marker", "user.none", buf, sizeof(buf));
	WORK_CHECK(linkat(work_dir, f, work_dir, h, 0) == 0);
	WORK_CHECK(renameat2(work_dir, h, work_dir, m, RENAME_NOREPLACE) == 0);
	WORK_CHECK(mkdirat(work_dir, d, 0700) == 0);
	dd = openat(work_dir, d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	WORK_CHECK(dd >= 0 && mkdirat(dd, "sub", 0700) == 0);
	dir = dd >= 0 ? fdopendir(dd) : NULL;
	WORK_CHECK(dir != NULL);
	if (dir) {
		int n = 0;

		while (readdir(dir))
			n++;
		WORK_CHECK(n == 3);
		closedir(dir);
	}
	WORK_CHECK(unlinkat(work_dir, "sub", AT_REMOVEDIR) < 0 && errno == ENOENT);
	snprintf(sub, sizeof(sub), "%s/sub", d);
	WORK_CHECK(unlinkat(work_dir, sub, AT_REMOVEDIR) == 0);
	WORK_CHECK(unlinkat(work_dir, d, AT_REMOVEDIR) == 0);
	WORK_CHECK(unlinkat(work_dir, f, 0) == 0 && unlinkat(work_dir, l, 0) == 0 &&
		   unlinkat(work_dir, m, 0) == 0);
	if (fd >= 0)
		close(fd);
}

static gboolean idle_once(gpointer data)
{
	*(int *)data += 1;
	return G_SOURCE_REMOVE;
}

static int send_fd(int sock, int fd, const char *msg)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = strlen(msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

static int action_threads(int efd, int sock)
{
	GThreadPool *shared, *exclusive;
	GMainContext *ctx;
	int idle = 0, fd;
	char msg[64];

	work_dir = efd;
	shared = g_thread_pool_new(work_item, NULL, 4, FALSE, NULL);
	exclusive = g_thread_pool_new(work_item, NULL, 2, TRUE, NULL);
	for (int i = 0; i < 32; i++)
		g_thread_pool_push(i % 2 ? shared : exclusive, GINT_TO_POINTER(i + 1), NULL);
	g_thread_pool_free(shared, FALSE, TRUE);
	g_thread_pool_free(exclusive, FALSE, TRUE);

	ctx = g_main_context_new();
	{
		GSource *s = g_idle_source_new();

		g_source_set_callback(s, idle_once, &idle, NULL);
		g_source_attach(s, ctx);
		g_source_unref(s);
	}
	while (g_main_context_iteration(ctx, FALSE))
		;
	g_main_context_unref(ctx);
	fd = openat(efd, "control", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, msg, 1) != 1)
		return 9;
	close(fd);
	g_message("sandboxed child: worker threads done");
	g_warning("sandboxed child: %s", g_strerror(ENOENT));

	fd = openat(efd, "marker", O_RDONLY | O_CLOEXEC);
	snprintf(msg, sizeof(msg), "failures=%d idle=%d", g_atomic_int_get(&work_failures), idle);
	if (fd < 0 || send_fd(sock, fd, msg) < 0)
		return 5;
	return work_failures ? 1 : 0;
}

static long int80_getpid(void)
{
	long ret;

	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory");
	return ret;
}

static int do_action(const char *action, int efd, int sock)
{
	if (!strcmp(action, "none"))
		return 0;
	if (!strcmp(action, "exit7"))
		return 7;
	if (!strcmp(action, "threads"))
		return action_threads(efd, sock);
	if (!strcmp(action, "socket"))
		socket(AF_INET, SOCK_STREAM, 0);
	else if (!strcmp(action, "execve"))
		execl("/bin/true", "true", (char *)NULL);
	else if (!strcmp(action, "ptrace"))
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
	else if (!strcmp(action, "mount"))
		mount("none", "/", "tmpfs", 0, NULL);
	else if (!strcmp(action, "chroot"))
		(void)!chroot("/");     /* its result: whether we are still alive */
	else if (!strcmp(action, "fork"))
		fork();
	else if (!strcmp(action, "unshare"))
		unshare(CLONE_NEWUSER);
	else if (!strcmp(action, "mmap-exec"))
		mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	else if (!strcmp(action, "ioctl-tiocsti"))
		ioctl(2, TIOCSTI, "x");
	else if (!strcmp(action, "prctl-dumpable"))
		prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	else if (!strcmp(action, "int80"))
		int80_getpid();
	else if (!strcmp(action, "x32"))
		syscall(0x40000000 | SYS_getpid);
	else
		return 6;
	/* Still alive: the call was not refused. */
	return 0;
}

/*
 * Plays a machine that lacks a feature, with a seccomp filter that makes
 * the calls fail the way such a machine would: "userns" (user namespaces
 * disabled), "ns" (no namespaces at all, as in a restricted container),
 * "mountapi" (a kernel without open_tree/move_mount/mount_setattr).
 */
static int deny_features(const char *what)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int rc = -1;

	if (!ctx)
		return -1;
	if (!strcmp(what, "userns"))
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(unshare), 1,
				      SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER));
	else if (!strcmp(what, "ns"))
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(unshare), 0);
	else if (!strcmp(what, "mountapi"))
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(open_tree), 0) ?:
		     seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(move_mount), 0) ?:
		     seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(mount_setattr), 0);
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	return rc;
}

static int child_main(int argc, char **argv)
{
	struct child_opts o = { .caps = X9P_CAPS_NONE, .ns = true, .seccomp = true,
				.uid = -1, .gid = -1, .pre_uid = -1, .pre_gid = -1,
				.nproc_max = -1, .action = "none", .outside = "/nonexistent" };
	int efd = CHILD_EXPORT, rc;
	char *err = NULL;
	GString *r;
	char go[8];

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *v = strchr(a, '=');

		if (!v)
			return 10;
		v++;
		if (g_str_has_prefix(a, "caps="))
			o.caps = !strcmp(v, "pass") ? X9P_CAPS_PASSTHROUGH : X9P_CAPS_NONE;
		else if (g_str_has_prefix(a, "ns="))
			o.ns = atoi(v);
		else if (g_str_has_prefix(a, "ro="))
			o.ro = atoi(v);
		else if (g_str_has_prefix(a, "seccomp="))
			o.seccomp = atoi(v);
		else if (g_str_has_prefix(a, "uid="))
			o.uid = o.gid = atol(v);
		else if (g_str_has_prefix(a, "pre_uid="))
			o.pre_uid = o.pre_gid = atol(v);
		else if (g_str_has_prefix(a, "nproc_max="))
			o.nproc_max = atol(v);
		else if (g_str_has_prefix(a, "files="))
			o.files = (unsigned)strtoul(v, NULL, 10);
		else if (g_str_has_prefix(a, "action="))
			o.action = v;
		else if (g_str_has_prefix(a, "outside="))
			o.outside = v;
		else if (g_str_has_prefix(a, "deny="))
			o.deny = v;
		else
			return 10;
	}

	if (o.pre_uid >= 0 && (setgroups(0, NULL) < 0 || setresgid(o.pre_gid, o.pre_gid, o.pre_gid) < 0 ||
			       setresuid(o.pre_uid, o.pre_uid, o.pre_uid) < 0))
		return 11;

	if (o.deny && deny_features(o.deny) < 0)
		return 12;
	if (o.nproc_max >= 0) {
		struct rlimit rl = { (rlim_t)o.nproc_max, (rlim_t)o.nproc_max };

		if (setrlimit(RLIMIT_NPROC, &rl) < 0)
			return 13;
	}

	struct x9p_sandbox_cfg cfg = {
		.sock_fd = CHILD_SOCK,
		.caps = o.caps,
		.readonly = o.ro,
		.no_namespaces = !o.ns,
		.no_seccomp = !o.seccomp,
		.run_uid = (uid_t)o.uid,
		.run_gid = (gid_t)o.gid,
		.max_files = o.files,
	};
	rc = x9p_sandbox_enter(&cfg, &efd, &err);
	if (rc < 0) {
		char *msg = g_strdup_printf("error=%s (%d)\n", err ? err : "?", rc);

		send(CHILD_SOCK, msg, strlen(msg), MSG_NOSIGNAL);
		return 2;
	}
	r = report(efd, &o);
	if (send(CHILD_SOCK, r->str, r->len, MSG_NOSIGNAL) < 0)
		return 3;
	if (recv(CHILD_SOCK, go, sizeof(go), 0) <= 0)
		return 4;
	return do_action(o.action, efd, CHILD_SOCK);
}

/* ------------------------------------------------------------------ */
/* Probes: what this machine can do, each in a throw-away child.       */

static bool probe(int (*fn)(void))
{
	int status;
	pid_t pid = fork();

	if (pid == 0)
		_exit(fn() == 0 ? 0 : 1);
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return false;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static int probe_userns(void)
{
	return unshare(CLONE_NEWUSER);
}

static int probe_userns_unpriv(void)
{
	if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
	    setresuid(NOBODY, NOBODY, NOBODY) < 0)
		return -1;
	return unshare(CLONE_NEWUSER);
}

static int probe_other_ns(void)
{
	return unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC);
}

static int probe_mount_api(void)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_NODEV };
	int fd;

	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return -1;
	fd = open_tree(AT_FDCWD, "/proc/self/fd", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (fd < 0)
		return -1;
	return mount_setattr(fd, "", AT_EMPTY_PATH, &attr, sizeof(attr));
}

static int probe_int80(void)
{
	return int80_getpid() == getpid() ? 0 : -1;
}

static int probe_seccomp(void)
{
	return prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0 ? -1 : 0;
}

static struct {
	bool root, userns, userns_unpriv, other_ns, mount_api, int80, seccomp;
} have;

static bool need(bool cond, const char *what)
{
	if (!cond) {
		g_test_skip(what);
		return false;
	}
	return true;
}

static bool need_full(void)
{
	return need(have.root, "needs root") && need(have.seccomp, "no seccomp") &&
	       need(have.userns, "no user namespaces") &&
	       need(have.other_ns, "no mount/pid/net/ipc namespaces") &&
	       need(have.mount_api, "no open_tree/mount_setattr");
}

/* ------------------------------------------------------------------ */
/* The parent side.                                                     */

struct fixture {
	char *base, *export, *outside;
	struct stat export_st;
	bool have_dev;
};

static void fixture_set_up(struct fixture *f, gconstpointer data)
{
	char *p;

	f->base = g_dir_make_tmp("x9p-sandbox-XXXXXX", NULL);
	g_assert_nonnull(f->base);
	g_assert_cmpint(chmod(f->base, 0755), ==, 0);
	f->export = g_build_filename(f->base, "export", NULL);
	g_assert_cmpint(mkdir(f->export, 0755), ==, 0);
	g_assert_cmpint(chmod(f->export, 0777), ==, 0);
	f->outside = g_build_filename(f->base, "outside", NULL);
	g_assert_true(g_file_set_contents(f->outside, "secret\n", -1, NULL));
	p = g_build_filename(f->export, "marker", NULL);
	g_assert_true(g_file_set_contents(p, "inside\n", -1, NULL));
	g_assert_cmpint(chmod(p, 0644), ==, 0);
	g_free(p);
	p = g_build_filename(f->export, "null", NULL);
	f->have_dev = mknod(p, S_IFCHR | 0666, makedev(1, 3)) == 0;
	g_free(p);
	g_assert_cmpint(stat(f->export, &f->export_st), ==, 0);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path) < 0 ? -1 : 0;
}

static void fixture_tear_down(struct fixture *f, gconstpointer data)
{
	nftw(f->base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	g_free(f->base);
	g_free(f->export);
	g_free(f->outside);
}

struct run {
	pid_t pid;        /* the process forked here: supervisor or helper */
	pid_t helper;     /* the helper's pid in our namespace */
	int sock;
	GHashTable *kv;
	int fd;           /* received with the last message, or -1 */
	char *text;
};

static void parse_report(struct run *r, const char *text)
{
	char **lines = g_strsplit(text, "\n", -1);

	for (char **l = lines; *l; l++) {
		char *eq = strchr(*l, '=');

		if (eq)
			g_hash_table_insert(r->kv, g_strndup(*l, eq - *l), g_strdup(eq + 1));
	}
	g_strfreev(lines);
}

/* One message from the child, with its sender pid and any descriptor. */
static char *recv_msg(struct run *r)
{
	char buf[8192];
	union {
		char b[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) - 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = u.b, .msg_controllen = sizeof(u.b) };
	ssize_t n = recvmsg(r->sock, &mh, MSG_CMSG_CLOEXEC);

	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET)
			continue;
		if (c->cmsg_type == SCM_CREDENTIALS) {
			struct ucred cr;

			memcpy(&cr, CMSG_DATA(c), sizeof(cr));
			r->helper = cr.pid;
		} else if (c->cmsg_type == SCM_RIGHTS) {
			memcpy(&r->fd, CMSG_DATA(c), sizeof(int));
		}
	}
	return g_strdup(buf);
}

static void run_start(struct fixture *f, struct run *r, const char *const *opts)
{
	GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
	int sv[2], one = 1, efd, out;

	memset(r, 0, sizeof(*r));
	r->fd = -1;
	r->kv = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	g_ptr_array_add(argv, g_strdup("/proc/self/exe"));
	g_ptr_array_add(argv, g_strdup("--sandbox-child"));
	g_ptr_array_add(argv, g_strdup_printf("outside=%s", f->outside));
	for (; opts && *opts; opts++)
		g_ptr_array_add(argv, g_strdup(*opts));
	g_ptr_array_add(argv, NULL);

	g_assert_cmpint(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), ==, 0);
	g_assert_cmpint(setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)), ==, 0);
	efd = open(f->export, O_PATH | O_DIRECTORY | O_CLOEXEC);
	g_assert_cmpint(efd, >=, 0);

	/* The children's logs (fallback warnings...) only with --verbose. */
	out = g_test_verbose() ? dup(2) : open("/dev/null", O_WRONLY | O_CLOEXEC);
	g_assert_cmpint(out, >=, 0);
	r->pid = fork();
	g_assert_cmpint(r->pid, >=, 0);
	if (r->pid == 0) {
		/* Park both above 4 first so dup2 never meets its own fd. */
		int s = fcntl(sv[1], F_DUPFD_CLOEXEC, 10), e = fcntl(efd, F_DUPFD_CLOEXEC, 10);
		int o = fcntl(out, F_DUPFD_CLOEXEC, 10);
		const char *asan = g_getenv("ASAN_OPTIONS");
		char *env = g_strdup_printf("%s%sdetect_leaks=0", asan ? asan : "",
					    asan ? ":" : "");

		/* The sandboxed child cannot run LeakSanitizer's tracer. */
		g_setenv("ASAN_OPTIONS", env, TRUE);
		if (s < 0 || e < 0 || o < 0 || dup2(s, CHILD_SOCK) < 0 ||
		    dup2(e, CHILD_EXPORT) < 0 || dup2(o, 1) < 0 || dup2(o, 2) < 0)
			_exit(120);
		execv("/proc/self/exe", (char **)argv->pdata);
		_exit(121);
	}
	close(sv[1]);
	close(efd);
	close(out);
	g_ptr_array_free(argv, TRUE);
	r->sock = sv[0];

	r->text = recv_msg(r);
	if (!r->text) {
		int status = 0;

		waitpid(r->pid, &status, 0);
		g_error("the child sent no report (wait status %#x)", status);
	}
	parse_report(r, r->text);
	if (g_hash_table_lookup(r->kv, "error"))
		g_error("the child could not enter the sandbox: %s",
			(char *)g_hash_table_lookup(r->kv, "error"));
	g_assert_cmpint(r->helper, >, 0);
}

static const char *val(struct run *r, const char *key)
{
	const char *v = g_hash_table_lookup(r->kv, key);

	if (!v)
		g_error("no %s in the child's report:\n%s", key, r->text);
	return v;
}

static long long num(struct run *r, const char *key)
{
	return g_ascii_strtoll(val(r, key), NULL, 0);
}

static guint64 hex(struct run *r, const char *key)
{
	return g_ascii_strtoull(val(r, key), NULL, 16);
}

/* Lets the child act (unless already done), then reaps it. */
static int run_finish(struct run *r, bool go)
{
	int status;

	if (go)
		g_assert_cmpint(send(r->sock, "go", 2, MSG_NOSIGNAL), ==, 2);
	g_assert_cmpint(waitpid(r->pid, &status, 0), ==, r->pid);
	close(r->sock);
	if (r->fd >= 0)
		close(r->fd);
	g_hash_table_unref(r->kv);
	g_free(r->text);
	return status;
}

static void assert_exit(int status, int code)
{
	if (WIFSIGNALED(status))
		g_error("child killed by signal %d, expected exit %d", WTERMSIG(status), code);
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, code);
}

static void assert_signal(int status, int sig)
{
	if (WIFEXITED(status))
		g_error("child exited %d, expected death by signal %d", WEXITSTATUS(status), sig);
	g_assert_true(WIFSIGNALED(status));
	g_assert_cmpint(WTERMSIG(status), ==, sig);
}

/* "Key:\tvalue" from /proc/PID/status. */
static char *status_field(pid_t pid, const char *key)
{
	char *path = g_strdup_printf("/proc/%d/status", (int)pid), *text = NULL, *res = NULL;
	size_t klen = strlen(key);

	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	for (char *l = text; l && *l;) {
		char *nl = strchr(l, '\n');

		if (nl)
			*nl = '\0';
		if (!strncmp(l, key, klen) && l[klen] == ':') {
			res = g_strstrip(g_strdup(l + klen + 1));
			break;
		}
		l = nl ? nl + 1 : NULL;
	}
	g_free(text);
	g_free(path);
	g_assert_nonnull(res);
	return res;
}

static guint64 status_hex(pid_t pid, const char *key)
{
	char *v = status_field(pid, key);
	guint64 x = g_ascii_strtoull(v, NULL, 16);

	g_free(v);
	return x;
}

static bool same_ns(pid_t pid, const char *ns)
{
	char *a = g_strdup_printf("/proc/self/ns/%s", ns);
	char *b = g_strdup_printf("/proc/%d/ns/%s", (int)pid, ns);
	char *la = g_file_read_link(a, NULL), *lb = g_file_read_link(b, NULL);
	bool eq;

	g_assert_nonnull(la);
	g_assert_nonnull(lb);
	eq = !strcmp(la, lb);
	g_free(a);
	g_free(b);
	g_free(la);
	g_free(lb);
	return eq;
}

/* Every mount the helper sees carries nodev,nosuid,noexec (and ro). */
static void assert_mountinfo(pid_t pid, bool ro)
{
	char *path = g_strdup_printf("/proc/%d/mountinfo", (int)pid), *text = NULL;
	char **lines;
	int n = 0;

	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	lines = g_strsplit(text, "\n", -1);
	for (char **l = lines; *l && **l; l++) {
		char **fields = g_strsplit(*l, " ", 7);
		char *opts;

		g_assert_cmpuint(g_strv_length(fields), >=, 6);
		opts = g_strdup_printf(",%s,", fields[5]);
		if (!strstr(opts, ",nodev,") || !strstr(opts, ",nosuid,") || !strstr(opts, ",noexec,") ||
		    (ro && !strstr(opts, ",ro,")))
			g_error("helper mount without the sandbox flags: %s", *l);
		g_free(opts);
		g_strfreev(fields);
		n++;
	}
	g_assert_cmpint(n, >=, 1);
	g_strfreev(lines);
	g_free(text);
	g_free(path);
}

#define PASSTHROUGH_CAPS                                                                     \
	((1ULL << CAP_CHOWN) | (1ULL << CAP_DAC_OVERRIDE) | (1ULL << CAP_FOWNER) |            \
	 (1ULL << CAP_FSETID) | (1ULL << CAP_SETUID) | (1ULL << CAP_SETGID) | (1ULL << CAP_MKNOD))

/* What every confined helper must show, whatever the configuration. */
static void assert_common(struct fixture *f, struct run *r, guint64 caps)
{
	g_assert_cmphex(hex(r, "capeff"), ==, caps);
	g_assert_cmphex(hex(r, "capprm"), ==, caps);
	g_assert_cmphex(hex(r, "capinh"), ==, 0);
	g_assert_cmphex(hex(r, "capamb"), ==, 0);
	g_assert_cmpint(num(r, "nnp"), ==, 1);
	g_assert_cmpint(num(r, "dumpable"), ==, 0);
	g_assert_cmpint(num(r, "core"), ==, 0);

	g_assert_cmphex(status_hex(r->helper, "CapEff"), ==, caps);
	g_assert_cmphex(status_hex(r->helper, "CapPrm"), ==, caps);
	g_assert_cmphex(status_hex(r->helper, "CapInh"), ==, 0);
	g_assert_cmphex(status_hex(r->helper, "CapAmb"), ==, 0);
	g_assert_cmphex(status_hex(r->helper, "NoNewPrivs"), ==, 1);

	/* "/" is the export, and nothing above it can be named. */
	g_assert_cmpuint(num(r, "root_ino"), ==, f->export_st.st_ino);
	g_assert_cmpint(num(r, "efd_is_root"), ==, 1);
	g_assert_cmpint(num(r, "dotdot_is_root"), ==, 1);
	g_assert_cmpint(num(r, "efd_dotdot_is_root"), ==, 1);
	g_assert_cmpstr(val(r, "marker"), ==, "inside");
	g_assert_cmpint(num(r, "outside_errno"), ==, ENOENT);
}

static void assert_seccomp(struct run *r)
{
	g_assert_cmpint(num(r, "seccomp"), ==, 2);
	g_assert_cmpint(num(r, "clone3_errno"), ==, ENOSYS);
	g_assert_cmpint(num(r, "unix_socket_errno"), ==, EACCES);
	g_assert_cmpuint(num(r, "applied") & X9P_SANDBOX_SECCOMP, !=, 0);
	g_assert_cmphex(status_hex(r->helper, "Seccomp"), ==, 2);
}

/* Full confinement: mount tree, namespaces, procfd, nodev. */
static void assert_full(struct fixture *f, struct run *r, bool userns, bool ro)
{
	unsigned want = X9P_SANDBOX_MOUNTNS | X9P_SANDBOX_PIDNS | X9P_SANDBOX_NETNS |
			X9P_SANDBOX_IPCNS | X9P_SANDBOX_UTSNS | X9P_SANDBOX_PIVOT | X9P_SANDBOX_PROCFD |
			X9P_SANDBOX_SECCOMP | (userns ? X9P_SANDBOX_USERNS : 0);
	unsigned long flags = ST_NODEV | ST_NOSUID | ST_NOEXEC | (ro ? ST_RDONLY : 0);

	g_assert_cmphex(num(r, "applied"), ==, want);
	g_assert_cmpint(num(r, "pid"), ==, 1);
	g_assert_cmphex(num(r, "fsflags") & flags, ==, flags);
	g_assert_cmphex(hex(r, "capbnd"), ==, 0);
	g_assert_cmphex(status_hex(r->helper, "CapBnd"), ==, 0);
	if (f->have_dev)
		g_assert_cmpint(num(r, "dev_errno"), ==, EACCES);
	g_assert_cmpint(num(r, "procfd"), ==, 1);
	g_assert_cmpstr(val(r, "reopen"), ==, "inside");
	g_assert_cmpint(num(r, "procfd_dotdot_stays"), ==, 1);
	g_assert_cmpint(num(r, "ngroups"), ==, 0);

	g_assert_true(same_ns(r->helper, "user") == !userns);
	g_assert_false(same_ns(r->helper, "mnt"));
	g_assert_false(same_ns(r->helper, "net"));
	g_assert_false(same_ns(r->helper, "ipc"));
	g_assert_false(same_ns(r->helper, "uts"));
	g_assert_false(same_ns(r->helper, "pid"));
	g_assert_cmpint(r->helper, !=, r->pid);
	assert_mountinfo(r->helper, ro);
	assert_seccomp(r);
}

/* ------------------------------------------------------------------ */
/* Cases.                                                               */

static void test_mapped(struct fixture *f, gconstpointer data)
{
	static const char *const opts[] = { "caps=none", "files=64", NULL };
	struct run r;

	if (!need_full())
		return;
	run_start(f, &r, opts);
	assert_common(f, &r, 0);
	assert_full(f, &r, true, false);
	g_assert_cmpstr(val(&r, "uids"), ==, "0,0,0");
	g_assert_cmpint(num(&r, "nofile"), ==, 64);
	g_assert_cmpint(num(&r, "nproc"), ==, 4096);
	g_assert_cmpint(num(&r, "write_errno"), ==, 0);
	/* No CAP_MKNOD: no device node can even be made. */
	g_assert_cmpint(num(&r, "mknod_errno"), ==, EPERM);
	g_assert_cmpint(num(&r, "setresuid_errno"), ==, EPERM);
	assert_exit(run_finish(&r, true), 0);
}

/* A small machine's default hard RLIMIT_NPROC (a 512 MiB Xen dom0 has about
 * 1900) is below the sandbox's own: the helper keeps the lower one. */
static void test_low_nproc(struct fixture *f, gconstpointer data)
{
	static const char *const opts[] = { "caps=none", "nproc_max=1000", NULL };
	struct run r;

	if (!need_full())
		return;
	run_start(f, &r, opts);
	assert_common(f, &r, 0);
	g_assert_cmpint(num(&r, "nproc"), ==, 1000);
	g_assert_cmpint(num(&r, "write_errno"), ==, 0);
	assert_exit(run_finish(&r, true), 0);
}

static void test_run_as_nobody(struct fixture *f, gconstpointer data)
{
	static const char *const opts[] = { "caps=none", "uid=65534", NULL };
	struct run r;
	char *uid;

	if (!need_full())
		return;
	run_start(f, &r, opts);
	assert_common(f, &r, 0);
	assert_full(f, &r, true, false);
	g_assert_cmpstr(val(&r, "uids"), ==, "65534,65534,65534");
	g_assert_cmpstr(val(&r, "gids"), ==, "65534,65534,65534");
	uid = status_field(r.helper, "Uid");
	g_assert_cmpstr(uid, ==, "65534\t65534\t65534\t65534");
	g_free(uid);
	assert_exit(run_finish(&r, true), 0);
}

static void test_unprivileged_start(struct fixture *f, gconstpointer data)
{
	static const char *const opts[] = { "caps=none", "pre_uid=65534", NULL };
	struct run r;

	if (!need_full() || !need(have.userns_unpriv, "no unprivileged user namespaces"))
		return;
	run_start(f, &r, opts);
	assert_common(f, &r, 0);
	assert_full(f, &r, true, false);
	g_assert_cmpstr(val(&r, "uids"), ==, "65534,65534,65534");
	assert_exit(run_finish(&r, true), 0);
}

static void test_passthrough(struct fixture *f, gconstpointer data)
{
	static const char *const opts[] = { "caps=pass", NULL };
	struct run r;

	if (!need_full())
		return;
	run_start(f, &r, opts);
	assert_common(f, &r, PASSTHROUGH_CAPS);
	assert_full(f, &r, false, false);
	g_assert_cmpstr(val(&r, "uids"), ==, "0,0,0");
	g_assert_cmpint(num(&r, "setresuid_errno"), ==, 0);
	/* CAP_MKNOD makes the node, nodev still refuses to open it. */
	g_assert_cmpint(num(&r, "mknod_errno"), ==, 0);
	g_assert_cmpint(num(&r, "mknod_open_errno"), ==, EACCES);
	assert_exit(run_finish(&r, true), 0);
}

/* Root passthrough running as another uid keeps its capabilities. */
static void test_passthrough_run_as_nobody(struct fixture *f, gconstpointer data)
{
	static const char *const opts[] = { "caps=pass", "uid=65534", NULL };
	struct run r;

	if (!need_full())
		return;
	run_start(f, &r, opts);
	assert_common(f, &r, PASSTHROUGH_CAPS);
	assert_full(f, &r, false, false);
	g_assert_cmpstr(val(&r, "uids"), ==, "65534,65534,65534");
	g_assert_cmpstr(val(&r, "gids"), ==, "65534,65534,65534");
	assert_exit(run_finish(&r, true), 0);
}

/* Not root: the passthrough set exists only inside the user namespace. */
static void test_passthrough_unprivileged(struct fixture *f, gconstpointer data)
{
	static const char *const opts[] = { "caps=pass", "pre_uid=65534", NULL };
	struct run r;

	if (!need_full() || !need(have.userns_unpriv, "no unprivileged user namespaces"))
		return;
	run_start(f, &r, opts);
	assert_common(f, &r, PASSTHROUGH_CAPS);
	assert_full(f, &r, true, false);
	g_assert_cmpstr(val(&r, "uids"), ==, "65534,65534,65534");
	/* Inside the namespace CAP_MKNOD does not cover device nodes. */
	g_assert_cmpint(num(&r, "mknod_errno"), ==, EPERM);
	assert_exit(run_finish(&r, true), 0);
}

static void test_readonly(struct fixture *f, gconstpointer data)
{
	static const char *const opts[] = { "caps=none", "ro=1", "files=2000000000", NULL };
	char *nr_open = NULL;
	struct run r;

	if (!need_full())
		return;
	run_start(f, &r, opts);
	assert_common(f, &r, 0);
	assert_full(f, &r, true, true);
	g_assert_cmpint(num(&r, "write_errno"), ==, EROFS);
	g_assert_cmpint(num(&r, "fsize"), ==, 0);
	/* More descriptors than the system allows: lowered, not refused. */
	if (status_hex(getpid(), "CapEff") & (1ULL << CAP_SYS_RESOURCE)) {
		g_assert_true(g_file_get_contents("/proc/sys/fs/nr_open", &nr_open, NULL, NULL));
		g_assert_cmpint(num(&r, "nofile"), ==, g_ascii_strtoll(nr_open, NULL, 10));
		g_free(nr_open);
	} else {
		struct rlimit rl;

		g_assert_cmpint(getrlimit(RLIMIT_NOFILE, &rl), ==, 0);
		g_assert_cmpint(num(&r, "nofile"), ==, rl.rlim_max);
	}
	assert_exit(run_finish(&r, true), 0);
}

static void test_no_namespaces(struct fixture *f, gconstpointer data)
{
	const char *caps = data;
	const char *opts[] = { caps, "action=socket", "ns=0", NULL };
	bool pass = !strcmp(caps, "caps=pass");
	struct run r;

	if (!need(have.root, "needs root") || !need(have.seccomp, "no seccomp"))
		return;
	run_start(f, &r, opts);
	assert_common(f, &r, pass ? PASSTHROUGH_CAPS : 0);
	assert_seccomp(&r);
	g_assert_cmphex(num(&r, "applied") & ~(unsigned)X9P_SANDBOX_PROCFD, ==,
			X9P_SANDBOX_CHROOT | X9P_SANDBOX_SECCOMP);
	g_assert_cmphex(hex(&r, "capbnd"), ==, 0);
	g_assert_cmpint(r.helper, ==, r.pid);
	g_assert_true(same_ns(r.helper, "user"));
	g_assert_true(same_ns(r.helper, "mnt"));
	g_assert_true(same_ns(r.helper, "net"));
	if (num(&r, "procfd"))
		g_assert_cmpint(num(&r, "procfd_dotdot_stays"), ==, 1);
	assert_signal(run_finish(&r, true), SIGSYS);
}

/* User namespaces refused: host capabilities create the other ones. */
static void test_fallback_no_userns(struct fixture *f, gconstpointer data)
{
	static const char *const opts[] = { "caps=none", "deny=userns", "action=socket", NULL };
	struct run r;

	if (!need_full())
		return;
	run_start(f, &r, opts);
	assert_common(f, &r, 0);
	assert_full(f, &r, false, false);
	assert_signal(run_finish(&r, true), SIGSYS);
}

/* No namespaces at all (a restricted container): chroot, caps, seccomp. */
static void test_fallback_no_ns(struct fixture *f, gconstpointer data)
{
	static const char *const opts[] = { "caps=none", "deny=ns", "action=socket", NULL };
	struct run r;

	if (!need(have.root, "needs root") || !need(have.seccomp, "no seccomp"))
		return;
	run_start(f, &r, opts);
	assert_common(f, &r, 0);
	assert_seccomp(&r);
	g_assert_cmphex(num(&r, "applied") & ~(unsigned)X9P_SANDBOX_PROCFD, ==,
			X9P_SANDBOX_CHROOT | X9P_SANDBOX_SECCOMP);
	g_assert_true(same_ns(r.helper, "mnt"));
	assert_signal(run_finish(&r, true), SIGSYS);
}

/* No new mount API (Linux < 5.12): chroot inside the new namespaces. */
static void test_fallback_no_mount_api(struct fixture *f, gconstpointer data)
{
	static const char *const opts[] = { "caps=none", "deny=mountapi", "action=mount", NULL };
	struct run r;

	if (!need_full())
		return;
	run_start(f, &r, opts);
	assert_common(f, &r, 0);
	assert_seccomp(&r);
	g_assert_cmphex(num(&r, "applied"), ==,
			X9P_SANDBOX_USERNS | X9P_SANDBOX_MOUNTNS | X9P_SANDBOX_PIDNS |
			X9P_SANDBOX_NETNS | X9P_SANDBOX_IPCNS | X9P_SANDBOX_UTSNS |
			X9P_SANDBOX_CHROOT | X9P_SANDBOX_SECCOMP);
	g_assert_cmpint(num(&r, "procfd"), ==, 0);
	g_assert_false(same_ns(r.helper, "net"));
	assert_signal(run_finish(&r, true), SIGSYS);
}

/*
 * Unprivileged, and user namespaces refused: nothing confines the file
 * system view any more, but capabilities and seccomp still hold.
 */
static void test_fallback_unprivileged(struct fixture *f, gconstpointer data)
{
	static const char *const opts[] = { "caps=none", "pre_uid=65534", "deny=userns",
					    "action=ptrace", NULL };
	struct run r;

	if (!need(have.root, "needs root") || !need(have.seccomp, "no seccomp"))
		return;
	run_start(f, &r, opts);
	assert_seccomp(&r);
	g_assert_cmphex(num(&r, "applied"), ==, X9P_SANDBOX_SECCOMP);
	g_assert_cmphex(hex(&r, "capeff"), ==, 0);
	g_assert_cmphex(hex(&r, "capprm"), ==, 0);
	g_assert_cmpint(num(&r, "nnp"), ==, 1);
	g_assert_cmpstr(val(&r, "uids"), ==, "65534,65534,65534");
	assert_signal(run_finish(&r, true), SIGSYS);
}

static void test_forbidden(struct fixture *f, gconstpointer data)
{
	const char *action = data;
	char *a = g_strdup_printf("action=%s", action);
	const char *opts[] = { "caps=none", a, NULL };
	struct run r;

	if (!need_full())
		goto out;
	if (!strcmp(action, "int80") && !need(have.int80, "host: the kernel has no i386 emulation"))
		goto out;
	run_start(f, &r, opts);
	assert_seccomp(&r);
	assert_signal(run_finish(&r, true), SIGSYS);
out:
	g_free(a);
}

static void test_forbidden_passthrough(struct fixture *f, gconstpointer data)
{
	const char *opts[] = { "caps=pass", data, NULL };
	struct run r;

	if (!need_full())
		return;
	run_start(f, &r, opts);
	assert_signal(run_finish(&r, true), SIGSYS);
}

/*
 * Files that the C library or GLib would open by path after pivot_root,
 * which would then be the guest's.  Planted with an ancient atime: if the
 * helper reads one (relatime updates an atime older than a day), it shows.
 */
static GPtrArray *plant_library_files(struct fixture *f)
{
	GPtrArray *paths = g_ptr_array_new_with_free_func(g_free);
	GTimeZone *tz = g_time_zone_new_local();
	const char *id = g_time_zone_get_identifier(tz);
	const char *rel[] = {
		"control", "etc/localtime", "etc/timezone", "usr/share/zoneinfo/UTC",
		"usr/share/zoneinfo/Etc/UTC", "usr/lib/x86_64-linux-gnu/charset.alias",
		"usr/lib/x86_64-linux-gnu/gconv/gconv-modules",
		"usr/lib/x86_64-linux-gnu/gconv/gconv-modules.cache", NULL,
	};
	const struct timespec old[2] = { { 0, 0 }, { 0, UTIME_OMIT } };

	for (const char **r = rel; *r; r++)
		g_ptr_array_add(paths, g_build_filename(f->export, *r, NULL));
	if (id && id[0] != '/')
		g_ptr_array_add(paths, g_build_filename(f->export, "usr/share/zoneinfo", id, NULL));
	g_time_zone_unref(tz);
	for (guint i = 0; i < paths->len; i++) {
		const char *p = paths->pdata[i];
		char *dir = g_path_get_dirname(p);

		g_assert_cmpint(g_mkdir_with_parents(dir, 0755), ==, 0);
		g_assert_true(g_file_set_contents(p, "planted by the guest\n", -1, NULL));
		g_assert_cmpint(chmod(p, 0644), ==, 0);
		g_assert_cmpint(utimensat(AT_FDCWD, p, old, 0), ==, 0);
		g_free(dir);
	}
	return paths;
}

static void test_threads(struct fixture *f, gconstpointer data)
{
	const char *opts[] = { data, "action=threads", NULL };
	GPtrArray *planted;
	struct stat st;
	struct run r;
	char buf[16];
	char *msg;
	ssize_t n;

	if (!need_full())
		return;
	planted = plant_library_files(f);
	run_start(f, &r, opts);
	assert_seccomp(&r);
	g_assert_cmpint(send(r.sock, "go", 2, 0), ==, 2);
	msg = recv_msg(&r);
	g_assert_nonnull(msg);
	g_assert_cmpstr(msg, ==, "failures=0 idle=1");
	g_free(msg);
	g_assert_cmpint(r.fd, >=, 0);
	n = pread(r.fd, buf, sizeof(buf) - 1, 0);
	g_assert_cmpint(n, ==, 7);
	buf[n] = '\0';
	g_assert_cmpstr(buf, ==, "inside\n");
	assert_exit(run_finish(&r, false), 0);

	/* planted[0] is the control the workload reads on purpose. */
	g_assert_cmpint(stat(planted->pdata[0], &st), ==, 0);
	if (st.st_atime == 0) {
		g_test_skip("host: atime is not updated on this filesystem: cannot see library opens");
	} else {
		for (guint i = 1; i < planted->len; i++) {
			g_assert_cmpint(stat(planted->pdata[i], &st), ==, 0);
			if (st.st_atime != 0)
				g_error("the sandboxed helper read %s", (char *)planted->pdata[i]);
		}
	}
	g_ptr_array_free(planted, TRUE);
}

static void test_exit_code(struct fixture *f, gconstpointer data)
{
	static const char *const opts[] = { "action=exit7", NULL };
	struct run r;

	if (!need_full())
		return;
	run_start(f, &r, opts);
	assert_exit(run_finish(&r, true), 7);
}

static void test_sigterm(struct fixture *f, gconstpointer data)
{
	static const char *const opts[] = { NULL };
	struct run r;
	pid_t helper;

	if (!need_full())
		return;
	run_start(f, &r, opts);
	helper = r.helper;
	g_assert_cmpint(kill(r.pid, SIGTERM), ==, 0);
	/* The supervisor kills the helper (pid 1 would ignore SIGTERM), reaps
	 * it, and only then dies of the SIGTERM it was sent. */
	assert_signal(run_finish(&r, false), SIGTERM);
	g_assert_cmpint(kill(helper, 0), <, 0);
	g_assert_cmpint(errno, ==, ESRCH);
}

static void test_parent_death(struct fixture *f, gconstpointer data)
{
	static const char *const opts[] = { NULL };
	struct pollfd p = { .events = POLLIN };
	struct run r;

	if (!need_full())
		return;
	run_start(f, &r, opts);
	p.fd = syscall(SYS_pidfd_open, r.helper, 0);
	if (p.fd < 0) {
		g_test_skip("host: the kernel has no pidfd_open");
		kill(r.pid, SIGKILL);
		run_finish(&r, false);
		return;
	}
	/* Killing the supervisor outright must take the helper with it. */
	g_assert_cmpint(kill(r.pid, SIGKILL), ==, 0);
	g_assert_cmpint(poll(&p, 1, -1), ==, 1);
	close(p.fd);
	assert_signal(run_finish(&r, false), SIGKILL);
}

static void test_misuse(void)
{
	struct x9p_sandbox_cfg cfg = { .sock_fd = -1, .run_uid = (uid_t)-1, .run_gid = (gid_t)-1 };
	char *err = NULL;
	int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	int file = open("/proc/self/exe", O_PATH | O_CLOEXEC);
	int sv[2];

	g_assert_cmpint(x9p_sandbox_enter(&cfg, &fd, &err), ==, -EBADF);
	g_assert_nonnull(err);
	g_free(err);
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), ==, 0);
	cfg.sock_fd = sv[0];
	g_assert_cmpint(x9p_sandbox_enter(&cfg, &file, &err), ==, -ENOTDIR);
	g_free(err);
	cfg.caps = 7;
	g_assert_cmpint(x9p_sandbox_enter(&cfg, &fd, &err), ==, -EINVAL);
	g_free(err);
	g_assert_cmpuint(x9p_sandbox_applied(), ==, 0);
	g_assert_cmpint(x9p_sandbox_proc_fd(), ==, -1);
	close(sv[0]);
	close(sv[1]);
	close(fd);
	close(file);
}

static const char *const forbidden[] = {
	"socket", "execve", "ptrace", "mount", "chroot", "fork", "unshare",
	"mmap-exec", "ioctl-tiocsti", "prctl-dumpable", "int80", "x32",
};

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "--sandbox-child"))
		return child_main(argc - 2, argv + 2);

	g_test_init(&argc, &argv, NULL);
	have.root = geteuid() == 0;
	have.seccomp = probe(probe_seccomp);
	have.userns = probe(probe_userns);
	have.userns_unpriv = have.root && probe(probe_userns_unpriv);
	have.other_ns = probe(probe_other_ns);
	have.mount_api = probe(probe_mount_api);
	have.int80 = probe(probe_int80);

#define ADD(path, fn, data) \
	g_test_add(path, struct fixture, data, fixture_set_up, fn, fixture_tear_down)
	g_test_add_func("/sandbox/misuse", test_misuse);
	ADD("/sandbox/mapped", test_mapped, NULL);
	ADD("/sandbox/mapped/run-as-nobody", test_run_as_nobody, NULL);
	ADD("/sandbox/mapped/low-nproc", test_low_nproc, NULL);
	ADD("/sandbox/mapped/unprivileged-start", test_unprivileged_start, NULL);
	ADD("/sandbox/passthrough", test_passthrough, NULL);
	ADD("/sandbox/passthrough/run-as-nobody", test_passthrough_run_as_nobody, NULL);
	ADD("/sandbox/passthrough/unprivileged-start", test_passthrough_unprivileged, NULL);
	ADD("/sandbox/readonly", test_readonly, NULL);
	ADD("/sandbox/no-namespaces/mapped", test_no_namespaces, "caps=none");
	ADD("/sandbox/no-namespaces/passthrough", test_no_namespaces, "caps=pass");
	ADD("/sandbox/fallback/no-userns", test_fallback_no_userns, NULL);
	ADD("/sandbox/fallback/no-namespaces", test_fallback_no_ns, NULL);
	ADD("/sandbox/fallback/no-mount-api", test_fallback_no_mount_api, NULL);
	ADD("/sandbox/fallback/unprivileged-no-userns", test_fallback_unprivileged, NULL);
	for (size_t i = 0; i < G_N_ELEMENTS(forbidden); i++) {
		char *path = g_strdup_printf("/sandbox/forbidden/%s", forbidden[i]);

		ADD(path, test_forbidden, forbidden[i]);
		g_free(path);
	}
	ADD("/sandbox/forbidden/passthrough-socket", test_forbidden_passthrough, "action=socket");
	ADD("/sandbox/threads/mapped", test_threads, "caps=none");
	ADD("/sandbox/threads/passthrough", test_threads, "caps=pass");
	ADD("/sandbox/supervisor/exit-code", test_exit_code, NULL);
	ADD("/sandbox/supervisor/sigterm", test_sigterm, NULL);
	ADD("/sandbox/supervisor/parent-death", test_parent_death, NULL);
	return g_test_run();
}
