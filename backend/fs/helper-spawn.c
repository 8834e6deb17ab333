// SPDX-License-Identifier: GPL-2.0-or-later
/* The local helper launcher: fork and execute x9p-helper; see helper-spawn.h. */
#define G_LOG_DOMAIN "x9p-proxy"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs/helper-spawn.h"
#include "privsep/child.h"
#include "privsep/programs.h"

struct spawner {
	struct x9p_helper_launcher base;
	struct x9p_proxy_cfg cfg;   /* strings owned below */
	char *helper_path;
	char *log_level;
	char *label;
	int export_fd;
	int helper_fd;              /* O_PATH of the helper binary */
	GMutex lock;
	pid_t pid;                  /* lock: the live helper, or -1 */
	int pidfd;                  /* lock */
};

static GPtrArray *helper_argv(struct spawner *sp)
{
	GPtrArray *a = g_ptr_array_new_with_free_func(g_free);

	/* argv[0]: what ps shows, the program being the descriptor executed. */
	g_ptr_array_add(a, sp->label ? g_strdup_printf("x9p-helper %s", sp->label) :
				       g_strdup(sp->helper_path));
	g_ptr_array_add(a, g_strdup("--sock-fd=3"));
	g_ptr_array_add(a, g_strdup("--export-fd=4"));
	g_ptr_array_add(a, g_strdup_printf("--security-model=%s",
					    x9p_secmodel_name(sp->cfg.model)));
	g_ptr_array_add(a, g_strdup_printf("--multidevs=%s",
					    x9p_multidevs_name(sp->cfg.multidevs)));
	if (sp->cfg.readonly)
		g_ptr_array_add(a, g_strdup("--readonly"));
	if (sp->cfg.no_setid)
		g_ptr_array_add(a, g_strdup("--no-setid"));
	if (sp->cfg.helper_threads)
		g_ptr_array_add(a, g_strdup_printf("--threads=%u", sp->cfg.helper_threads));
	if (sp->cfg.max_nodes)
		g_ptr_array_add(a, g_strdup_printf("--max-nodes=%u", sp->cfg.max_nodes));
	if (sp->cfg.no_namespaces)
		g_ptr_array_add(a, g_strdup("--no-namespaces"));
	if (sp->cfg.no_seccomp)
		g_ptr_array_add(a, g_strdup("--no-seccomp"));
	if (sp->log_level)
		g_ptr_array_add(a, g_strdup_printf("--log-level=%s", sp->log_level));
	g_ptr_array_add(a, NULL);
	return a;
}

static int sp_start(struct x9p_helper_launcher *base, struct x9p_helper_proc *out, char **why)
{
	struct spawner *sp = (struct spawner *)base;
	GPtrArray *argv;
	int sv[2], e, pidfd;
	pid_t pid;

	g_mutex_lock(&sp->lock);
	pid = sp->pid;
	g_mutex_unlock(&sp->lock);
	if (pid > 0) {
		*why = g_strdup("the previous helper was not reaped");
		return -EBUSY;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		e = errno;
		*why = g_strdup_printf("socketpair: %s", g_strerror(e));
		return -e;
	}
	/* Room for the largest message and then some, whatever the system default. */
	for (int i = 0; i < 2; i++) {
		int sz = 4 * X9P_PX_MAX_MSG;

		setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
	argv = helper_argv(sp);
	{
		/* --sock-fd=3 --export-fd=4 */
		int fds[] = { sv[1], sp->export_fd };
		struct x9p_child c = {
			.name = "x9p-helper",
			.device = sp->label,
			.exec_fd = sp->helper_fd,
			.argv = (char *const *)argv->pdata,
			.fds = fds,
			.nfds = 2,
		};

		pid = x9p_child_start(&c, &pidfd, why);
	}
	close(sv[1]);
	g_ptr_array_unref(argv);
	if (pid < 0) {
		close(sv[0]);
		return (int)pid;
	}
	g_mutex_lock(&sp->lock);
	sp->pid = pid;
	sp->pidfd = pidfd;
	out->exit_fd = pidfd >= 0 ? fcntl(pidfd, F_DUPFD_CLOEXEC, 3) : -1;
	g_mutex_unlock(&sp->lock);
	out->sock = sv[0];
	out->pid = pid;
	return 0;
}

static void sp_kill(struct x9p_helper_launcher *base)
{
	struct spawner *sp = (struct spawner *)base;

	g_mutex_lock(&sp->lock);
	x9p_child_signal(sp->pid, sp->pidfd, SIGKILL);
	g_mutex_unlock(&sp->lock);
}

static char *sp_reap(struct x9p_helper_launcher *base, int grace_ms)
{
	struct spawner *sp = (struct spawner *)base;
	int status = 0, pidfd;
	pid_t pid, r;

	g_mutex_lock(&sp->lock);
	pid = sp->pid;
	pidfd = sp->pidfd;
	g_mutex_unlock(&sp->lock);
	if (pid <= 0)
		return g_strdup("not running");
	if (grace_ms > 0 && pidfd >= 0) {
		struct pollfd p = { pidfd, POLLIN, 0 };

		while (poll(&p, 1, grace_ms) < 0 && errno == EINTR)
			;
	}
	sp_kill(base);
	do
		r = waitpid(pid, &status, 0);
	while (r < 0 && errno == EINTR);
	g_mutex_lock(&sp->lock);
	sp->pid = -1;
	if (sp->pidfd >= 0)
		close(sp->pidfd);
	sp->pidfd = -1;
	g_mutex_unlock(&sp->lock);
	return r < 0 ? g_strdup(g_strerror(errno)) : x9p_exit_text(status);
}

static void sp_destroy(struct x9p_helper_launcher *base)
{
	struct spawner *sp = (struct spawner *)base;

	if (!sp)
		return;
	if (sp->pid > 0)
		g_free(sp_reap(base, 0));
	if (sp->export_fd >= 0)
		close(sp->export_fd);
	if (sp->helper_fd >= 0)
		close(sp->helper_fd);
	g_free(sp->helper_path);
	g_free(sp->log_level);
	g_free(sp->label);
	g_mutex_clear(&sp->lock);
	g_free(sp);
}

struct x9p_helper_launcher *x9p_helper_spawner_new(const struct x9p_proxy_cfg *cfg, GError **err)
{
	struct spawner *sp = g_new0(struct spawner, 1);
	struct stat st;

	sp->base.start = sp_start;
	sp->base.kill = sp_kill;
	sp->base.reap = sp_reap;
	sp->base.destroy = sp_destroy;
	sp->cfg = *cfg;
	sp->log_level = g_strdup(cfg->log_level);
	sp->cfg.log_level = NULL;
	sp->label = g_strdup(cfg->label);
	sp->cfg.label = NULL;
	sp->cfg.export_path = NULL;
	sp->cfg.helper_path = NULL;
	sp->pid = -1;
	sp->pidfd = -1;
	sp->helper_fd = -1;
	g_mutex_init(&sp->lock);
	/* The only thing of the export the daemon opens: the directory, O_PATH. */
	errno = 0;
	if (cfg->export_fd >= 0)
		sp->export_fd = fcntl(cfg->export_fd, F_DUPFD_CLOEXEC, 3);
	else if (cfg->export_path)
		sp->export_fd = open(cfg->export_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	else
		sp->export_fd = -1, errno = EINVAL;
	if (sp->export_fd < 0 || fstat(sp->export_fd, &st) < 0 || !S_ISDIR(st.st_mode)) {
		int e = errno ? errno : ENOTDIR;

		g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(e), "export %s: %s",
			    cfg->export_path ? cfg->export_path : "(descriptor)", g_strerror(e));
		goto fail;
	}
	sp->helper_path = cfg->helper_path ? g_strdup(cfg->helper_path) :
					   x9p_program_path("x9p-helper", "X9P_HELPER");
	sp->helper_fd = open(sp->helper_path, O_PATH | O_CLOEXEC);
	if (sp->helper_fd < 0 || fstat(sp->helper_fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    access(sp->helper_path, X_OK) < 0) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_NOENT,
			    "x9p-helper: %s is not an executable file (set the helper path "
			    "or X9P_HELPER)", sp->helper_path);
		goto fail;
	}
	return &sp->base;
fail:
	sp_destroy(&sp->base);
	return NULL;
}

struct x9p_fs *x9p_proxy_new(const struct x9p_proxy_cfg *cfg, GError **err)
{
	struct x9p_helper_launcher *l = x9p_helper_spawner_new(cfg, err);

	return l ? x9p_proxy_new_with(cfg, l, err) : NULL;
}
