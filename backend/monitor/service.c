// SPDX-License-Identifier: GPL-2.0-or-later
/* A service of the monitor; see service.h. */
#define G_LOG_DOMAIN "x9p-backend"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs/helper-spawn.h"
#include "monitor/record-opts.h"
#include "monitor/socket-opts.h"
#include "monitor/service.h"
#include "monitor/session-keep.h"
#include "monitor/worker.h"

#define BACKOFF_MAX_MS 5000
#define YOUNG_US (5 * G_USEC_PER_SEC)
#define STOP_GRACE_S 10

struct x9p_mservice {
	struct x9p_mservice_cfg cfg;
	struct x9p_sock_endpoint *eps;
	unsigned n;
	bool has_conn;              /* an endpoint is an fd: connection */
	struct mw_msg config;
	char *program;
	char *label;
	struct x9p_mworker *w;
	bool was_ready;
	bool stopping;
	gint64 started;
	unsigned delay_ms;
	guint restart_timer;
	gint64 kill_minute;         /* start of the minute kill_restarts counts */
	unsigned kill_restarts;
	int journal_fd;             /* the session's, for every worker; or -1 */
	struct x9p_kept *kept;
};

static bool start_worker(struct x9p_mservice *s);

static void on_ready(void *opaque, struct x9p_mworker *w)
{
	struct x9p_mservice *s = opaque;
	const char **bound;

	g_info("worker %s (pid %d) is confined and serving", s->label,
	       (int)x9p_mworker_pid(w));
	if (s->was_ready)
		return;
	s->was_ready = true;
	bound = g_new0(const char *, s->n + 1);
	for (unsigned i = 0; i < s->n; i++)
		bound[i] = s->eps[i].bound;
	s->cfg.ready(s->cfg.opaque, bound, s->n);
	g_free(bound);
}

static gboolean restart_cb(gpointer data)
{
	struct x9p_mservice *s = data;

	s->restart_timer = 0;
	start_worker(s);
	return G_SOURCE_REMOVE;
}

static char *status_text(int st)
{
	if (WIFSIGNALED(st))
		return g_strdup_printf("killed by signal %d (%s)", WTERMSIG(st),
				       g_strsignal(WTERMSIG(st)));
	return g_strdup_printf("exit status %d", WEXITSTATUS(st));
}

/* Killed by a signal nobody sends on purpose: a crash, not a stop. */
static bool crashed(int st)
{
	return WIFSIGNALED(st) && WTERMSIG(st) != SIGTERM && WTERMSIG(st) != SIGKILL;
}

/* Killed with SIGKILL, within the minute's allowance. */
static bool killed_restart(struct x9p_mservice *s, int st)
{
	gint64 now = g_get_monotonic_time();

	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
		return false;
	if (now - s->kill_minute > 60 * G_USEC_PER_SEC) {
		s->kill_minute = now;
		s->kill_restarts = 0;
	}
	/* Beyond the allowance, deaths back off like any other. */
	return ++s->kill_restarts <= MWORKER_KILL_RESTARTS;
}

static void on_note(void *opaque, struct x9p_mworker *w, const struct mw_msg *m)
{
	struct x9p_mservice *s = opaque;

	if (s->w == w && s->kept &&
	    (m->type == MW_KEEP_FD || m->type == MW_DROP_FD || m->type == MW_KEEP_DEVICE ||
	     m->type == MW_KEEP_CONN || m->type == MW_DROP_CONN))
		x9p_kept_note(s->kept, m);
}

static void on_exited(void *opaque, struct x9p_mworker *w, int st)
{
	struct x9p_mservice *s = opaque;
	bool clean = WIFEXITED(st) && WEXITSTATUS(st) == 0;
	/* A worker that ends by itself while serving an "fd:" connection ends
	 * with it; with the connection kept, one that is killed does not. */
	bool conn_ends = s->has_conn && !(WIFSIGNALED(st) && x9p_mservice_keeps_conns(s));
	char *text = status_text(st);

	s->w = NULL;
	/* Before any worker served, a worker that fails to start ends the
	 * service (a misconfiguration); one killed from outside does not. */
	if (s->stopping || conn_ends ||
	    (!s->was_ready && !(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL))) {
		/* A worker that crashes while stopping fails the stop too. */
		bool failed = s->stopping ? crashed(st) : !clean;

		if (failed)
			g_warning("worker %s (pid %d) ended: %s", s->label, (int)x9p_mworker_pid(w),
				  text);
		else
			g_info("worker %s (pid %d) ended: %s", s->label, (int)x9p_mworker_pid(w),
			       text);
		x9p_mworker_free(w);
		g_free(text);
		s->cfg.ended(s->cfg.opaque, failed ? 1 : 0);
		return;
	}
	/* Immediately after a long life or a kill; backing off while it dies
	 * young by itself. */
	if (g_get_monotonic_time() - s->started > YOUNG_US || killed_restart(s, st))
		s->delay_ms = 0;
	else
		s->delay_ms = s->delay_ms ? MIN(s->delay_ms * 2, BACKOFF_MAX_MS) : 100;
	g_warning("worker %s (pid %d) died (%s); %s; restarting it%s", s->label,
		  (int)x9p_mworker_pid(w), text,
		  s->journal_fd >= 0 ? "the next one takes its session over" :
				       "its connections are lost",
		  s->delay_ms ? " soon" : "");
	x9p_mworker_free(w);
	g_free(text);
	s->restart_timer = g_timeout_add(s->delay_ms, restart_cb, s);
}

static bool start_worker(struct x9p_mservice *s)
{
	struct x9p_mworker_cfg wc = {
		.daemon = s->cfg.daemon,
		.label = s->label,
		.program = s->program,
		.config = &s->config,
		.helpers = s->cfg.helpers,
		.ready = on_ready,
		.exited = on_exited,
		.note = s->kept ? on_note : NULL,
		.opaque = s,
	};
	GError *err = NULL;
	GPtrArray *kept = NULL;

	/* The open files without a name the previous worker handed over. */
	if (s->kept) {
		kept = x9p_kept_msgs(s->kept);
		s->config.u[MW_CF_KEPT_FDS] = x9p_kept_nfiles(s->kept);
		s->config.u[MW_CF_KEPT_DEVICE] = x9p_kept_has_device(s->kept);
		s->config.u[MW_CF_KEPT_CONNS] = x9p_kept_nconns(s->kept);
		wc.after = (struct mw_msg *const *)kept->pdata;
		wc.nafter = kept->len;
	}
	s->started = g_get_monotonic_time();
	s->w = x9p_mworker_start(&wc, &err);
	if (kept)
		g_ptr_array_unref(kept);
	if (!s->w) {
		g_warning("cannot start worker %s: %s", s->label, err->message);
		g_error_free(err);
		s->delay_ms = s->delay_ms ? MIN(s->delay_ms * 2, BACKOFF_MAX_MS) : 100;
		/* Before the first worker was ready, the caller gives up instead. */
		if (s->was_ready)
			s->restart_timer = g_timeout_add(s->delay_ms, restart_cb, s);
		return false;
	}
	/* A self-attack is tried once, by the first worker only. */
	s->config.u[MW_CF_ATTACK] = 0;
	return true;
}

struct x9p_mservice *x9p_mservice_start(const struct x9p_mservice_cfg *cfg, GError **err)
{
	struct x9p_mservice *s = g_new0(struct x9p_mservice, 1);
	unsigned nfds = 0;
	bool taken = false;

	s->cfg = *cfg;
	s->journal_fd = -1;
	if (cfg->n_addrs == 0 || cfg->n_addrs > MW_MAX_ENDPOINTS) {
		g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			    "between 1 and %d --listen addresses", MW_MAX_ENDPOINTS);
		goto fail;
	}
	s->eps = g_new0(struct x9p_sock_endpoint, cfg->n_addrs);
	for (unsigned i = 0; i < cfg->n_addrs; i++)
		s->eps[i].rfd = s->eps[i].wfd = -1;
	s->config = *cfg->base;
	s->config.ns = 0;
	s->config.nfds = 0;
	for (unsigned i = 0; i < MW_CF_S_ENDPOINT0; i++)
		mw_add_str(&s->config, cfg->base->s[i]);
	for (unsigned i = 0; i < cfg->n_addrs; i++) {
		struct x9p_sock_endpoint *ep = &s->eps[i];
		char *name;

		if (!x9p_sock_endpoint_open(&cfg->addrs[i], x9p_socket_mode(), cfg->allow_remote, ep,
					    err)) {
			g_prefix_error(err, "--listen ");
			goto fail;
		}
		s->n++;
		/* --socket-group: a VMM of that group may connect (with 0660). */
		if (ep->path && x9p_socket_group() != (gid_t)-1 &&
		    chown(ep->path, (uid_t)-1, x9p_socket_group()) < 0) {
			g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno),
				    "--socket-group: %s: %s", ep->path, g_strerror(errno));
			goto fail;
		}
		if (!ep->listening)
			s->has_conn = true;
		name = g_strdup_printf("%s%s %s", ep->family, ep->rfd != ep->wfd ? "2" : "",
				       ep->bound);
		mw_add_str(&s->config, name);
		g_free(name);
		mw_add_fd(&s->config, ep->rfd);
		nfds++;
		if (ep->wfd != ep->rfd) {
			mw_add_fd(&s->config, ep->wfd);
			nfds++;
		}
	}
	if (nfds + (cfg->trace_fd >= 0) + cfg->journal + 2 * cfg->record > MW_MAX_FDS) {
		g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			    "too many descriptors for one worker");
		goto fail;
	}
	s->config.u[MW_CF_N_ENDPOINTS] = s->n;
	s->label = cfg->label ? g_strdup(cfg->label) :
		   s->n == 1 ? g_strdup(s->eps[0].bound) :
			       g_strdup_printf("%s+%u", s->eps[0].bound, s->n - 1);
	if (cfg->journal && (!s->has_conn || cfg->journal_sessions)) {
		/* The previous program's, after a reload; else a new one. */
		s->kept = x9p_kept_from_env(s->label, &s->journal_fd);
		taken = s->journal_fd >= 0;
		if (taken)
			g_message("%s: taking the session over from the previous program", s->label);
		else
			s->journal_fd = x9p_journal_memfd_for(MAX(cfg->journal_sessions, 1u));
		if (s->journal_fd < 0) {
			g_warning("%s: cannot make a session journal (%s): a worker's death will "
				  "cost the guest its session", s->label, g_strerror(errno));
			g_clear_pointer(&s->kept, x9p_kept_free);
		} else {
			/* After the endpoints' descriptors (worker/journal-link.h). */
			s->config.u[MW_CF_FLAGS] |= MW_CF_JOURNAL;
			mw_add_fd(&s->config, s->journal_fd);
		}
	}
	/* Opened once: each worker goes on where the one before stopped. */
	if (cfg->record)
		x9p_record_config(&s->config, s->label, taken);
	if (cfg->trace_fd >= 0) {
		s->config.u[MW_CF_FLAGS] |= MW_CF_TRACE;
		mw_add_fd(&s->config, cfg->trace_fd);
	}
	s->program = x9p_mworker_program();
	if (!start_worker(s)) {
		g_set_error(err, G_SPAWN_ERROR, G_SPAWN_ERROR_FAILED, "cannot start %s",
			    s->program);
		goto fail;
	}
	return s;
fail:
	s->cfg.ended = NULL;
	x9p_mservice_free(s);
	return NULL;
}

bool x9p_mservice_keeps_conns(struct x9p_mservice *s)
{
	if (!s->kept || !s->cfg.journal_sessions)
		return false;
	/* An "fd:" connection the keeper does not hold (it could not be
	 * journaled) would be served again from the middle of its stream. */
	for (unsigned i = 0; i < s->n; i++)
		if (!s->eps[i].listening && !x9p_kept_has_conn(s->kept, s->eps[i].bound))
			return false;
	return true;
}

static void stop(struct x9p_mservice *s, bool kill)
{
	s->stopping = true;
	if (s->restart_timer) {
		g_source_remove(s->restart_timer);
		s->restart_timer = 0;
	}
	if (s->w && kill)
		x9p_mworker_kill(s->w);
	else if (s->w)
		x9p_mworker_terminate(s->w, STOP_GRACE_S);
	else
		s->cfg.ended(s->cfg.opaque, 0);
}

void x9p_mservice_stop(struct x9p_mservice *s)
{
	stop(s, false);
}

void x9p_mservice_stop_for_exec(struct x9p_mservice *s)
{
	/* Killed: an orderly end would end its connections' sessions. */
	stop(s, true);
}

/* The descriptor survives the exec under its number. */
static bool inherit(int fd)
{
	int fl = fd >= 0 ? fcntl(fd, F_GETFD) : -1;

	return fl >= 0 && fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC) == 0;
}

bool x9p_mservice_handover(struct x9p_mservice *s)
{
	if (s->w || !s->kept)
		return false;
	x9p_kept_to_env(s->kept, s->journal_fd);
	for (unsigned i = 0; i < s->n; i++) {
		struct x9p_sock_endpoint *ep = &s->eps[i];
		/* An inherited listening socket goes on in the new program under
		 * the same number, and so does an inherited connection whose
		 * session is kept; the others are made again there. */
		bool same = !strcmp(ep->family, "fd") &&
			    (ep->listening ? ep->path == NULL :
					     x9p_kept_has_conn(s->kept, ep->bound));

		if (same && inherit(ep->rfd) && (ep->wfd == ep->rfd || inherit(ep->wfd))) {
			ep->rfd = ep->wfd = -1;
			continue;
		}
		x9p_sock_endpoint_clear(ep);
	}
	return true;
}

void x9p_mservice_free(struct x9p_mservice *s)
{
	if (!s)
		return;
	if (s->restart_timer)
		g_source_remove(s->restart_timer);
	x9p_mworker_free(s->w);
	if (s->cfg.helpers)
		s->cfg.helpers->destroy(s->cfg.helpers);
	/* The descriptors are the endpoints' (and the caller's trace), but
	 * for the recording's. */
	x9p_record_config_close(&s->config);
	mw_clear_keep_fds(&s->config);
	for (unsigned i = 0; i < s->n; i++)
		x9p_sock_endpoint_clear(&s->eps[i]);
	if (s->journal_fd >= 0)
		close(s->journal_fd);
	x9p_kept_free(s->kept);
	g_free(s->eps);
	g_free(s->program);
	g_free(s->label);
	g_free(s);
}
