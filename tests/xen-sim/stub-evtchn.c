// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Stand-in libxenevtchn.so.1: interdomain event channels over
 * sim-proto.h.  A channel is a pair of eventfds (one per direction) made
 * by the hypervisor when the frontend allocated its unbound port.  The
 * handle's descriptor is an epoll set of the incoming eventfds; a port
 * that fired is masked (EPOLLONESHOT) until xenevtchn_unmask(), as the
 * real driver masks a port it delivered, so a backend that forgets to
 * unmask stops hearing that port, exactly as on Xen.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <xenevtchn.h>

#include "stub-conn.h"

struct port {
	evtchn_port_t local;
	int in, out;
	struct port *next;
};

struct xenevtchn_handle {
	int sock;
	int restricted;             /* -1, or the only domain it may bind */
	int epfd;
	pthread_mutex_t lock;
	struct port *ports;
};

xenevtchn_handle *xenevtchn_open(struct xentoollog_logger *logger, unsigned open_flags)
{
	xenevtchn_handle *h = calloc(1, sizeof(*h));

	(void)logger;
	(void)open_flags;
	if (!h)
		return NULL;
	h->restricted = -1;
	h->sock = sim_connect(SIM_ROLE_RPC, 0, NULL);
	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (h->sock < 0 || h->epfd < 0) {
		int e = errno;

		if (h->sock >= 0)
			close(h->sock);
		if (h->epfd >= 0)
			close(h->epfd);
		free(h);
		errno = e;
		return NULL;
	}
	pthread_mutex_init(&h->lock, NULL);
	return h;
}

static void port_free(struct port *p)
{
	close(p->in);
	close(p->out);
	free(p);
}

int xenevtchn_close(xenevtchn_handle *h)
{
	if (!h)
		return 0;
	while (h->ports) {
		struct port *p = h->ports;

		h->ports = p->next;
		port_free(p);
	}
	close(h->epfd);
	close(h->sock);
	pthread_mutex_destroy(&h->lock);
	free(h);
	return 0;
}

int xenevtchn_fd(xenevtchn_handle *h)
{
	return h->epfd;
}

static struct port *find(xenevtchn_handle *h, evtchn_port_t port)
{
	for (struct port *p = h->ports; p; p = p->next)
		if (p->local == port)
			return p;
	return NULL;
}

int xenevtchn_notify(xenevtchn_handle *h, evtchn_port_t port)
{
	uint64_t one = 1;
	struct port *p;
	int fd;

	pthread_mutex_lock(&h->lock);
	p = find(h, port);
	fd = p ? p->out : -1;
	pthread_mutex_unlock(&h->lock);
	if (fd < 0) {
		errno = EINVAL;
		return -1;
	}
	/* A saturated counter still means "pending". */
	if (write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -1;
	return 0;
}

xenevtchn_port_or_error_t xenevtchn_bind_interdomain(xenevtchn_handle *h, uint32_t domid,
						     evtchn_port_t remote_port)
{
	uint32_t a[4] = { domid, remote_port, 0, 0 };
	struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT };
	struct sim_hdr rh;
	int fds[SIM_MAX_FDS], nfds = 0, r;
	struct port *p;

	pthread_mutex_lock(&h->lock);
	if (h->restricted >= 0 && (uint32_t)h->restricted != domid) {
		pthread_mutex_unlock(&h->lock);
		errno = EPERM;
		return -1;
	}
	r = sim_call(h->sock, SIM_EVT_BIND, a, NULL, 0, &rh, NULL, fds, &nfds);
	pthread_mutex_unlock(&h->lock);
	if (r < 0)
		return -1;
	if (rh.err || nfds != 2) {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		errno = rh.err ? rh.err : EPROTO;
		return -1;
	}
	p = calloc(1, sizeof(*p));
	p->local = rh.a[0];
	p->in = fds[0];
	p->out = fds[1];
	ev.data.u32 = p->local;
	if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, p->in, &ev) < 0) {
		port_free(p);
		return -1;
	}
	pthread_mutex_lock(&h->lock);
	p->next = h->ports;
	h->ports = p;
	pthread_mutex_unlock(&h->lock);
	return (xenevtchn_port_or_error_t)p->local;
}

xenevtchn_port_or_error_t xenevtchn_bind_unbound_port(xenevtchn_handle *h, uint32_t domid)
{
	(void)h;
	(void)domid;
	errno = ENOSYS;
	return -1;
}

xenevtchn_port_or_error_t xenevtchn_bind_virq(xenevtchn_handle *h, unsigned int virq)
{
	(void)h;
	(void)virq;
	errno = ENOSYS;
	return -1;
}

int xenevtchn_unbind(xenevtchn_handle *h, evtchn_port_t port)
{
	uint32_t a[4] = { port, 0, 0, 0 };
	struct port **pp, *p = NULL;
	struct sim_hdr rh;

	pthread_mutex_lock(&h->lock);
	for (pp = &h->ports; *pp; pp = &(*pp)->next) {
		if ((*pp)->local == port) {
			p = *pp;
			*pp = p->next;
			break;
		}
	}
	if (p) {
		epoll_ctl(h->epfd, EPOLL_CTL_DEL, p->in, NULL);
		sim_call(h->sock, SIM_EVT_UNBIND, a, NULL, 0, &rh, NULL, NULL, NULL);
	}
	pthread_mutex_unlock(&h->lock);
	if (!p) {
		errno = EINVAL;
		return -1;
	}
	port_free(p);
	return 0;
}

xenevtchn_port_or_error_t xenevtchn_pending(xenevtchn_handle *h)
{
	struct epoll_event ev;
	uint64_t v;
	struct port *p;
	int n = epoll_wait(h->epfd, &ev, 1, 0);

	if (n <= 0) {
		if (n == 0)
			errno = EAGAIN;
		return -1;
	}
	pthread_mutex_lock(&h->lock);
	p = find(h, ev.data.u32);
	if (p && read(p->in, &v, sizeof(v)) < 0 && errno != EAGAIN) {
		pthread_mutex_unlock(&h->lock);
		return -1;
	}
	pthread_mutex_unlock(&h->lock);
	return (xenevtchn_port_or_error_t)ev.data.u32;
}

int xenevtchn_unmask(xenevtchn_handle *h, evtchn_port_t port)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data.u32 = port };
	struct port *p;
	int r = -1;

	pthread_mutex_lock(&h->lock);
	p = find(h, port);
	if (p)
		r = epoll_ctl(h->epfd, EPOLL_CTL_MOD, p->in, &ev);
	else
		errno = EINVAL;
	pthread_mutex_unlock(&h->lock);
	return r;
}

/*
 * The simulated channels of a handle are bound to one domain each already;
 * a restricted handle refuses to bind another domain's ports, as the
 * driver's IOCTL_EVTCHN_RESTRICT_DOMID does.
 */
int xenevtchn_restrict(xenevtchn_handle *h, domid_t domid)
{
	pthread_mutex_lock(&h->lock);
	h->restricted = (int)domid;
	pthread_mutex_unlock(&h->lock);
	return 0;
}
