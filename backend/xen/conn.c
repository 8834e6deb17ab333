// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * One connection of a device: reads the frontend's ring keys, maps the
 * interface and data pages, binds the event channels, opens the engine
 * session and starts one I/O thread per ring; and the reverse.
 *
 * Everything read from the frontend's XenStore directory or its interface
 * page is validated before use: num-rings within what we advertised,
 * ring_order read once and within 1..X9P_XEN_MAX_RING_ORDER, grant
 * references copied out of the page before they are mapped.
 */
#define G_LOG_DOMAIN "x9p-xen"

#include <errno.h>
#include <stdarg.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "xen/xen-int.h"

#define XCONN_ERROR (g_quark_from_static_string("x9p-xen-conn"))

static bool conn_err(GError **err, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static bool conn_err(GError **err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	*err = g_error_new_valist(XCONN_ERROR, 0, fmt, ap);
	va_end(ap);
	return false;
}

static bool read_ring_keys(struct xmgr *m, struct xdev *d, unsigned i, uint32_t *ref,
			   uint32_t *port, GError **err)
{
	char *sref = xm_get(m, XBT_NULL, "%s/ring-ref%u", d->fe, i);
	char *sport = xm_get(m, XBT_NULL, "%s/event-channel-%u", d->fe, i);
	uint64_t v1, v2;
	bool ok = xm_uint(sref, UINT32_MAX, &v1) && xm_uint(sport, UINT32_MAX, &v2);

	if (ok) {
		*ref = (uint32_t)v1;
		*port = (uint32_t)v2;
	} else {
		conn_err(err, "frontend key ring-ref%u or event-channel-%u is missing or not a "
			 "number", i, i);
	}
	g_free(sref);
	g_free(sport);
	return ok;
}

static bool ring_setup(struct xconn *c, struct xring *r, uint32_t ref, uint32_t port,
		       GError **err)
{
	uint32_t refs[1u << X9P_XEN_MAX_RING_ORDER];
	unsigned order, n;
	xenevtchn_port_or_error_t lp;

	r->wake_fd = -1;
	r->intf = xengnttab_map_grant_ref(c->xgt, c->fe_domid, ref, PROT_READ | PROT_WRITE);
	if (!r->intf)
		return conn_err(err, "ring %u: mapping interface grant %u failed: %s", r->idx,
				ref, g_strerror(errno));
	/* Read once: the frontend can change the page at any time. */
	order = __atomic_load_n(&r->intf->ring_order, __ATOMIC_RELAXED);
	if (order < 1 || order > X9P_XEN_MAX_RING_ORDER)
		return conn_err(err, "ring %u: ring_order %u is outside 1..%u", r->idx, order,
				X9P_XEN_MAX_RING_ORDER);
	n = 1u << order;
	for (unsigned i = 0; i < n; i++)
		refs[i] = __atomic_load_n(&r->intf->ref[i], __ATOMIC_RELAXED);
	r->order = order;
	r->size = XRING_SIZE(order);
	r->data = xengnttab_map_domain_grant_refs(c->xgt, n, c->fe_domid, refs,
						  PROT_READ | PROT_WRITE);
	if (!r->data)
		return conn_err(err, "ring %u: mapping the %u data pages failed: %s", r->idx, n,
				g_strerror(errno));
	r->mapped = true;
	r->in = r->data;
	r->out = r->data + r->size;

	r->xce = xenevtchn_open(NULL, 0);
	if (!r->xce)
		return conn_err(err, "ring %u: opening the event channel device failed: %s",
				r->idx, g_strerror(errno));
	lp = xenevtchn_bind_interdomain(r->xce, c->fe_domid, port);
	if (lp < 0)
		return conn_err(err, "ring %u: binding event channel %u of domain %u failed: %s",
				r->idx, port, c->fe_domid, g_strerror(errno));
	r->port = (evtchn_port_t)lp;
	r->bound = true;
	r->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->wake_fd < 0)
		return conn_err(err, "eventfd: %s", g_strerror(errno));

	/* Our indices start where the interface page says they are. */
	r->out_read = r->out_cons = __atomic_load_n(&r->intf->out_cons, __ATOMIC_RELAXED);
	r->in_prod = __atomic_load_n(&r->intf->in_prod, __ATOMIC_RELAXED);
	return true;
}

static void ring_teardown(struct xconn *c, struct xring *r)
{
	struct xheld *h;

	if (r->bound)
		xenevtchn_unbind(r->xce, r->port);
	if (r->xce)
		xenevtchn_close(r->xce);
	if (r->mapped)
		xengnttab_unmap(c->xgt, r->data, 1u << r->order);
	if (r->intf)
		xengnttab_unmap(c->xgt, r->intf, 1);
	if (r->wake_fd >= 0)
		close(r->wake_fd);
	/* The engine released every payload before its session closed. */
	while ((h = g_queue_pop_head(&r->held)))
		g_free(h);
	g_mutex_clear(&r->cons_lock);
	g_mutex_clear(&r->prod_lock);
	g_cond_clear(&r->space);
}

struct xconn *xconn_new(struct xdev *d, const struct xresume *resume, GError **err)
{
	struct xmgr *m = d->m;
	struct xconn *c = g_new0(struct xconn, 1);
	char *v_version = xm_get(m, XBT_NULL, "%s/version", d->fe);
	char *v_rings = xm_get(m, XBT_NULL, "%s/num-rings", d->fe);
	uint64_t nrings = 0;
	unsigned min_order = X9P_XEN_MAX_RING_ORDER;
	bool ok = false;

	c->dev = xdev_ref(d);
	c->label = g_strdup(d->label);
	c->ctx = m->ctx;
	c->fe_domid = d->domid;
	c->quota = d->quota;
	c->dialect = P9_DIALECT_2000L;
	g_mutex_init(&c->fault_lock);
	for (unsigned i = 0; i < X9P_XEN_MAX_RINGS; i++) {
		c->rings[i].c = c;
		c->rings[i].idx = i;
		c->rings[i].wake_fd = -1;
		g_mutex_init(&c->rings[i].cons_lock);
		g_mutex_init(&c->rings[i].prod_lock);
		g_cond_init(&c->rings[i].space);
		g_queue_init(&c->rings[i].held);
	}

	if (v_version && strcmp(v_version, "1") != 0) {
		conn_err(err, "frontend protocol version '%s' is not 1", v_version);
		goto out;
	}
	if (!xm_uint(v_rings, m->max_rings, &nrings) || nrings < 1) {
		conn_err(err, "frontend num-rings '%s' is not within 1..%u",
			 v_rings ? v_rings : "(missing)", m->max_rings);
		goto out;
	}
	c->nrings = (unsigned)nrings;
	c->xgt = xengnttab_open(NULL, 0);
	if (!c->xgt) {
		conn_err(err, "opening the grant table device failed: %s", g_strerror(errno));
		goto out;
	}
	for (unsigned i = 0; i < c->nrings; i++) {
		uint32_t ref, port;

		if (!read_ring_keys(m, d, i, &ref, &port, err) ||
		    !ring_setup(c, &c->rings[i], ref, port, err))
			goto out;
		min_order = MIN(min_order, c->rings[i].order);
	}
	/* A message must fit whole into one direction of the smallest ring. */
	c->max_msize = XRING_SIZE(min_order);
	c->session = x9p_session_new(d->srv, &xring_ops, c, c->max_msize, c->label);
	if (resume) {
		x9p_session_resume(c->session, resume->dialect, resume->msize);
		g_atomic_int_set(&c->dialect, resume->dialect);
	}
	for (unsigned i = 0; i < c->nrings; i++) {
		char *name = g_strdup_printf("x9p-%s-r%u", c->label, i);

		c->rings[i].thread = g_thread_new(name, xring_thread, &c->rings[i]);
		g_free(name);
	}
	g_info("%s: connected: %u ring%s of order %u (msize up to %u)", c->label, c->nrings,
	       c->nrings == 1 ? "" : "s", min_order, c->max_msize);
	ok = true;
out:
	g_free(v_version);
	g_free(v_rings);
	if (!ok) {
		xconn_free(c);
		return NULL;
	}
	return c;
}

/* Sets *flag (dead or stopping) and waits for the ring threads to see it. */
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

void xconn_free(struct xconn *c)
{
	if (!c)
		return;
	stop_rings(c, &c->dead);
	/* Cancels what is in flight; replies fail fast now that we are dead. */
	x9p_session_close(c->session);
	for (unsigned i = 0; i < X9P_XEN_MAX_RINGS; i++)
		ring_teardown(c, &c->rings[i]);
	if (c->xgt)
		xengnttab_close(c->xgt);
	g_mutex_clear(&c->fault_lock);
	xdev_unref(c->dev);
	g_free(c->label);
	g_free(c);
}

/* In-flight requests get this long to finish at a handover, then this
 * long more once interrupted. */
#define HANDOVER_DRAIN_US (5 * G_TIME_SPAN_SECOND)
#define HANDOVER_INTERRUPT_US (2 * G_TIME_SPAN_SECOND)

void xconn_handover(struct xconn *c)
{
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
	g_message("%s: handed over: left connected for the next x9p-backend", c->label);
	xconn_free(c);
}

struct version_note {
	struct xdev *dev;
	struct xconn *conn;
	enum p9_dialect dialect;
	uint32_t msize;
};

static gboolean version_in_main(gpointer p)
{
	struct version_note *n = p;

	xdev_record_session(n->dev, n->conn, n->dialect, n->msize);
	xdev_unref(n->dev);
	g_free(n);
	return G_SOURCE_REMOVE;
}

void xconn_note_version(struct xconn *c, enum p9_dialect d, uint32_t msize)
{
	struct version_note *n = g_new0(struct version_note, 1);

	n->dev = xdev_ref(c->dev);
	n->conn = c;
	n->dialect = d;
	n->msize = msize;
	xm_in_main(c->ctx, version_in_main, n);
}

struct fault_note {
	struct xdev *dev;
	struct xconn *conn;
	char *why;
};

static gboolean fault_in_main(gpointer p)
{
	struct fault_note *n = p;

	xdev_on_fault(n->dev, n->conn, n->why);
	xdev_unref(n->dev);
	g_free(n->why);
	g_free(n);
	return G_SOURCE_REMOVE;
}

void xconn_fault(struct xconn *c, const char *fmt, ...)
{
	struct fault_note *n;
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
	g_atomic_int_set(&c->dead, 1);
	for (unsigned i = 0; i < c->nrings; i++)
		xring_wake(&c->rings[i]);
	n = g_new0(struct fault_note, 1);
	n->dev = xdev_ref(c->dev);
	n->conn = c;
	n->why = why;
	xm_in_main(c->ctx, fault_in_main, n);
}
