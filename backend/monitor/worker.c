// SPDX-License-Identifier: GPL-2.0-or-later
/* The monitor's side of one worker; see worker.h. */
#define G_LOG_DOMAIN "x9p-backend"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>

#include "monitor/worker.h"
#include "privsep/child.h"
#include "privsep/programs.h"

#define LINK_FD 3
/* A reap runs in a thread but is joined when its worker ends: bounded. */
#define REAP_GRACE_MAX_MS 2000

struct x9p_mworker {
	struct x9p_mworker_cfg cfg;
	char *label;
	pid_t pid;
	int pidfd;                  /* signals reach this process, never a reused pid */
	int ch;                     /* our end of the channel, -1 once closed */
	GSource *ch_src;
	guint child_watch;
	guint kill_timer;
	bool ready;
	bool exited;
	GMutex send_lock;
	GThread *reaper;            /* the last HELPER_REAP served */
	gint reaping;               /* atomic: it has not replied yet */
	gint64 starts_window;       /* rate limits of HELPER_START */
	unsigned starts;            /* in this window */
	unsigned forced_starts;     /* of those, after a HELPER_KILL */
	bool kill_asked;            /* HELPER_KILL since the last start */
};

char *x9p_mworker_program(void)
{
	return x9p_program_path("x9p-worker", "X9P_WORKER");
}

pid_t x9p_mworker_pid(const struct x9p_mworker *w)
{
	return w->pid;
}

const char *x9p_mworker_label(const struct x9p_mworker *w)
{
	return w->label;
}

static int send_locked(struct x9p_mworker *w, const struct mw_msg *m)
{
	int rc;

	g_mutex_lock(&w->send_lock);
	rc = w->ch >= 0 ? mw_send(w->ch, m) : -EPIPE;
	g_mutex_unlock(&w->send_lock);
	return rc;
}

static void close_channel(struct x9p_mworker *w)
{
	if (w->ch_src) {
		g_source_destroy(w->ch_src);
		g_source_unref(w->ch_src);
		w->ch_src = NULL;
	}
	g_mutex_lock(&w->send_lock);
	if (w->ch >= 0)
		close(w->ch);
	w->ch = -1;
	g_mutex_unlock(&w->send_lock);
}

static void signal_worker(struct x9p_mworker *w, int sig)
{
	/* Without a pidfd, only while the pid is surely still the worker's. */
	if (w->pidfd >= 0 || !w->exited)
		x9p_child_signal(w->pid, w->pidfd, sig);
}

static void violation(struct x9p_mworker *w, const char *what)
{
	g_warning("worker %s (pid %d) broke the monitor protocol: %s; killing it", w->label,
		  (int)w->pid, what);
	signal_worker(w, SIGKILL);
	close_channel(w);
}

static void helper_start(struct x9p_mworker *w, const struct mw_msg *q)
{
	struct x9p_helper_proc hp = { .sock = -1, .exit_fd = -1 };
	gint64 now = g_get_monotonic_time();
	struct mw_msg a;
	char *why = NULL;
	bool forced = w->kill_asked;
	int rc;

	if (now - w->starts_window > 60 * G_USEC_PER_SEC) {
		w->starts_window = now;
		w->starts = w->forced_starts = 0;
	}
	if (!w->cfg.helpers) {
		rc = -ENOTSUP;
		why = g_strdup("this worker has no export");
	} else if (forced && ++w->forced_starts > MWORKER_HELPER_STARTS) {
		rc = -EAGAIN;
		why = g_strdup_printf("more than %d helper starts a minute after kills it asked for",
				      MWORKER_HELPER_STARTS);
	} else if (++w->starts > MWORKER_HELPER_RESTARTS) {
		rc = -EAGAIN;
		why = g_strdup_printf("more than %d helper starts a minute", MWORKER_HELPER_RESTARTS);
	} else {
		w->kill_asked = false;
		rc = w->cfg.helpers->start(w->cfg.helpers, &hp, &why);
	}
	mw_init(&a, MW_HELPER, q->seq);
	a.u[MW_HP_STATUS] = (uint32_t)rc;
	a.u[MW_HP_PID] = rc == 0 ? (uint32_t)hp.pid : 0;
	if (rc == 0)
		mw_add_fd(&a, hp.sock);
	else
		mw_add_str(&a, why);
	if (send_locked(w, &a) < 0 && rc == 0)
		w->cfg.helpers->kill(w->cfg.helpers);
	mw_clear(&a);   /* closes our copy of the helper's socket */
	if (hp.exit_fd >= 0)
		close(hp.exit_fd);
	g_free(why);
}

struct reap_job {
	struct x9p_mworker *w;
	uint32_t seq;
	int grace_ms;
};

static gpointer reap_thread(gpointer data)
{
	struct reap_job *j = data;
	struct mw_msg a;
	char *st = j->w->cfg.helpers ? j->w->cfg.helpers->reap(j->w->cfg.helpers, j->grace_ms) :
				       g_strdup("not running");

	mw_init(&a, MW_HELPER_GONE, j->seq);
	mw_add_str(&a, st);
	/* Cleared first: the worker may ask again as soon as it has the reply. */
	g_atomic_int_set(&j->w->reaping, 0);
	send_locked(j->w, &a);
	mw_clear(&a);
	g_free(st);
	g_free(j);
	return NULL;
}

static void join_reaper(struct x9p_mworker *w)
{
	if (w->reaper)
		g_thread_join(w->reaper);
	w->reaper = NULL;
}

static gboolean on_message(gint fd, GIOCondition cond, gpointer data)
{
	struct x9p_mworker *w = data;
	struct mw_msg m;
	int rc = mw_recv(fd, MW_FROM_WORKER, &m);

	if (rc == -EAGAIN || rc == -EINTR)
		return G_SOURCE_CONTINUE;
	if (rc == 1 || rc == -ECONNRESET) {
		/* The worker is going; its exit is reported by the child watch. */
		g_source_unref(w->ch_src);
		w->ch_src = NULL;
		return G_SOURCE_REMOVE;
	}
	if (rc < 0) {
		g_source_unref(w->ch_src);
		w->ch_src = NULL;
		violation(w, rc == -EPROTO ? "a malformed message" : g_strerror(-rc));
		return G_SOURCE_REMOVE;
	}
	switch (m.type) {
	case MW_READY:
		if (w->ready) {
			mw_clear(&m);
			violation(w, "READY twice");
			return G_SOURCE_REMOVE;
		}
		w->ready = true;
		if (w->cfg.ready)
			w->cfg.ready(w->cfg.opaque, w);
		break;
	case MW_HELPER_START:
		helper_start(w, &m);
		break;
	case MW_HELPER_KILL:
		w->kill_asked = true;
		if (w->cfg.helpers)
			w->cfg.helpers->kill(w->cfg.helpers);
		break;
	case MW_HELPER_REAP: {
		struct reap_job *j;

		/* The worker waits for each reply: a second reap meanwhile is a lie. */
		if (g_atomic_int_get(&w->reaping)) {
			mw_clear(&m);
			violation(w, "overlapping HELPER_REAP");
			return G_SOURCE_REMOVE;
		}
		join_reaper(w);
		j = g_new(struct reap_job, 1);
		j->w = w;
		j->seq = m.seq;
		j->grace_ms = (int)MIN(m.u[MW_RP_GRACE_MS], REAP_GRACE_MAX_MS);
		g_atomic_int_set(&w->reaping, 1);
		w->reaper = g_thread_new("x9p-reap", reap_thread, j);
		break;
	}
	case MW_SESSION:
	case MW_FAULT:
	case MW_KEEP_FD:
	case MW_DROP_FD:
	case MW_KEEP_DEVICE:
	case MW_KEEP_CONN:
	case MW_DROP_CONN:
		if (w->cfg.note) {
			w->cfg.note(w->cfg.opaque, w, &m);
			break;
		}
		/* fall through */
	default:
		mw_clear(&m);
		violation(w, "an unexpected message");
		return G_SOURCE_REMOVE;
	}
	mw_clear(&m);
	return G_SOURCE_CONTINUE;
}

/* One message, outside a dispatch of the channel: false once it is closed. */
static bool serve_one(struct x9p_mworker *w)
{
	/* Outside a dispatch, returning REMOVE removes nothing. */
	GSource *src = g_source_ref(w->ch_src);
	bool gone = on_message(w->ch, G_IO_IN, w) == G_SOURCE_REMOVE;

	if (gone)
		g_source_destroy(src);
	g_source_unref(src);
	return !gone;
}

/*
 * What a worker sent before it died is still owed to the monitor: the
 * child watch may run before the channel's source has read it all, and a
 * lost KEEP_FD or KEEP_DEVICE would lose a guest's open file or device
 * with it.  The worker can send no more, so this ends.
 */
static void drain_channel(struct x9p_mworker *w)
{
	while (w->ch_src) {
		struct pollfd p = { w->ch, POLLIN, 0 };

		if (poll(&p, 1, 0) <= 0 || !serve_one(w))
			break;
	}
}

bool x9p_mworker_wait_ready(struct x9p_mworker *w, int timeout_ms)
{
	gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

	while (!w->ready && w->ch_src) {
		struct pollfd p = { w->ch, POLLIN, 0 };
		gint64 left = (end - g_get_monotonic_time()) / 1000;
		int n;

		if (left <= 0)
			return false;
		n = poll(&p, 1, (int)left);
		if (n < 0 && errno != EINTR)
			return false;
		if (n > 0 && !serve_one(w))
			break;
	}
	return w->ready;
}

bool x9p_mworker_exited(const struct x9p_mworker *w)
{
	return w->exited;
}

int x9p_mworker_end_signal(struct x9p_mworker *w, int timeout_ms)
{
	struct pollfd p = { w->pidfd, POLLIN, 0 };
	siginfo_t si = { 0 };

	if (w->pidfd < 0 || poll(&p, 1, timeout_ms) <= 0)
		return -1;
	/* WNOWAIT: the child watch still reaps it and reports its end. */
	if (waitid((idtype_t)P_PIDFD, (id_t)w->pidfd, &si, WEXITED | WNOWAIT | WNOHANG) < 0 ||
	    si.si_pid == 0)
		return -1;
	return si.si_code == CLD_KILLED || si.si_code == CLD_DUMPED ? si.si_status : 0;
}

bool x9p_mworker_wait_exit(struct x9p_mworker *w, int timeout_ms)
{
	gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

	while (!w->exited && g_get_monotonic_time() < end)
		if (!g_main_context_iteration(NULL, FALSE))
			g_usleep(10000);
	return w->exited;
}

void x9p_mworker_kill(struct x9p_mworker *w)
{
	signal_worker(w, SIGKILL);
}

static void on_child_exit(GPid pid, gint status, gpointer data)
{
	struct x9p_mworker *w = data;

	g_spawn_close_pid(pid);
	w->child_watch = 0;
	w->exited = true;
	if (w->kill_timer) {
		g_source_remove(w->kill_timer);
		w->kill_timer = 0;
	}
	drain_channel(w);
	close_channel(w);
	join_reaper(w);
	/* Its helper has lost its only client: make sure it is gone too. */
	if (w->cfg.helpers)
		g_free(w->cfg.helpers->reap(w->cfg.helpers, 0));
	w->cfg.exited(w->cfg.opaque, w, status);
}

static char **worker_env(void)
{
	char **env = g_get_environ();
#ifdef __SANITIZE_ADDRESS__
	/* LeakSanitizer's exit-time tracer is a process, which the filter
	 * forbids. */
	const char *asan = g_environ_getenv(env, "ASAN_OPTIONS");
	char *v = g_strdup_printf("%s%sdetect_leaks=0", asan ? asan : "", asan ? ":" : "");

	env = g_environ_setenv(env, "ASAN_OPTIONS", v, TRUE);
	g_free(v);
#endif
	return env;
}

struct x9p_mworker *x9p_mworker_start(const struct x9p_mworker_cfg *cfg, GError **err)
{
	struct x9p_mworker *w;
	char *title = g_strdup_printf("%s: worker %s", cfg->daemon, cfg->label);
	char *argv[] = { title, NULL }, **env = worker_env(), *why = NULL;
	int ch[2], pidfd = -1, e;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ch) < 0) {
		pid = -errno;
		why = g_strdup_printf("socketpair: %s", g_strerror(errno));
	} else {
		/* Its channel is descriptor 3 (LINK_FD).  A session and process
		 * group of its own: nothing the monitor's group gets (a
		 * terminal's ^C) reaches it, nothing it aims at its group
		 * reaches the monitor. */
		struct x9p_child c = {
			.name = "x9p-worker",
			.device = cfg->label,
			.path = cfg->program,
			.exec_fd = -1,
			.argv = argv,
			.envp = env,
			.fds = &ch[1],
			.nfds = 1,
			.new_session = true,
		};

		G_STATIC_ASSERT(LINK_FD == 3);
		pid = x9p_child_start(&c, &pidfd, &why);
		close(ch[1]);
		if (pid < 0)
			close(ch[0]);
	}
	g_free(title);
	g_strfreev(env);
	if (pid < 0) {
		g_set_error(err, G_SPAWN_ERROR, G_SPAWN_ERROR_FAILED, "%s", why);
		g_free(why);
		return NULL;
	}
	w = g_new0(struct x9p_mworker, 1);
	w->cfg = *cfg;
	w->label = g_strdup(cfg->label);
	w->cfg.label = w->label;
	w->cfg.daemon = NULL;
	w->cfg.config = NULL;
	w->cfg.after = NULL;
	w->cfg.nafter = 0;
	w->cfg.program = NULL;
	w->pid = pid;
	w->pidfd = pidfd;
	w->ch = ch[0];
	g_mutex_init(&w->send_lock);
	w->child_watch = g_child_watch_add(pid, on_child_exit, w);
	e = send_locked(w, cfg->config);
	for (unsigned i = 0; e >= 0 && i < cfg->nafter; i++)
		e = send_locked(w, cfg->after[i]);
	if (e < 0) {
		/* It exits when it gets no configuration; its end is reported. */
		g_warning("worker %s (pid %d): cannot send its configuration: %s", w->label,
			  (int)pid, g_strerror(-e));
		close_channel(w);
		return w;
	}
	g_unix_set_fd_nonblocking(w->ch, TRUE, NULL);
	w->ch_src = g_unix_fd_source_new(w->ch, G_IO_IN | G_IO_HUP | G_IO_ERR);
	g_source_set_callback(w->ch_src, G_SOURCE_FUNC(on_message), w, NULL);
	g_source_attach(w->ch_src, NULL);
	return w;
}

static gboolean kill_late(gpointer data)
{
	struct x9p_mworker *w = data;

	w->kill_timer = 0;
	if (!w->exited) {
		g_warning("worker %s (pid %d) did not stop; killing it", w->label, (int)w->pid);
		signal_worker(w, SIGKILL);
	}
	return G_SOURCE_REMOVE;
}

void x9p_mworker_terminate(struct x9p_mworker *w, unsigned grace_s)
{
	if (w->exited)
		return;
	signal_worker(w, SIGTERM);
	if (!w->kill_timer)
		w->kill_timer = g_timeout_add_seconds(grace_s, kill_late, w);
}

void x9p_mworker_free(struct x9p_mworker *w)
{
	if (!w)
		return;
	if (!w->exited) {
		/* Only at the monitor's own exit: nothing may outlive it. */
		signal_worker(w, SIGKILL);
		waitpid(w->pid, NULL, 0);
		if (w->child_watch)
			g_source_remove(w->child_watch);
	}
	if (w->kill_timer)
		g_source_remove(w->kill_timer);
	close_channel(w);
	join_reaper(w);
	if (w->pidfd >= 0)
		close(w->pidfd);
	g_mutex_clear(&w->send_lock);
	g_free(w->label);
	g_free(w);
}
