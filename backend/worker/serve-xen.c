// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A worker of the Xen role: one 9pfs device connection (see xen-rings.h).
 *
 * Before the lockdown (x9p_worker_xen_prepare), while the worker still has
 * the monitor's privileges: open gntdev, map each ring's interface page
 * and data pages (grant references copied out of the page before they are
 * mapped, ring_order read once and checked), open one evtchn handle per
 * ring restricted to the frontend's domain (IOCTL_EVTCHN_RESTRICT_DOMID)
 * and bind its port.  In a PV dom0 only the process that mapped grants
 * can use them, so this cannot happen in the monitor.  After the lockdown
 * the worker's filter refuses every gntdev and evtchn ioctl but
 * IOCTL_EVTCHN_NOTIFY: it can neither map another grant nor bind another
 * port.
 *
 * Then (x9p_worker_serve_xen): the engine session (resumed when the
 * monitor says a previous daemon negotiated one), one I/O thread per ring,
 * READY.  SIGTERM is a handover: no more requests are taken, those in
 * flight get 5 s (2 s more once interrupted), the consumer indexes are
 * published and the worker exits 0, leaving the rings Connected for the
 * next daemon.  The kernel unmaps and unbinds when the worker exits.
 */
#define G_LOG_DOMAIN "x9p-xen"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <glib-unix.h>

#include "journal/journal.h"
#include "proxy.h"
#include "worker/serve.h"
#include "worker/xen-rings.h"

/* In-flight requests get this long to finish at a handover, then this
 * long more once interrupted. */
#define HANDOVER_DRAIN_US (5 * G_TIME_SPAN_SECOND)
#define HANDOVER_INTERRUPT_US (2 * G_TIME_SPAN_SECOND)

static struct xconn *conn;
static struct x9p_wlink *mlink;
static GMainLoop *loop;

static bool fail(char **why, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static bool fail(char **why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	*why = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	return false;
}

static bool ring_setup(struct xconn *c, struct xring *r, uint32_t ref, uint32_t port,
		       char **why)
{
	uint32_t refs[1u << X9P_XEN_MAX_RING_ORDER];
	unsigned order, n;
	xenevtchn_port_or_error_t lp;

	r->intf = xengnttab_map_grant_ref(c->xgt, c->fe_domid, ref, PROT_READ | PROT_WRITE);
	if (!r->intf)
		return fail(why, "ring %u: mapping interface grant %u failed: %s", r->idx, ref,
			    g_strerror(errno));
	/* Read once: the frontend can change the page at any time. */
	order = __atomic_load_n(&r->intf->ring_order, __ATOMIC_RELAXED);
	if (order < 1 || order > X9P_XEN_MAX_RING_ORDER)
		return fail(why, "ring %u: ring_order %u is outside 1..%u", r->idx, order,
			    X9P_XEN_MAX_RING_ORDER);
	n = 1u << order;
	for (unsigned i = 0; i < n; i++)
		refs[i] = __atomic_load_n(&r->intf->ref[i], __ATOMIC_RELAXED);
	r->order = order;
	r->size = XRING_SIZE(order);
	r->data = xengnttab_map_domain_grant_refs(c->xgt, n, c->fe_domid, refs,
						  PROT_READ | PROT_WRITE);
	if (!r->data)
		return fail(why, "ring %u: mapping the %u data pages failed: %s", r->idx, n,
			    g_strerror(errno));
	r->mapped = true;
	r->in = r->data;
	r->out = r->data + r->size;

	r->xce = xenevtchn_open(NULL, 0);
	if (!r->xce)
		return fail(why, "ring %u: opening the event channel device failed: %s", r->idx,
			    g_strerror(errno));
	/* This handle binds nothing but the frontend's ports, ever. */
	if (xenevtchn_restrict(r->xce, (domid_t)c->fe_domid) < 0)
		return fail(why, "ring %u: restricting the event channel handle to domain %u "
			    "failed: %s", r->idx, c->fe_domid, g_strerror(errno));
	lp = xenevtchn_bind_interdomain(r->xce, c->fe_domid, port);
	if (lp < 0)
		return fail(why, "ring %u: binding event channel %u of domain %u failed: %s",
			    r->idx, port, c->fe_domid, g_strerror(errno));
	r->port = (evtchn_port_t)lp;
	r->bound = true;
	r->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->wake_fd < 0)
		return fail(why, "eventfd: %s", g_strerror(errno));
	/* Our indices start where the interface page says they are. */
	r->out_read = r->out_cons = __atomic_load_n(&r->intf->out_cons, __ATOMIC_RELAXED);
	r->in_prod = __atomic_load_n(&r->intf->in_prod, __ATOMIC_RELAXED);
	return true;
}

/* "ring REF PORT" (checked by the monitor; checked again: it is cheap). */
static bool parse_ring(const char *s, uint32_t *ref, uint32_t *port)
{
	unsigned long long a, b;
	int end = 0;

	if (sscanf(s, "ring %llu %llu%n", &a, &b, &end) != 2 || s[end] || a > UINT32_MAX ||
	    b > UINT32_MAX)
		return false;
	*ref = (uint32_t)a;
	*port = (uint32_t)b;
	return true;
}

static void start_recording(struct xconn *c, const struct mw_msg *cfg, bool restored)
{
	unsigned at = mw_cf_fd_at(cfg, MW_CF_RECORD);
	int fd[2] = { cfg->fds[at], cfg->fds[at + 1] };
	char *options;

	c->rec = x9p_rec_new(fd, (uint64_t)cfg->u[MW_CF_RECORD_MIB] << 20,
			     cfg->u[MW_CF_FLAGS] & MW_CF_RECORD_REDACT);
	/* Taken over: the configuration no longer closes them. */
	((struct mw_msg *)cfg)->fds[at] = ((struct mw_msg *)cfg)->fds[at + 1] = -1;
	options = x9p_rec_options("xen", c->nrings, x9p_secmodel_name(cfg->u[MW_CF_MODEL]),
				  cfg->u[MW_CF_FLAGS] & MW_CF_READONLY, cfg->u[MW_CF_MAX_FILES],
				  cfg->u[MW_CF_MAX_SPACE_MIB],
				  cfg->u[MW_CF_FLAGS] & MW_CF_AUTO_DELETE);
	x9p_rec_worker(c->rec, c->label, options, restored);
	g_free(options);
	for (unsigned i = 0; i < c->nrings; i++) {
		struct xen_9pfs_data_intf *in = c->rings[i].intf;

		x9p_rec_ring(c->rec, i, c->rings[i].order,
			     __atomic_load_n(&in->in_cons, __ATOMIC_RELAXED),
			     __atomic_load_n(&in->in_prod, __ATOMIC_RELAXED),
			     __atomic_load_n(&in->out_cons, __ATOMIC_RELAXED),
			     __atomic_load_n(&in->out_prod, __ATOMIC_RELAXED));
	}
}

bool x9p_worker_xen_prepare(const struct mw_msg *cfg, struct x9p_wlink *link,
			    struct x9p_journal *journal, bool restored, char **why)
{
	struct xconn *c = g_new0(struct xconn, 1);
	unsigned min_order = X9P_XEN_MAX_RING_ORDER;

	conn = c;
	c->label = g_strdup(cfg->s[MW_CF_S_LABEL]);
	c->fe_domid = cfg->u[MW_CF_DOMID];
	c->nrings = cfg->u[MW_CF_N_ENDPOINTS];
	c->dialect = P9_DIALECT_2000L;
	g_mutex_init(&c->fault_lock);
	g_mutex_init(&c->tag_lock);
	for (unsigned i = 0; i < X9P_XEN_MAX_RINGS; i++) {
		c->rings[i].c = c;
		c->rings[i].idx = i;
		c->rings[i].wake_fd = -1;
		g_mutex_init(&c->rings[i].cons_lock);
		g_mutex_init(&c->rings[i].prod_lock);
		g_cond_init(&c->rings[i].space);
		g_queue_init(&c->rings[i].held);
	}
	if (c->nrings < 1 || c->nrings > X9P_XEN_MAX_RINGS)
		return fail(why, "%u rings", c->nrings);
	c->xgt = xengnttab_open(NULL, 0);
	if (!c->xgt)
		return fail(why, "opening the grant table device failed: %s", g_strerror(errno));
	for (unsigned i = 0; i < c->nrings; i++) {
		uint32_t ref, port;

		if (!parse_ring(cfg->s[MW_CF_S_ENDPOINT0 + i], &ref, &port))
			return fail(why, "ring %u: malformed", i);
		if (!ring_setup(c, &c->rings[i], ref, port, why))
			return false;
		min_order = MIN(min_order, c->rings[i].order);
	}
	/* A message must fit whole into one direction of the smallest ring. */
	c->max_msize = XRING_SIZE(min_order);
	if (cfg->u[MW_CF_FLAGS] & MW_CF_RECORD)
		start_recording(c, cfg, restored);
	mlink = link;
	c->journal = journal;
	c->restoring = restored;
	if (journal)
		c->tag_held = g_new0(struct xheld *, X9P_JOURNAL_TAGS);
	return true;
}

struct x9p_fs *x9p_worker_xen_wrap_fs(struct x9p_fs *fs, const struct mw_msg *cfg)
{
	struct xq_limits lim = {
		.max_files = cfg->u[MW_CF_MAX_FILES],
		.max_space = (uint64_t)cfg->u[MW_CF_MAX_SPACE_MIB] << 20,
		.auto_delete = cfg->u[MW_CF_FLAGS] & MW_CF_AUTO_DELETE,
	};

	if (!lim.max_files && !lim.max_space)
		return fs;
	return x9p_quota_wrap(fs, &lim, cfg->s[MW_CF_S_LABEL], &conn->quota);
}

void xconn_note_version(struct xconn *c, enum p9_dialect d, uint32_t msize)
{
	struct mw_msg m;

	mw_init(&m, MW_SESSION, 0);
	m.u[MW_SS_DIALECT] = (uint32_t)d;
	m.u[MW_SS_MSIZE] = msize;
	if (x9p_wlink_send(mlink, &m) < 0)
		g_warning("%s: cannot tell the monitor about the session", c->label);
	mw_clear(&m);
}

/* Sets *flag (dead or stopping) and wakes the ring threads. */
static void signal_rings(struct xconn *c, gint *flag)
{
	g_atomic_int_set(flag, 1);
	for (unsigned i = 0; i < c->nrings; i++)
		if (c->rings[i].thread)
			xring_wake(&c->rings[i]);
}

static void stop_rings(struct xconn *c, gint *flag)
{
	signal_rings(c, flag);
	for (unsigned i = 0; i < c->nrings; i++) {
		if (c->rings[i].thread)
			g_thread_join(c->rings[i].thread);
		c->rings[i].thread = NULL;
	}
}

void xconn_fault(struct xconn *c, const char *fmt, ...)
{
	struct mw_msg m;
	va_list ap;
	char *why;
	bool first;

	va_start(ap, fmt);
	why = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_mutex_lock(&c->fault_lock);
	first = !c->faulted;
	c->faulted = true;
	g_mutex_unlock(&c->fault_lock);
	if (!first || g_atomic_int_get(&c->dead)) {
		g_free(why);
		return;
	}
	g_warning("%s: frontend fault: %s; closing the device", c->label, why);
	signal_rings(c, &c->dead);
	/* The monitor closes the device and ends this worker. */
	mw_init(&m, MW_FAULT, 0);
	mw_add_str(&m, why);
	x9p_wlink_send(mlink, &m);
	mw_clear(&m);
	g_free(why);
}

static gboolean on_term(gpointer data)
{
	struct xconn *c = conn;
	bool drained;

	/*
	 * No more requests; the replies of what was taken go out on the rings
	 * as usual.  The ring threads are joined only after the drain: one of
	 * them may itself be waiting for room for a reply (an Rflush) or for
	 * the requests before a Tversion.
	 */
	signal_rings(c, &c->stopping);
	drained = x9p_session_drain(c->session, HANDOVER_DRAIN_US, HANDOVER_INTERRUPT_US);
	if (!drained) {
		/* A guest that does not take its replies (its reply ring is full)
		 * loses them, and only its own: the deadline is per device. */
		g_warning("%s: requests still in flight at the handover are lost (is the guest "
			  "reading its reply ring?); the guest waits for them until it is killed "
			  "or the share is unmounted", c->label);
		signal_rings(c, &c->dead);
	}
	stop_rings(c, &c->stopping);
	for (unsigned i = 0; i < c->nrings; i++)
		xring_publish_cons(&c->rings[i]);
	/* After the last reply the drain let out. */
	if (c->rec)
		x9p_rec_end(c->rec, X9P_REC_END_STOP);
	g_main_loop_quit(loop);
	return G_SOURCE_REMOVE;
}

int x9p_worker_serve_xen(struct x9p_wctx *w)
{
	struct xconn *c = conn;
	uint32_t resume = w->c->u[MW_CF_RESUME];

	loop = g_main_loop_new(NULL, FALSE);
	g_unix_signal_add(SIGTERM, on_term, NULL);
	c->session = x9p_session_new(w->engine, &xring_ops, c, c->max_msize, c->label);
	if (c->journal)
		x9p_session_set_journal(c->session, c->journal);
	if (resume) {
		x9p_session_resume(c->session, (enum p9_dialect)(resume - 1),
				   w->c->u[MW_CF_RESUME_MSIZE]);
		g_atomic_int_set(&c->dialect, (gint)(resume - 1));
		if (c->restoring)
			xring_restore(c);
	}
	for (unsigned i = 0; i < c->nrings; i++) {
		char *name = g_strdup_printf("x9p-ring%u", i);

		c->rings[i].thread = g_thread_new(name, xring_thread, &c->rings[i]);
		g_free(name);
	}
	g_info("%s: connected: %u ring%s (msize up to %u)", c->label, c->nrings,
	       c->nrings == 1 ? "" : "s", c->max_msize);
	w->gnttab = c->xgt;
	w->evtchn = c->rings[0].xce;
	w->domid = c->fe_domid;
	w->restored = c->restoring;
	if (x9p_worker_announce(w))
		g_main_loop_run(loop);
	/* Handed over (or the monitor is gone): leave the rings as they are;
	 * exiting unmaps and unbinds. */
	stop_rings(c, &c->dead);
	x9p_session_close(c->session);
	x9p_rec_free(c->rec);
	c->rec = NULL;
	g_main_loop_unref(loop);
	return 0;
}
