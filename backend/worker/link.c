// SPDX-License-Identifier: GPL-2.0-or-later
/* The worker's channel to the monitor and its helper launcher; see link.h. */
#define G_LOG_DOMAIN "x9p-worker"

#include <errno.h>
#include <unistd.h>

#include <glib.h>

#include "worker/link.h"

struct x9p_wlink {
	int fd;
	GMutex lock;
	uint32_t seq;
};

struct remote {
	struct x9p_helper_launcher base;
	struct x9p_wlink *l;
};

struct x9p_wlink *x9p_wlink_new(int fd)
{
	struct x9p_wlink *l = g_new0(struct x9p_wlink, 1);

	l->fd = fd;
	g_mutex_init(&l->lock);
	return l;
}

void x9p_wlink_free(struct x9p_wlink *l)
{
	if (!l)
		return;
	close(l->fd);
	g_mutex_clear(&l->lock);
	g_free(l);
}

int x9p_wlink_recv(struct x9p_wlink *l, enum mw_type type, struct mw_msg *m)
{
	int rc = mw_recv(l->fd, MW_FROM_MONITOR, m);

	if (rc == 1)
		return -EPIPE;
	if (rc == 0 && m->type != type) {
		mw_clear(m);
		return -EPROTO;
	}
	return rc;
}

int x9p_wlink_send(struct x9p_wlink *l, struct mw_msg *m)
{
	int rc;

	g_mutex_lock(&l->lock);
	m->seq = ++l->seq;
	rc = mw_send(l->fd, m);
	g_mutex_unlock(&l->lock);
	return rc;
}

int x9p_wlink_call(struct x9p_wlink *l, struct mw_msg *req, enum mw_type want,
		   struct mw_msg *rep)
{
	int rc;

	g_mutex_lock(&l->lock);
	req->seq = ++l->seq;
	rc = mw_send(l->fd, req);
	if (rc == 0) {
		rc = mw_recv(l->fd, MW_FROM_MONITOR, rep);
		if (rc == 1)
			rc = -EPIPE;
		else if (rc == 0 && (rep->type != want || rep->seq != req->seq)) {
			mw_clear(rep);
			rc = -EPROTO;
		}
	}
	g_mutex_unlock(&l->lock);
	return rc;
}

static int rm_start(struct x9p_helper_launcher *base, struct x9p_helper_proc *out, char **why)
{
	struct remote *r = (struct remote *)base;
	struct mw_msg q, a;
	int rc;

	mw_init(&q, MW_HELPER_START, 0);
	rc = x9p_wlink_call(r->l, &q, MW_HELPER, &a);
	mw_clear(&q);
	if (rc < 0) {
		*why = g_strdup_printf("asking the monitor: %s", g_strerror(-rc));
		return rc;
	}
	rc = (int32_t)a.u[MW_HP_STATUS];
	if (rc > 0 || rc < -4095 || (rc == 0) != (a.nfds == 1)) {
		mw_clear(&a);
		*why = g_strdup("the monitor's reply makes no sense");
		return -EPROTO;
	}
	if (rc < 0) {
		*why = g_strdup(a.ns ? a.s[0] : g_strerror(-rc));
		mw_clear(&a);
		return rc;
	}
	out->sock = a.fds[0];
	out->pid = (pid_t)a.u[MW_HP_PID];
	out->exit_fd = -1;
	mw_clear_keep_fds(&a);
	return 0;
}

static void rm_kill(struct x9p_helper_launcher *base)
{
	struct remote *r = (struct remote *)base;
	struct mw_msg q;

	mw_init(&q, MW_HELPER_KILL, 0);
	if (x9p_wlink_send(r->l, &q) < 0)
		g_warning("cannot ask the monitor to kill x9p-helper");
	mw_clear(&q);
}

static char *rm_reap(struct x9p_helper_launcher *base, int grace_ms)
{
	struct remote *r = (struct remote *)base;
	struct mw_msg q, a;
	char *st;
	int rc;

	mw_init(&q, MW_HELPER_REAP, 0);
	q.u[MW_RP_GRACE_MS] = grace_ms > 0 ? (uint32_t)grace_ms : 0;
	rc = x9p_wlink_call(r->l, &q, MW_HELPER_GONE, &a);
	mw_clear(&q);
	if (rc < 0)
		return g_strdup_printf("unknown (the monitor: %s)", g_strerror(-rc));
	st = g_strdup(a.ns ? a.s[0] : "unknown");
	mw_clear(&a);
	return st;
}

static void rm_destroy(struct x9p_helper_launcher *base)
{
	g_free(base);
}

struct x9p_helper_launcher *x9p_wlink_helper_launcher(struct x9p_wlink *l)
{
	struct remote *r = g_new0(struct remote, 1);

	r->base.start = rm_start;
	r->base.kill = rm_kill;
	r->base.reap = rm_reap;
	r->base.destroy = rm_destroy;
	r->l = l;
	return &r->base;
}
