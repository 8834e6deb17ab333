/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "x9p-sandbox"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/fs.h>
#include <sched.h>
#include <seccomp.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sandbox-seccomp.h"

#ifndef __x86_64__
#error "the seccomp allowlist is written for the x86_64 system call table"
#endif

/* linux/include/uapi/xen/evtchn.h: _IOC(_IOC_NONE, 'E', 4, sizeof(struct
 * ioctl_evtchn_notify { unsigned int port; })). */
#define X9P_IOCTL_EVTCHN_NOTIFY _IOC(_IOC_NONE, 'E', 4, 4)

/* Newer than the system headers/libseccomp of Debian 12; x86_64 numbers. */
#define NR_fchmodat2 452
#define NR_setxattrat 463
#define NR_getxattrat 464
#define NR_listxattrat 465
#define NR_removexattrat 466

/* Allowed without looking at arguments, in the helper and in workers. */
static const int common_plain[] = {
	/* memory (mmap and mprotect are below, without PROT_EXEC) */
	SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise),
	/* threads: glibc and GLib's thread pool (scheduler attributes are
	 * copied to each new thread by GLib) */
	SCMP_SYS(futex), SCMP_SYS(set_robust_list), SCMP_SYS(rseq), SCMP_SYS(set_tid_address),
	SCMP_SYS(gettid), SCMP_SYS(getpid), SCMP_SYS(sched_yield), SCMP_SYS(sched_getaffinity),
	SCMP_SYS(sched_getattr), SCMP_SYS(sched_setattr), SCMP_SYS(sched_getparam),
	SCMP_SYS(sched_getscheduler),
	/* signals and exit */
	SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),
	SCMP_SYS(sigaltstack), SCMP_SYS(restart_syscall), SCMP_SYS(exit), SCMP_SYS(exit_group),
	/* time and randomness */
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres), SCMP_SYS(clock_nanosleep),
	SCMP_SYS(nanosleep), SCMP_SYS(gettimeofday), SCMP_SYS(time), SCMP_SYS(getrandom),
	/* descriptors */
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev), SCMP_SYS(pread64),
	SCMP_SYS(pwrite64), SCMP_SYS(preadv), SCMP_SYS(pwritev), SCMP_SYS(preadv2),
	SCMP_SYS(pwritev2), SCMP_SYS(lseek), SCMP_SYS(close), SCMP_SYS(close_range),
	SCMP_SYS(dup), SCMP_SYS(dup2), SCMP_SYS(dup3),
	/* main loop */
	SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(epoll_create1), SCMP_SYS(epoll_ctl),
	SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(eventfd2), SCMP_SYS(pipe2),
	/* sockets received (no socket creation, connect, bind) */
	SCMP_SYS(sendmsg), SCMP_SYS(recvmsg), SCMP_SYS(sendto), SCMP_SYS(recvfrom),
	SCMP_SYS(shutdown), SCMP_SYS(getsockopt), SCMP_SYS(getsockname), SCMP_SYS(getpeername),
	/* reading one's own credentials and limits */
	SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid), SCMP_SYS(getegid),
	SCMP_SYS(getresuid), SCMP_SYS(getresgid), SCMP_SYS(getgroups), SCMP_SYS(capget),
	SCMP_SYS(getrusage), SCMP_SYS(getrlimit), SCMP_SYS(uname),
};

/* The helper's filesystem calls, allowed without looking at arguments
 * (fcntl too: in its own pid namespace, F_SETOWN names nobody else). */
static const int helper_plain[] = {
	SCMP_SYS(fcntl),
	/* filesystem, descriptor-relative */
	SCMP_SYS(openat), SCMP_SYS(openat2), SCMP_SYS(newfstatat), SCMP_SYS(fstat),
	SCMP_SYS(statx), SCMP_SYS(fstatfs), SCMP_SYS(statfs), SCMP_SYS(getdents64),
	SCMP_SYS(mkdirat), SCMP_SYS(mknodat), SCMP_SYS(unlinkat), SCMP_SYS(renameat),
	SCMP_SYS(renameat2), SCMP_SYS(linkat), SCMP_SYS(symlinkat), SCMP_SYS(readlinkat),
	SCMP_SYS(fchmod), SCMP_SYS(fchmodat), SCMP_SYS(fchown), SCMP_SYS(fchownat),
	SCMP_SYS(utimensat), SCMP_SYS(ftruncate), SCMP_SYS(fallocate), SCMP_SYS(fsync),
	SCMP_SYS(fdatasync), SCMP_SYS(faccessat), SCMP_SYS(faccessat2), SCMP_SYS(fchdir),
	SCMP_SYS(name_to_handle_at), SCMP_SYS(fadvise64), SCMP_SYS(umask),
	/* xattrs (path forms are needed on /proc/self/fd/N of O_PATH nodes) */
	SCMP_SYS(getxattr), SCMP_SYS(lgetxattr), SCMP_SYS(fgetxattr), SCMP_SYS(setxattr),
	SCMP_SYS(lsetxattr), SCMP_SYS(fsetxattr), SCMP_SYS(listxattr), SCMP_SYS(llistxattr),
	SCMP_SYS(flistxattr), SCMP_SYS(removexattr), SCMP_SYS(lremovexattr),
	SCMP_SYS(fremovexattr),
	NR_fchmodat2, NR_setxattrat, NR_getxattrat, NR_listxattrat, NR_removexattrat,
};

/* Allowed for passthrough (per-request identity), EPERM otherwise. */
static const int helper_creds[] = {
	SCMP_SYS(setresuid), SCMP_SYS(setresgid), SCMP_SYS(setgroups),
	SCMP_SYS(setfsuid), SCMP_SYS(setfsgid), SCMP_SYS(capset),
};

static const unsigned long helper_ioctls[] = {
	TCGETS,            /* isatty(), e.g. GLib's log writer on stderr */
	FIONREAD,
	FS_IOC_GETFLAGS,
	FS_IOC_GETVERSION, /* inode generation */
};

static const int helper_prctls[] = {
	PR_SET_NAME, PR_GET_NAME,           /* thread names */
	PR_GET_DUMPABLE, PR_GET_NO_NEW_PRIVS, PR_GET_SECCOMP, PR_GET_KEEPCAPS,
	PR_GET_SECUREBITS, PR_CAPBSET_READ,
	PR_SET_PDEATHSIG, PR_GET_PDEATHSIG, /* re-armed after identity changes */
};

/* The flags glibc's pthread_create() passes; a new process lacks some. */
#define THREAD_FLAGS (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | \
		      CLONE_SYSVSEM)
#define NS_FLAGS (CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | \
		  CLONE_NEWUTS | CLONE_NEWCGROUP)

struct builder {
	scmp_filter_ctx ctx;
	int rc;
	int nr; /* first failing rule, for the message */
};

static void add(struct builder *b, uint32_t action, int nr, unsigned n,
		const struct scmp_arg_cmp *cmp)
{
	int rc;

	if (b->rc < 0)
		return;
	rc = seccomp_rule_add_array(b->ctx, action, nr, n, cmp);
	if (rc < 0) {
		b->rc = rc;
		b->nr = nr;
	}
}

static void allow(struct builder *b, int nr)
{
	add(b, SCMP_ACT_ALLOW, nr, 0, NULL);
}

static void allow1(struct builder *b, int nr, struct scmp_arg_cmp c)
{
	add(b, SCMP_ACT_ALLOW, nr, 1, &c);
}

static void allow2(struct builder *b, int nr, struct scmp_arg_cmp c1, struct scmp_arg_cmp c2)
{
	struct scmp_arg_cmp c[2] = { c1, c2 };

	add(b, SCMP_ACT_ALLOW, nr, 2, c);
}

static int start(struct builder *b, uint32_t deflt, bool tsync, char **err)
{
	b->rc = 0;
	b->nr = -1;
	b->ctx = seccomp_init(deflt);
	if (!b->ctx)
		return x9p_sb_fail(err, ENOMEM, "seccomp_init");
	/* seccomp_init() adds only the native architecture; make a call
	 * through any other ABI kill rather than the default for bad arch. */
	if (seccomp_attr_set(b->ctx, SCMP_FLTATR_ACT_BADARCH, deflt) < 0 ||
	    seccomp_attr_set(b->ctx, SCMP_FLTATR_CTL_NNP, 1) < 0 ||
	    (tsync && seccomp_attr_set(b->ctx, SCMP_FLTATR_CTL_TSYNC, 1) < 0)) {
		seccomp_release(b->ctx);
		return x9p_sb_fail(err, EINVAL, "seccomp_attr_set");
	}
	return 0;
}

static int finish(struct builder *b, const char *what, char **err)
{
	int rc = b->rc;

	if (rc < 0) {
		char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, b->nr);

		rc = x9p_sb_fail(err, -rc, "%s seccomp rule for %s", what, name ? name : "?");
		free(name);
	} else {
		rc = seccomp_load(b->ctx);
		if (rc < 0)
			rc = x9p_sb_fail(err, -rc, "loading the %s seccomp filter", what);
	}
	seccomp_release(b->ctx);
	return rc;
}

/* Argument-checked rules of the helper and of workers. */
static void allow_common_args(struct builder *b, bool worker)
{
	pid_t self = getpid();

	/* GLib's log writer opens a datagram socket to journald when stderr
	 * is the journal; failing (it then writes to stderr) beats dying.
	 * Any other socket() kills. */
	add(b, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 1,
	    &(struct scmp_arg_cmp)SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
	allow1(b, SCMP_SYS(mmap), SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	allow1(b, SCMP_SYS(mprotect), SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	allow1(b, SCMP_SYS(clone),
	       SCMP_A0(SCMP_CMP_MASKED_EQ, THREAD_FLAGS | NS_FLAGS, THREAD_FLAGS));
	add(b, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0, NULL);
	/* raise()/abort() and nothing else: only this process. */
	allow1(b, SCMP_SYS(tgkill), SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)self));
	allow1(b, SCMP_SYS(kill), SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)self));
	/* getrlimit() as glibc does it: own process, no new limit. */
	allow2(b, SCMP_SYS(prlimit64), SCMP_A0(SCMP_CMP_EQ, 0), SCMP_A2(SCMP_CMP_EQ, 0));
	for (size_t i = 0; i < G_N_ELEMENTS(helper_ioctls); i++)
		allow1(b, SCMP_SYS(ioctl), SCMP_A1(SCMP_CMP_EQ, helper_ioctls[i]));
	for (size_t i = 0; i < G_N_ELEMENTS(helper_prctls); i++) {
		/* A worker never changes ids again: its parent-death signal
		 * stays as armed. */
		if (worker && helper_prctls[i] == PR_SET_PDEATHSIG)
			continue;
		allow1(b, SCMP_SYS(prctl), SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)helper_prctls[i]));
	}
	allow2(b, SCMP_SYS(prctl), SCMP_A0(SCMP_CMP_EQ, PR_SET_DUMPABLE), SCMP_A1(SCMP_CMP_EQ, 0));
	allow2(b, SCMP_SYS(prctl), SCMP_A0(SCMP_CMP_EQ, PR_CAP_AMBIENT),
	       SCMP_A1(SCMP_CMP_EQ, PR_CAP_AMBIENT_IS_SET));
}

int x9p_sb_seccomp_helper(enum x9p_caps_need need, char **err)
{
	struct builder b;
	int rc = start(&b, SCMP_ACT_KILL_PROCESS, true, err);

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < G_N_ELEMENTS(common_plain); i++)
		allow(&b, common_plain[i]);
	for (size_t i = 0; i < G_N_ELEMENTS(helper_plain); i++)
		allow(&b, helper_plain[i]);
	for (size_t i = 0; i < G_N_ELEMENTS(helper_creds); i++) {
		if (need == X9P_CAPS_PASSTHROUGH)
			allow(&b, helper_creds[i]);
		else
			add(&b, SCMP_ACT_ERRNO(EPERM), helper_creds[i], 0, NULL);
	}

	allow_common_args(&b, false);
	/* Per-thread working directory for path-based xattr calls. */
	allow1(&b, SCMP_SYS(unshare), SCMP_A0(SCMP_CMP_EQ, CLONE_FS));
	return finish(&b, "helper", err);
}

int x9p_sb_seccomp_supervisor(pid_t child, char **err)
{
	static const int plain[] = {
		SCMP_SYS(rt_sigtimedwait), SCMP_SYS(wait4), SCMP_SYS(waitid),
		SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigreturn),
		SCMP_SYS(getpid), SCMP_SYS(restart_syscall), SCMP_SYS(exit), SCMP_SYS(exit_group),
		/* the sanitizer runtime's exit path, in SANITIZE=1 builds */
		SCMP_SYS(sigaltstack), SCMP_SYS(munmap),
	};
	struct builder b;
	int rc = start(&b, SCMP_ACT_KILL_PROCESS, false, err);

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < G_N_ELEMENTS(plain); i++)
		allow(&b, plain[i]);
	allow1(&b, SCMP_SYS(kill), SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)child));
	allow1(&b, SCMP_SYS(kill), SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()));
	return finish(&b, "supervisor", err);
}

/* The fcntl commands the engine, GLib and the transports use. */
static const int worker_fcntls[] = {
	F_GETFD, F_SETFD, F_GETFL, F_DUPFD, F_DUPFD_CLOEXEC, F_GET_SEALS,
	/* the socket transport's zero-copy reads (a pipe of one reply) */
	F_GETPIPE_SZ, F_SETPIPE_SZ,
};

int x9p_sb_seccomp_worker(const struct x9p_sb_worker_filter *f, char **err)
{
	/* What the engine does on the descriptors it holds and the socket
	 * transport on its listeners, beyond the common set. */
	static const int plain[] = {
		SCMP_SYS(accept4), SCMP_SYS(accept),
		SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(fsync), SCMP_SYS(fdatasync),
		SCMP_SYS(fadvise64),
		/* zero-copy reads: file to pipe to socket, all its own */
		SCMP_SYS(splice),
		/* GLib's threads ask it */
		SCMP_SYS(getppid),
		/* the vhost device's stop signals */
		SCMP_SYS(signalfd4),
	};
	struct builder b;
	int rc = start(&b, f->log_only ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS, true, err);

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < G_N_ELEMENTS(common_plain); i++)
		allow(&b, common_plain[i]);
	for (size_t i = 0; i < G_N_ELEMENTS(plain); i++)
		allow(&b, plain[i]);
	/* No F_SETOWN/F_SETSIG and no O_ASYNC: a worker must not have the
	 * kernel signal other processes of its uid for it. */
	for (size_t i = 0; i < G_N_ELEMENTS(worker_fcntls); i++)
		allow1(&b, SCMP_SYS(fcntl), SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)worker_fcntls[i]));
	allow2(&b, SCMP_SYS(fcntl), SCMP_A1(SCMP_CMP_EQ, F_SETFL),
	       SCMP_A2(SCMP_CMP_MASKED_EQ, O_ASYNC, 0));
	/* TCP_NODELAY on accepted connections, and nothing else (SO_LINGER on
	 * a socket handed to the monitor could stall its close()). */
	allow2(&b, SCMP_SYS(setsockopt), SCMP_A1(SCMP_CMP_EQ, IPPROTO_TCP),
	       SCMP_A2(SCMP_CMP_EQ, TCP_NODELAY));
	add(&b, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(setsockopt), 1,
	    &(struct scmp_arg_cmp)SCMP_A1(SCMP_CMP_NE, IPPROTO_TCP));
	/* Channels to its helper (helper/proxy.h): a pair of connected
	 * AF_UNIX sockets reaches nothing outside the two processes. */
	allow1(&b, SCMP_SYS(socketpair), SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
	/* The synthetic filesystem keeps its files in memfds. */
	if (f->synthetic) {
		allow(&b, SCMP_SYS(memfd_create));
		allow(&b, SCMP_SYS(ftruncate));
	} else if (f->record) {
		allow(&b, SCMP_SYS(ftruncate));
	}
	/* Nothing to open in an empty root but in the private proc fd
	 * directory; a library that tries elsewhere gets an error, not a
	 * dead worker. */
	if (f->proc_fd >= 0) {
		allow1(&b, SCMP_SYS(openat), SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)f->proc_fd));
		add(&b, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 1,
		    &(struct scmp_arg_cmp)SCMP_A0(SCMP_CMP_NE, (scmp_datum_t)f->proc_fd));
	} else {
		add(&b, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 0, NULL);
	}
	add(&b, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(open), 0, NULL);
	allow_common_args(&b, true);
	/* A Xen worker notifies its frontend's ports; every other gntdev and
	 * evtchn command (mapping grants, binding ports, restrictions) is
	 * refused by the default action. */
	if (f->xen)
		allow1(&b, SCMP_SYS(ioctl), SCMP_A1(SCMP_CMP_EQ, X9P_IOCTL_EVTCHN_NOTIFY));
	return finish(&b, "worker", err);
}
