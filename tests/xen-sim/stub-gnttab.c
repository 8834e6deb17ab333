// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Stand-in libxengnttab.so.1: grant mapping over sim-proto.h.  A granted
 * page is a page of a memfd the frontend simulator created; mapping it
 * here maps that memfd page MAP_SHARED, so both sides see one memory, as
 * with real grants.  Several refs map contiguously (MAP_FIXED pieces of a
 * reserved range).  Every map and unmap is reported to the hypervisor,
 * which counts mappings per granting domain for the tests.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xengnttab.h>

#include "stub-conn.h"

#define PG 4096u

struct map {
	void *addr;
	uint32_t count;
	uint32_t id;
	struct map *next;
};

struct xengntdev_handle {
	int sock;
	pthread_mutex_t lock;
	struct map *maps;
};

xengnttab_handle *xengnttab_open(struct xentoollog_logger *logger, unsigned open_flags)
{
	xengnttab_handle *h = calloc(1, sizeof(*h));

	(void)logger;
	(void)open_flags;
	if (!h)
		return NULL;
	h->sock = sim_connect(SIM_ROLE_RPC, 0, NULL);
	if (h->sock < 0) {
		free(h);
		return NULL;
	}
	pthread_mutex_init(&h->lock, NULL);
	return h;
}

int xengnttab_close(xengnttab_handle *h)
{
	if (!h)
		return 0;
	/* Like the device: closing drops the grant references, the
	 * hypervisor sees the connection go; mappings stay valid until unmapped. */
	while (h->maps) {
		struct map *m = h->maps;

		h->maps = m->next;
		free(m);
	}
	close(h->sock);
	pthread_mutex_destroy(&h->lock);
	free(h);
	return 0;
}

int xengnttab_fd(xengnttab_handle *h)
{
	return h->sock;
}

int xengnttab_set_max_grants(xengnttab_handle *h, uint32_t nr_grants)
{
	(void)h;
	(void)nr_grants;
	return 0;
}

static void *map_refs(xengnttab_handle *h, uint32_t count, uint32_t domid,
		      const uint32_t *refs, int prot)
{
	uint32_t a[4] = { domid, count, (prot & PROT_WRITE) ? 1 : 0, 0 };
	struct sim_hdr rh;
	char *data = NULL;
	int fds[SIM_MAX_FDS], nfds = 0, r;
	uint8_t *base;
	struct map *m;

	if (count == 0 || count > 4096) {
		errno = EINVAL;
		return NULL;
	}
	pthread_mutex_lock(&h->lock);
	r = sim_call(h->sock, SIM_GNT_MAP, a, refs, count * sizeof(uint32_t), &rh, &data,
		     fds, &nfds);
	pthread_mutex_unlock(&h->lock);
	if (r < 0)
		return NULL;
	if (rh.err || rh.len != count * sizeof(struct sim_gnt_page)) {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		free(data);
		errno = rh.err ? rh.err : EPROTO;
		return NULL;
	}
	base = mmap(NULL, (size_t)count * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (uint32_t i = 0; base != MAP_FAILED && i < count;) {
		struct sim_gnt_page p, q;
		uint32_t run = 1;

		memcpy(&p, data + i * sizeof(p), sizeof(p));
		/* Consecutive pages of one memfd map in one piece. */
		while (i + run < count) {
			memcpy(&q, data + (i + run) * sizeof(q), sizeof(q));
			if (q.fd_index != p.fd_index || q.page != p.page + run)
				break;
			run++;
		}
		if (p.fd_index >= (uint32_t)nfds ||
		    mmap(base + (size_t)i * PG, (size_t)run * PG, prot, MAP_SHARED | MAP_FIXED,
			 fds[p.fd_index], (off_t)p.page * PG) == MAP_FAILED) {
			munmap(base, (size_t)count * PG);
			base = MAP_FAILED;
			break;
		}
		i += run;
	}
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	free(data);
	if (base == MAP_FAILED) {
		uint32_t ua[4] = { rh.a[0], 0, 0, 0 };
		struct sim_hdr uh;

		pthread_mutex_lock(&h->lock);
		sim_call(h->sock, SIM_GNT_UNMAP, ua, NULL, 0, &uh, NULL, NULL, NULL);
		pthread_mutex_unlock(&h->lock);
		errno = ENOMEM;
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	m->addr = base;
	m->count = count;
	m->id = rh.a[0];
	pthread_mutex_lock(&h->lock);
	m->next = h->maps;
	h->maps = m;
	pthread_mutex_unlock(&h->lock);
	return base;
}

void *xengnttab_map_grant_ref(xengnttab_handle *h, uint32_t domid, uint32_t ref, int prot)
{
	return map_refs(h, 1, domid, &ref, prot);
}

void *xengnttab_map_domain_grant_refs(xengnttab_handle *h, uint32_t count, uint32_t domid,
				      uint32_t *refs, int prot)
{
	return map_refs(h, count, domid, refs, prot);
}

void *xengnttab_map_grant_refs(xengnttab_handle *h, uint32_t count, uint32_t *domids,
			       uint32_t *refs, int prot)
{
	for (uint32_t i = 1; i < count; i++) {
		if (domids[i] != domids[0]) {
			errno = EINVAL;
			return NULL;
		}
	}
	return map_refs(h, count, count ? domids[0] : 0, refs, prot);
}

int xengnttab_unmap(xengnttab_handle *h, void *start, uint32_t count)
{
	struct map **pp, *m = NULL;
	uint32_t a[4] = { 0 };
	struct sim_hdr rh;
	int r = 0;

	pthread_mutex_lock(&h->lock);
	for (pp = &h->maps; *pp; pp = &(*pp)->next) {
		if ((*pp)->addr == start && (*pp)->count == count) {
			m = *pp;
			*pp = m->next;
			break;
		}
	}
	if (m) {
		a[0] = m->id;
		munmap(m->addr, (size_t)m->count * PG);
		r = sim_call(h->sock, SIM_GNT_UNMAP, a, NULL, 0, &rh, NULL, NULL, NULL);
	}
	pthread_mutex_unlock(&h->lock);
	if (!m) {
		errno = EINVAL;
		return -1;
	}
	free(m);
	return r;
}
