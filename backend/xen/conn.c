// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * One connection of a device, on the monitor's side: the frontend's keys
 * (protocol version, num-rings, ring-refN, event-channel-N) are read and
 * checked here, and one worker (backend/worker/serve-xen.c) maps the
 * rings, binds the event channels, confines itself and serves them.  The
 * monitor never maps a guest page nor parses a ring.
 *
 * The worker reports each Rversion (SESSION: recorded for a successor to
 * resume) and a broken ring (FAULT: the device is closed); its death is a
 * fault of its device only.
 */
#define G_LOG_DOMAIN "x9p-xen"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "monitor/confine.h"
#include "privsep/mw.h"
#include "monitor/record-opts.h"
#include "monitor/worker.h"
#include "xen/xen-int.h"

/* Mapping, binding, the helper's start and the engine: a worker that is
 * not serving after this long has failed. */
#define READY_TIMEOUT_MS 30000
/* A handover drains for 5 s, then 2 s more once interrupted. */
#define HANDOVER_WAIT_MS 15000
/* Largest msize a ring can carry (order X9P_XEN_MAX_RING_ORDER). */
#define MAX_RING_MSIZE (1u << (X9P_XEN_MAX_RING_ORDER + 12 - 1))

struct xconn {
	struct xdev *dev;            /* ref */
	char *label;
	struct x9p_mworker *w;
	struct x9p_helper_launcher *helpers;   /* its own; NULL: synthetic */
	bool ready;                  /* main thread */
	uint32_t session[2];         /* main thread: last recorded dialect, msize */
	unsigned bad_notes;
	char *why;                   /* main thread: the worker's FAULT text */
	GMutex lock;
	GCond cond;
	bool exited;                 /* lock */
	int status;                  /* lock: its wait status */
	bool ending;                 /* lock: freeing or handing over: no fault report */
	bool abandoned;              /* lock: xconn_new gave up; exited() frees */
};

static bool conn_err(GError **err, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static bool conn_err(GError **err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	*err = g_error_new_valist(XCONN_ERROR, XCONN_FAILED, fmt, ap);
	va_end(ap);
	return false;
}

/* A worker's text, made printable for logs and XenStore. */
static char *printable(const char *s)
{
	char *t = g_strdup(s);

	for (char *p = t; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	return t;
}

static void conn_destroy(struct xconn *c)
{
	x9p_mworker_free(c->w);
	if (c->helpers)
		c->helpers->destroy(c->helpers);
	xdev_unref(c->dev);
	g_free(c->label);
	g_free(c->why);
	g_mutex_clear(&c->lock);
	g_cond_clear(&c->cond);
	g_free(c);
}

static void on_note(void *opaque, struct x9p_mworker *w, const struct mw_msg *m)
{
	struct xconn *c = opaque;
	enum p9_dialect dl = (enum p9_dialect)m->u[MW_SS_DIALECT];

	if (m->type == MW_KEEP_FD || m->type == MW_DROP_FD) {
		xdev_kept_fd(c->dev, c, m);
		return;
	}
	if (m->type == MW_SESSION) {
		if (!p9_dialect_name(dl) || m->u[MW_SS_MSIZE] < 512 ||
		    m->u[MW_SS_MSIZE] > MAX_RING_MSIZE) {
			if (c->bad_notes++ == 0)
				g_warning("%s: the worker reported a session that cannot be",
					  c->label);
			return;
		}
		/* A XenStore write only when it changes: a worker cannot flood. */
		if (c->session[0] != 1 + (uint32_t)dl || c->session[1] != m->u[MW_SS_MSIZE]) {
			c->session[0] = 1 + (uint32_t)dl;
			c->session[1] = m->u[MW_SS_MSIZE];
			xdev_record_session(c->dev, c, dl, m->u[MW_SS_MSIZE]);
		}
		return;
	}
	g_free(c->why);
	c->why = printable(m->ns ? m->s[0] : "(no reason given)");
	if (c->ready)
		xdev_on_fault(c->dev, c, c->why);
}

static void on_exited(void *opaque, struct x9p_mworker *w, int status)
{
	struct xconn *c = opaque;
	bool report, abandoned;

	g_mutex_lock(&c->lock);
	c->exited = true;
	c->status = status;
	report = !c->ending && !c->abandoned && c->ready;
	abandoned = c->abandoned;
	g_cond_broadcast(&c->cond);
	g_mutex_unlock(&c->lock);
	if (abandoned) {
		conn_destroy(c);
	} else if (report) {
		char *why = WIFSIGNALED(status) ?
			g_strdup_printf("x9p-worker died (killed by signal %d)", WTERMSIG(status)) :
			g_strdup_printf("x9p-worker ended (exit status %d)", WEXITSTATUS(status));

		xdev_on_worker_end(c->dev, c, status, why);
		g_free(why);
	}
}

/* CONFIG of the device's worker. */
static bool worker_config(struct xdev *d, const struct xresume *resume, struct mw_msg *cfg,
			  GError **err)
{
	struct xmgr *m = d->m;
	char *v_version = xm_get(m, XBT_NULL, "%s/version", d->fe);
	char *v_rings = xm_get(m, XBT_NULL, "%s/num-rings", d->fe);
	uint64_t nrings = 0;
	bool ok = false;

	mw_init(cfg, MW_CONFIG, 0);
	if (v_version && strcmp(v_version, "1") != 0) {
		conn_err(err, "frontend protocol version '%s' is not 1", v_version);
		goto out;
	}
	if (!xm_uint(v_rings, m->max_rings, &nrings) || nrings < 1) {
		conn_err(err, "frontend num-rings '%s' is not within 1..%u",
			 v_rings ? v_rings : "(missing)", m->max_rings);
		goto out;
	}
	cfg->u[MW_CF_ROLE] = MW_ROLE_XEN;
	x9p_confine_config(cfg);
	cfg->u[MW_CF_ATTACK] = (uint32_t)atoi(g_getenv("X9P_WORKER_ATTACK") ?: "0");
	cfg->u[MW_CF_WORKERS] = m->workers;
	cfg->u[MW_CF_MAX_FIDS] = m->max_fids;
	cfg->u[MW_CF_MAX_OPEN_FILES] = d->max_open_files ? (uint32_t)d->max_open_files :
							   m->max_open_files;
	cfg->u[MW_CF_MAX_LOCKS] = m->max_locks;
	cfg->u[MW_CF_MAX_XATTR_BYTES] = m->max_xattr_bytes;
	cfg->u[MW_CF_FS] = m->synthetic ? MW_FS_SYNTH : MW_FS_PROXY;
	cfg->u[MW_CF_MODEL] = d->model;
	cfg->u[MW_CF_MULTIDEVS] = m->multidevs;
	cfg->u[MW_CF_MAX_NODES] = m->max_nodes;
	cfg->u[MW_CF_FLAGS] = MW_CF_KEEP_FIDS | (m->no_setid ? MW_CF_NO_SETID : 0) |
			      (d->auto_delete ? MW_CF_AUTO_DELETE : 0);
	cfg->u[MW_CF_DOMID] = d->domid;
	cfg->u[MW_CF_RESUME] = resume ? 1 + (uint32_t)resume->dialect : 0;
	cfg->u[MW_CF_RESUME_MSIZE] = resume ? resume->msize : 0;
	cfg->u[MW_CF_MAX_FILES] = (uint32_t)d->max_files;
	cfg->u[MW_CF_MAX_SPACE_MIB] = (uint32_t)d->max_space_mib;
	cfg->u[MW_CF_N_ENDPOINTS] = (uint32_t)nrings;
	mw_add_str(cfg, d->label);
	mw_add_str(cfg, m->synth_spec);
	mw_add_str(cfg, d->tag);
	for (unsigned i = 0; i < nrings; i++) {
		char *sref = xm_get(m, XBT_NULL, "%s/ring-ref%u", d->fe, i);
		char *sport = xm_get(m, XBT_NULL, "%s/event-channel-%u", d->fe, i);
		uint64_t ref, port;
		bool good = xm_uint(sref, UINT32_MAX, &ref) && xm_uint(sport, UINT32_MAX, &port);

		g_free(sref);
		g_free(sport);
		if (!good) {
			conn_err(err, "frontend key ring-ref%u or event-channel-%u is missing or "
				 "not a number", i, i);
			goto out;
		}
		sref = g_strdup_printf("ring %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT, ref, port);
		mw_add_str(cfg, sref);
		g_free(sref);
	}
	if (xdev_journal(d, resume != NULL) >= 0) {
		cfg->u[MW_CF_FLAGS] |= MW_CF_JOURNAL;
		mw_add_fd(cfg, d->journal_fd);
	}
	x9p_record_config(cfg, d->label, resume != NULL);
	if (m->trace_fd >= 0) {
		cfg->u[MW_CF_FLAGS] |= MW_CF_TRACE;
		mw_add_fd(cfg, m->trace_fd);
	}
	ok = true;
out:
	g_free(v_version);
	g_free(v_rings);
	return ok;
}

/* Forgets the configuration's descriptors: the device's, which it keeps,
 * and the recording's, opened for this worker alone. */
static void config_clear(struct mw_msg *cfg)
{
	x9p_record_config_close(cfg);
	mw_clear_keep_fds(cfg);
}

struct xconn *xconn_new(struct xdev *d, const struct xresume *resume, GError **err)
{
	struct xconn *c;
	struct mw_msg cfg;
	struct x9p_mworker_cfg wc = {
		.daemon = "x9p-backend",
		.label = d->label,
		.program = d->m->worker,
		.config = &cfg,
		.exited = on_exited,
		.note = on_note,
	};
	struct x9p_helper_launcher *helpers;
	GPtrArray *kept;
	bool ready;

	if (!worker_config(d, resume, &cfg, err)) {
		config_clear(&cfg);
		return NULL;
	}
	/* The open files a previous worker of this connection left to keep. */
	kept = xdev_kept_fd_msgs(d);
	cfg.u[MW_CF_KEPT_FDS] = kept->len;
	wc.after = (struct mw_msg *const *)kept->pdata;
	wc.nafter = kept->len;
	if (!xdev_helpers(d, &helpers, err)) {
		config_clear(&cfg);
		g_ptr_array_unref(kept);
		return NULL;
	}
	c = g_new0(struct xconn, 1);
	c->dev = xdev_ref(d);
	c->label = g_strdup(d->label);
	c->helpers = helpers;
	g_mutex_init(&c->lock);
	g_cond_init(&c->cond);
	wc.opaque = c;
	wc.helpers = helpers;
	c->w = x9p_mworker_start(&wc, err);
	config_clear(&cfg);
	g_ptr_array_unref(kept);
	if (!c->w) {
		conn_destroy(c);
		return NULL;
	}
	d->starting = c;
	ready = x9p_mworker_wait_ready(c->w, READY_TIMEOUT_MS);
	d->starting = NULL;
	if (!ready) {
		int sig = c->why ? -1 : x9p_mworker_end_signal(c->w, 1000);

		if (c->why)
			conn_err(err, "%s", c->why);
		else if (sig == SIGKILL)
			g_set_error(err, XCONN_ERROR, XCONN_KILLED,
				    "its worker was killed before serving the rings");
		else
			g_set_error(err, XCONN_ERROR, XCONN_ENDED,
				    "its worker ended before serving the rings");
		g_mutex_lock(&c->lock);
		c->abandoned = true;
		if (!c->exited) {
			/* Freed by on_exited once the kill is reported. */
			x9p_mworker_kill(c->w);
			g_mutex_unlock(&c->lock);
			return NULL;
		}
		g_mutex_unlock(&c->lock);
		conn_destroy(c);
		return NULL;
	}
	c->ready = true;
	g_info("%s: connected: worker pid %d serves the rings", c->label,
	       (int)x9p_mworker_pid(c->w));
	return c;
}

void xconn_free(struct xconn *c)
{
	if (!c)
		return;
	g_mutex_lock(&c->lock);
	c->ending = true;
	if (!c->exited)
		x9p_mworker_kill(c->w);
	while (!c->exited)
		g_cond_wait(&c->cond, &c->lock);
	g_mutex_unlock(&c->lock);
	conn_destroy(c);
}

void xconn_handover_begin(struct xconn *c)
{
	g_mutex_lock(&c->lock);
	c->ending = true;
	g_mutex_unlock(&c->lock);
	x9p_mworker_terminate(c->w, HANDOVER_WAIT_MS / 1000);
}

void xconn_handover(struct xconn *c)
{
	xconn_handover_begin(c);
	if (!x9p_mworker_wait_exit(c->w, HANDOVER_WAIT_MS + 2000)) {
		g_warning("%s: the worker did not hand over in time; killed", c->label);
		x9p_mworker_kill(c->w);
		x9p_mworker_wait_exit(c->w, 5000);
	}
	if (WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0)
		g_message("%s: handed over: left connected for the next x9p-backend", c->label);
	conn_destroy(c);
}
