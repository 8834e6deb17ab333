// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A vhost-user connection's set-up, saved for and adopted by another
 * process (vu-dev.h, vu_dev_set_keeper and vu_dev_serve_adopted): when
 * x9p-vhost's worker dies, the monitor still holds the connection and this
 * text with its descriptors, and the next worker goes on serving the
 * frontend, which never notices.
 *
 * The text: "f=FEATURES pf=PROTOCOL_FEATURES", then per memory region
 * "r=GPA:SIZE:UVA:OFFSET", then per configured queue
 * "q=INDEX:NUM:BASE:FLAGS:DESC:USED:AVAIL:LOG:HAVE_ADDR:ENABLED:KICK:CALL:ERR"
 * (numbers in hex; KICK, CALL and ERR say whether a descriptor comes).
 * Descriptors: one per region, then per queue its kick, call and error
 * descriptors that exist, in that order.  It is written by this device's
 * previous worker and read by the next (the same guest's trust domain),
 * and checked like any frontend message: the memory table goes through
 * vu_mem_map()'s checks, queue values through the same bounds.
 */
#define G_LOG_DOMAIN "x9p-vhost"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vu-int.h"

void vu_state_clear_mem(struct vu_dev *d)
{
	for (unsigned i = 0; i < d->mem_nsrc; i++)
		if (d->mem_src[i].fd >= 0)
			close(d->mem_src[i].fd);
	d->mem_nsrc = 0;
}

void vu_dev_set_keeper(struct vu_dev *d,
		       void (*keep)(void *arg, int sock, const char *state, const int *fds,
				    unsigned nfds),
		       void *arg)
{
	d->keep = keep;
	d->keep_arg = arg;
}

void vu_dev_call_keeper(struct vu_dev *d, int sock, const char *state, const int *fds,
			unsigned nfds)
{
	if (d->keep)
		d->keep(d->keep_arg, sock, state, fds, nfds);
}

/* Calls the keeper with the set-up as it is. */
void vu_state_save(struct vu_dev *d)
{
	int fds[VU_MAX_MEM_REGIONS + 3 * VU_MAX_QUEUES];
	unsigned n = 0;
	GString *t;

	if (!d->keep)
		return;
	t = g_string_new(NULL);
	g_string_append_printf(t, "f=%" PRIx64 " pf=%" PRIx64, d->features, d->protocol_features);
	for (unsigned i = 0; i < d->mem_nsrc; i++) {
		const struct vu_mem_src *r = &d->mem_src[i];

		g_string_append_printf(t, " r=%" PRIx64 ":%" PRIx64 ":%" PRIx64 ":%" PRIx64, r->gpa,
				       r->size, r->uva, r->offset);
		fds[n++] = r->fd;
	}
	for (unsigned i = 0; i < d->nqueues; i++) {
		const struct vu_queue *q = &d->q[i];

		if (!q->num && !q->have_addr && q->kick_fd < 0 && q->call_fd < 0)
			continue;
		g_string_append_printf(t, " q=%x:%x:%x:%x:%" PRIx64 ":%" PRIx64 ":%" PRIx64
				       ":%" PRIx64 ":%d:%d:%d:%d:%d",
				       i, q->num, q->base, q->addr.flags, q->addr.desc_user_addr,
				       q->addr.used_user_addr, q->addr.avail_user_addr,
				       q->addr.log_guest_addr, q->have_addr, q->enabled,
				       q->kick_fd >= 0, q->call_fd >= 0, q->err_fd >= 0);
		if (q->kick_fd >= 0)
			fds[n++] = q->kick_fd;
		if (q->call_fd >= 0)
			fds[n++] = q->call_fd;
		if (q->err_fd >= 0)
			fds[n++] = q->err_fd;
	}
	vu_dev_call_keeper(d, d->sock, t->str, fds, n);
	g_string_free(t, TRUE);
}

void vu_state_drop(struct vu_dev *d)
{
	vu_dev_call_keeper(d, -1, NULL, NULL, 0);
}

static int take(int *fds, unsigned nfds, unsigned *at)
{
	int fd;

	if (*at >= nfds)
		return -1;
	fd = fds[*at];
	fds[*at] = -1;
	(*at)++;
	return fd;
}

/* Applies the set-up; the memory and queues of d are blank. */
static bool adopt(struct vu_dev *d, const char *state, int *fds, unsigned nfds, char **why)
{
	gchar **tok = g_strsplit(state, " ", -1);
	struct vu_mem_src src[VU_MAX_MEM_REGIONS];
	unsigned nsrc = 0, at = 0;
	bool ok = true;
	uint64_t f, pf;

	if (!tok[0] || !tok[1] || sscanf(tok[0], "f=%" SCNx64, &f) != 1 ||
	    sscanf(tok[1], "pf=%" SCNx64, &pf) != 1 || (f & ~vu_dev_features(d))) {
		*why = g_strdup("bad features");
		g_strfreev(tok);
		return false;
	}
	d->features = f;
	d->protocol_features = pf;
	for (gchar **t = tok + 2; ok && *t; t++) {
		if (g_str_has_prefix(*t, "r=")) {
			struct vu_mem_src *r = &src[nsrc];

			if (nsrc == VU_MAX_MEM_REGIONS ||
			    sscanf(*t, "r=%" SCNx64 ":%" SCNx64 ":%" SCNx64 ":%" SCNx64, &r->gpa,
				   &r->size, &r->uva, &r->offset) != 4 ||
			    (r->fd = take(fds, nfds, &at)) < 0) {
				*why = g_strdup("bad memory region");
				ok = false;
				break;
			}
			nsrc++;
		} else if (g_str_has_prefix(*t, "q=")) {
			unsigned idx, num, base, flags;
			int have, en, kick, call, err;
			struct vu_vring_addr a = { 0 };
			struct vu_queue *q;

			if (sscanf(*t, "q=%x:%x:%x:%x:%" SCNx64 ":%" SCNx64 ":%" SCNx64 ":%" SCNx64
				   ":%d:%d:%d:%d:%d", &idx, &num, &base, &flags, &a.desc_user_addr,
				   &a.used_user_addr, &a.avail_user_addr, &a.log_guest_addr, &have,
				   &en, &kick, &call, &err) != 13 ||
			    idx >= d->nqueues || num > VRING_MAX_NUM || base > 0xffff) {
				*why = g_strdup("bad queue");
				ok = false;
				break;
			}
			q = &d->q[idx];
			a.index = idx;
			a.flags = flags;
			q->num = num;
			q->base = (uint16_t)base;
			q->addr = a;
			q->have_addr = have;
			q->enabled = en;
			if (q->kick_fd >= 0)
				close(q->kick_fd);      /* the queue named twice */
			q->kick_fd = kick ? take(fds, nfds, &at) : -1;
			if (call)
				vu_queue_set_call(q, take(fds, nfds, &at));
			if (err)
				vu_queue_set_err(q, take(fds, nfds, &at));
		}
	}
	g_strfreev(tok);
	if (ok && nsrc) {
		GError *e = NULL;
		struct vu_mem *mem = vu_mem_map(src, nsrc, VU_MAX_MEM_REGIONS, &e);

		if (!mem) {
			*why = g_strdup(e->message);
			g_error_free(e);
			ok = false;
		} else {
			vu_dev_set_mem(d, mem);
		}
	}
	/* The descriptors stay for the next save, as set_mem_table keeps them. */
	for (unsigned i = 0; i < nsrc; i++) {
		if (ok)
			d->mem_src[i] = src[i];
		else
			close(src[i].fd);
	}
	d->mem_nsrc = ok ? nsrc : 0;
	return ok;
}

void vu_state_close_fds(int *fds, unsigned nfds)
{
	for (unsigned i = 0; i < nfds; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

int vu_dev_serve_adopted(struct vu_dev *d, int sock, const char *state, int *fds,
			 unsigned nfds, int stop_fd, int reject_fd)
{
	char *why = NULL;

	if (!adopt(d, state, fds, nfds, &why)) {
		g_warning("%s: the connection kept for this worker cannot be served: %s",
			  d->label, why);
		g_free(why);
		vu_state_close_fds(fds, nfds);
		/* The monitor's copy goes too, or the frontend would never see
		 * the connection end. */
		vu_state_drop(d);
		vu_dev_reset_all(d);
		close(sock);
		return -EINVAL;
	}
	vu_state_close_fds(fds, nfds);
	for (unsigned i = 0; i < d->nqueues; i++) {
		struct vu_queue *q = &d->q[i];

		if (q->kick_fd >= 0) {
			q->adopted = true;
			vu_queue_start(q);
		}
	}
	g_info("%s: serving the frontend connection the previous worker left", d->label);
	return vu_dev_serve(d, sock, stop_fd, reject_fd);
}
