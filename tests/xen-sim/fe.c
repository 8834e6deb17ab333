// SPDX-License-Identifier: GPL-2.0-or-later
/* Frontend simulators (Linux trans_xen.c, Mini-OS 9pfront.c); see fe.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>

#include "fe.h"

#define PG 4096u
#define MAX_RINGS 8
#define P9HDR 7u

struct ring {
	struct fe_ring pub;
	int memfd_intf, memfd_data;
	uint32_t ref_intf;
	uint32_t *refs;
	unsigned nrefs;
	uint32_t port;
	int wait_fd, kick_fd;
	uint32_t out_prod, in_cons;  /* our private indices */
	unsigned replies;
	bool broken;
};

enum { CMD_NONE, CMD_CLOSE, CMD_RECONNECT };

struct fe {
	struct hv *hv;
	struct fe_opts o;
	char *path;                  /* frontend directory */
	char *be_path;
	GMutex mu;
	int own;                     /* our state */
	int cmd;
	bool stop;
	char *error;
	GThread *xb;

	unsigned nrings;
	struct ring rings[MAX_RINGS];
	bool have_rings;

	/* pump */
	GThread *pump;
	int stop_fd;
	int sock[2];                 /* [0] test end, [1] pump end */
	uint8_t tag_ring[65536];
	GMutex vmu;                  /* violations */
	unsigned violations;
	char *first_violation;
};

uint32_t fe_load(const uint8_t *intf, unsigned off)
{
	return __atomic_load_n((const uint32_t *)(intf + off), __ATOMIC_RELAXED);
}

void fe_store(uint8_t *intf, unsigned off, uint32_t v)
{
	__atomic_store_n((uint32_t *)(intf + off), v, __ATOMIC_RELAXED);
}

static void violation(struct fe *fe, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void violation(struct fe *fe, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_mutex_lock(&fe->vmu);
	fe->violations++;
	if (!fe->first_violation)
		fe->first_violation = g_strdup(s);
	g_mutex_unlock(&fe->vmu);
	g_printerr("# frontend dom%u/%u: ring protocol violation: %s\n", fe->o.domid, fe->o.devid, s);
	g_free(s);
	hv_poke(fe->hv);
}

/* ---- rings ------------------------------------------------------------ */

static bool ring_alloc(struct fe *fe, struct ring *r, unsigned order)
{
	unsigned n = 1u << order;

	memset(r, 0, sizeof(*r));
	r->memfd_intf = memfd_create("fe-intf", MFD_CLOEXEC);
	r->memfd_data = memfd_create("fe-data", MFD_CLOEXEC);
	if (r->memfd_intf < 0 || r->memfd_data < 0 || ftruncate(r->memfd_intf, PG) < 0 ||
	    ftruncate(r->memfd_data, (off_t)n * PG) < 0)
		return false;
	r->pub.intf = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, r->memfd_intf, 0);
	r->pub.data = mmap(NULL, (size_t)n * PG, PROT_READ | PROT_WRITE, MAP_SHARED,
			   r->memfd_data, 0);
	if (r->pub.intf == MAP_FAILED || r->pub.data == MAP_FAILED)
		return false;
	r->pub.order = order;
	r->pub.size = 1u << (order + 12 - 1);
	r->nrefs = n;
	r->refs = g_new0(uint32_t, n);
	for (unsigned i = 0; i < n; i++) {
		r->refs[i] = hv_grant(fe->hv, fe->o.domid, fe->o.backend_domid, r->memfd_data, i);
		fe_store(r->pub.intf, FE_REF0 + 4 * i, r->refs[i]);
	}
	r->ref_intf = hv_grant(fe->hv, fe->o.domid, fe->o.backend_domid, r->memfd_intf, 0);
	fe_store(r->pub.intf, FE_RING_ORDER, fe->o.force_order > 0 ? (uint32_t)fe->o.force_order
								   : order);
	r->out_prod = r->in_cons = fe->o.start_index;
	fe_store(r->pub.intf, FE_IN_CONS, r->in_cons);
	fe_store(r->pub.intf, FE_IN_PROD, r->in_cons);
	fe_store(r->pub.intf, FE_OUT_CONS, r->out_prod);
	fe_store(r->pub.intf, FE_OUT_PROD, r->out_prod);
	r->port = hv_evtchn_alloc(fe->hv, fe->o.domid, fe->o.backend_domid, &r->wait_fd,
				  &r->kick_fd);
	return true;
}

static void ring_free(struct fe *fe, struct ring *r)
{
	for (unsigned i = 0; i < r->nrefs; i++)
		hv_ungrant(fe->hv, fe->o.domid, r->refs[i]);
	if (r->nrefs)
		hv_ungrant(fe->hv, fe->o.domid, r->ref_intf);
	hv_evtchn_close(fe->hv, fe->o.domid, r->port);
	if (r->pub.intf && r->pub.intf != MAP_FAILED)
		munmap(r->pub.intf, PG);
	if (r->pub.data && r->pub.data != MAP_FAILED)
		munmap(r->pub.data, (size_t)r->nrefs * PG);
	close(r->memfd_intf);
	close(r->memfd_data);
	close(r->wait_fd);
	close(r->kick_fd);
	g_free(r->refs);
	memset(r, 0, sizeof(*r));
}

void fe_kick(struct fe *fe, unsigned i)
{
	uint64_t one = 1;

	if (write(fe->rings[i].kick_fd, &one, sizeof(one)) < 0)
		g_printerr("# kick failed: %s\n", g_strerror(errno));
}

bool fe_wait_event(struct fe *fe, unsigned i, int timeout_ms)
{
	struct pollfd pf = { .fd = fe->rings[i].wait_fd, .events = POLLIN };
	uint64_t v;

	if (poll(&pf, 1, timeout_ms) <= 0)
		return false;
	if (read(fe->rings[i].wait_fd, &v, sizeof(v)) < 0)
		(void)v;
	return true;
}

static void copy_in(uint8_t *area, uint32_t size, uint32_t idx, const uint8_t *src, size_t len)
{
	uint32_t off = idx & (size - 1);
	size_t first = MIN(len, (size_t)(size - off));

	memcpy(area + off, src, first);
	memcpy(area, src + first, len - first);
}

static void copy_out(const uint8_t *area, uint32_t size, uint32_t idx, uint8_t *dst, size_t len)
{
	uint32_t off = idx & (size - 1);
	size_t first = MIN(len, (size_t)(size - off));

	memcpy(dst, area + off, first);
	memcpy(dst + first, area, len - first);
}

/* ---- pump ------------------------------------------------------------- */

static bool write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		len -= (size_t)w;
	}
	return true;
}

static bool read_all(int fd, uint8_t *p, size_t len)
{
	while (len) {
		ssize_t r = read(fd, p, len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		p += r;
		len -= (size_t)r;
	}
	return true;
}

/* Takes every whole reply of ring i; false if the test end went away. */
static bool drain(struct fe *fe, unsigned i)
{
	struct ring *r = &fe->rings[i];
	uint32_t size = r->pub.size;
	uint8_t *in = r->pub.data;
	bool took = false;

	while (!r->broken) {
		uint32_t prod = fe_load(r->pub.intf, FE_IN_PROD), queued, sz;
		uint8_t hdr[P9HDR], *buf;
		uint16_t tag;

		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		queued = prod - r->in_cons;
		if (queued > size) {
			violation(fe, "ring %u: reply producer index %u is %u bytes ahead", i, prod,
				  queued);
			r->broken = true;
			break;
		}
		if (queued < P9HDR)
			break;
		copy_out(in, size, r->in_cons, hdr, P9HDR);
		sz = (uint32_t)hdr[0] | (uint32_t)hdr[1] << 8 | (uint32_t)hdr[2] << 16 |
		     (uint32_t)hdr[3] << 24;
		if (sz < P9HDR || sz > size) {
			violation(fe, "ring %u: reply size %u", i, sz);
			r->broken = true;
			break;
		}
		if (queued < sz) {
			violation(fe, "ring %u: reply header visible with %u of its %u bytes", i,
				  queued, sz);
			break;
		}
		tag = (uint16_t)(hdr[5] | hdr[6] << 8);
		if (fe->tag_ring[tag] != i)
			violation(fe, "ring %u: reply to tag %u, whose request went on ring %u", i,
				  tag, fe->tag_ring[tag]);
		buf = g_malloc(sz);
		copy_out(in, size, r->in_cons, buf, sz);
		r->in_cons += sz;
		r->replies++;
		took = true;
		if (!write_all(fe->sock[1], buf, sz)) {
			g_free(buf);
			return false;
		}
		g_free(buf);
	}
	if (took) {
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		fe_store(r->pub.intf, FE_IN_CONS, r->in_cons);
		fe_kick(fe, i);
	}
	return true;
}

/* Puts the pending request on its ring if it fits whole. */
static bool place(struct fe *fe, const uint8_t *frame, uint32_t len)
{
	uint16_t tag = (uint16_t)(frame[5] | frame[6] << 8);
	unsigned i = fe->o.kind == FE_LINUX ? tag % fe->nrings : 0;
	struct ring *r = &fe->rings[i];
	uint32_t cons = fe_load(r->pub.intf, FE_OUT_CONS), used;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	used = r->out_prod - cons;
	if (used > r->pub.size) {
		violation(fe, "ring %u: request consumer index %u is ahead of the producer %u", i,
			  cons, r->out_prod);
		return false;
	}
	if (r->pub.size - used < len)
		return false;
	copy_in(r->pub.data + r->pub.size, r->pub.size, r->out_prod, frame, len);
	fe->tag_ring[tag] = (uint8_t)i;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	r->out_prod += len;
	fe_store(r->pub.intf, FE_OUT_PROD, r->out_prod);
	fe_kick(fe, i);
	return true;
}

static gpointer pump(gpointer p)
{
	struct fe *fe = p;
	uint8_t *pending = NULL;
	uint32_t plen = 0, maxlen = fe->rings[0].pub.size;

	for (;;) {
		struct pollfd pf[2 + MAX_RINGS];
		int n = 0;

		pf[n++] = (struct pollfd){ .fd = fe->stop_fd, .events = POLLIN };
		pf[n++] = (struct pollfd){ .fd = fe->sock[1], .events = pending ? 0 : POLLIN };
		for (unsigned i = 0; i < fe->nrings; i++)
			pf[n++] = (struct pollfd){ .fd = fe->rings[i].wait_fd, .events = POLLIN };
		if (poll(pf, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[0].revents)
			break;
		for (unsigned i = 0; i < fe->nrings; i++) {
			uint64_t v;

			if (pf[2 + i].revents && read(fe->rings[i].wait_fd, &v, sizeof(v)) < 0)
				(void)v;
		}
		for (unsigned i = 0; i < fe->nrings; i++)
			if (!drain(fe, i))
				goto out;
		if (!pending && (pf[1].revents & (POLLIN | POLLHUP))) {
			uint8_t hdr[4];
			uint32_t len;

			if (!read_all(fe->sock[1], hdr, 4))
				goto out;
			len = (uint32_t)hdr[0] | (uint32_t)hdr[1] << 8 | (uint32_t)hdr[2] << 16 |
			      (uint32_t)hdr[3] << 24;
			if (len < P9HDR || len > maxlen) {
				g_printerr("# frontend: the test sent a %u-byte frame; dropping the link\n",
					   len);
				goto out;
			}
			pending = g_malloc(len);
			memcpy(pending, hdr, 4);
			if (!read_all(fe->sock[1], pending + 4, len - 4))
				goto out;
			plen = len;
		}
		if (pending && place(fe, pending, plen)) {
			g_free(pending);
			pending = NULL;
		}
	}
out:
	g_free(pending);
	shutdown(fe->sock[1], SHUT_RDWR);
	return NULL;
}

static void pump_start(struct fe *fe)
{
	int sz = 8 << 20;

	g_assert(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fe->sock) == 0);
	setsockopt(fe->sock[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	setsockopt(fe->sock[0], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	setsockopt(fe->sock[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	setsockopt(fe->sock[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	fe->stop_fd = eventfd(0, EFD_CLOEXEC);
	fe->pump = g_thread_new("fe-pump", pump, fe);
}

static void pump_stop(struct fe *fe)
{
	uint64_t one = 1;

	if (!fe->pump)
		return;
	if (write(fe->stop_fd, &one, sizeof(one)) < 0)
		g_printerr("# pump stop: %s\n", g_strerror(errno));
	g_thread_join(fe->pump);
	fe->pump = NULL;
	close(fe->stop_fd);
	close(fe->sock[0]);
	close(fe->sock[1]);
	fe->sock[0] = fe->sock[1] = -1;
}

/* ---- xenbus side ------------------------------------------------------ */

static char *fe_read(struct fe *fe, const char *key)
{
	char *p = g_strdup_printf("%s/%s", fe->path, key);
	char *v = hv_read(fe->hv, fe->o.domid, p);

	g_free(p);
	return v;
}

static int read_int(struct fe *fe, const char *path)
{
	char *v = hv_read(fe->hv, fe->o.domid, path);
	int r = v ? atoi(v) : -1;

	g_free(v);
	return r;
}

static void set_own(struct fe *fe, int state)
{
	char *p = g_strdup_printf("%s/state", fe->path);
	char *v = g_strdup_printf("%d", state);
	int err = hv_write(fe->hv, fe->o.domid, p, v);

	if (err && !fe->error)
		fe->error = g_strdup_printf("writing state %d: %s", state, g_strerror(-err));
	fe->own = state;
	g_free(p);
	g_free(v);
}

static void free_rings(struct fe *fe)
{
	pump_stop(fe);
	if (!fe->have_rings)
		return;
	for (unsigned i = 0; i < fe->nrings; i++)
		ring_free(fe, &fe->rings[i]);
	fe->have_rings = false;
	fe->nrings = 0;
}

static bool versions_has_1(const char *v)
{
	char **parts = g_strsplit(v, ",", -1);
	bool ok = false;

	for (char **p = parts; *p; p++)
		ok |= strcmp(g_strstrip(*p), "1") == 0;
	g_strfreev(parts);
	return ok;
}

/* Backend InitWait: read features, make rings, publish, Initialised. */
static void init_rings(struct fe *fe)
{
	char *bp = g_strdup_printf("%s/versions", fe->be_path);
	char *versions = hv_read(fe->hv, fe->o.domid, bp);
	int max_rings, max_order;
	unsigned order, nrings;

	g_free(bp);
	bp = g_strdup_printf("%s/max-rings", fe->be_path);
	max_rings = read_int(fe, bp);
	g_free(bp);
	bp = g_strdup_printf("%s/max-ring-page-order", fe->be_path);
	max_order = read_int(fe, bp);
	g_free(bp);
	if (!versions || !versions_has_1(versions)) {
		fe->error = g_strdup_printf("backend versions '%s' lacks 1", versions ? versions : "");
		goto fail;
	}
	if (fe->o.kind == FE_LINUX && max_rings < 2) {
		fe->error = g_strdup_printf("backend max-rings %d < 2", max_rings);
		goto fail;
	}
	if (max_rings < 1 || max_order < 1) {
		fe->error = g_strdup_printf("backend max-rings %d, max-ring-page-order %d",
					    max_rings, max_order);
		goto fail;
	}
	nrings = fe->o.kind == FE_LINUX ? 2 : 1;
	order = (unsigned)MIN(max_order, fe->o.kind == FE_LINUX ? 9 : 4);
	if (fe->o.max_order)
		order = MIN(order, fe->o.max_order);
	fe->nrings = nrings;
	for (unsigned i = 0; i < nrings; i++)
		g_assert(ring_alloc(fe, &fe->rings[i], order));
	fe->have_rings = true;

	for (int tries = 0; tries < 1000; tries++) {
		uint32_t tx = hv_tx_start(fe->hv, fe->o.domid);
		char *k, *v;
		int err = 0;

#define TXW(key, val) do { k = g_strdup_printf("%s/%s", fe->path, key); v = val; \
		err = err ? err : hv_tx_write(fe->hv, tx, k, v); g_free(k); g_free(v); } while (0)
		TXW("version", g_strdup("1"));
		TXW("num-rings", g_strdup_printf("%d", fe->o.force_rings > 0 ? fe->o.force_rings
									 : (int)nrings));
		for (unsigned i = 0; i < nrings; i++) {
			char *key = g_strdup_printf("ring-ref%u", i);

			TXW(key, g_strdup_printf("%u", fe->o.bad_ref && i == 0 ? 999999u
									  : fe->rings[i].ref_intf));
			g_free(key);
			key = g_strdup_printf("event-channel-%u", i);
			TXW(key, g_strdup_printf("%u", fe->rings[i].port));
			g_free(key);
		}
		if (fe->o.kind == FE_MINIOS)
			TXW("state", g_strdup("3"));
#undef TXW
		if (err) {
			hv_tx_end(fe->hv, tx, true);
			fe->error = g_strdup_printf("writing ring keys: %s", g_strerror(-err));
			goto fail;
		}
		err = hv_tx_end(fe->hv, tx, false);
		if (err == -EAGAIN)
			continue;
		if (err) {
			fe->error = g_strdup_printf("committing ring keys: %s", g_strerror(-err));
			goto fail;
		}
		break;
	}
	if (fe->o.kind == FE_MINIOS)
		fe->own = 3;
	else
		set_own(fe, 3);
	g_free(versions);
	return;
fail:
	g_free(versions);
	free_rings(fe);
	set_own(fe, 6);
}

/* One look at both states; runs after every change of the system. */
static bool step(struct hv *hv, void *arg)
{
	struct fe *fe = arg;
	char *bp;
	int be;
	bool stop;

	g_mutex_lock(&fe->mu);
	stop = fe->stop;
	if (stop) {
		g_mutex_unlock(&fe->mu);
		return true;
	}
	bp = g_strdup_printf("%s/state", fe->be_path);
	be = read_int(fe, bp);
	g_free(bp);

	if (fe->cmd == CMD_CLOSE && (fe->own == 3 || fe->own == 4)) {
		fe->cmd = CMD_NONE;
		set_own(fe, 5);
	} else if (fe->cmd == CMD_RECONNECT && fe->own == 6) {
		fe->cmd = CMD_NONE;
		g_clear_pointer(&fe->error, g_free);
		set_own(fe, 1);
	}
	if (fe->own == 1 && be == 2) {
		init_rings(fe);
	} else if (fe->own == 3 && be == 4) {
		set_own(fe, 4);
		if (!fe->o.raw)
			pump_start(fe);
	} else if ((fe->own == 3 || fe->own == 4 || fe->own == 5) && (be == 5 || be == 6)) {
		if (!fe->o.keep_rings)
			free_rings(fe);
		set_own(fe, 6);
	}
	g_mutex_unlock(&fe->mu);
	return false;
}

static gpointer xb_thread(gpointer p)
{
	struct fe *fe = p;

	while (!hv_wait(fe->hv, step, fe, 1000))
		;
	return NULL;
}

struct fe *fe_new(struct hv *hv, const struct fe_opts *o)
{
	struct fe *fe = g_new0(struct fe, 1);
	char *st;

	fe->hv = hv;
	fe->o = *o;
	fe->sock[0] = fe->sock[1] = -1;
	fe->path = g_strdup_printf("/local/domain/%u/device/9pfs/%u", o->domid, o->devid);
	g_mutex_init(&fe->mu);
	g_mutex_init(&fe->vmu);
	fe->be_path = fe_read(fe, "backend");
	g_assert(fe->be_path);
	st = fe_read(fe, "state");
	fe->own = st ? atoi(st) : 1;
	g_free(st);
	fe->xb = g_thread_new("fe-xenbus", xb_thread, fe);
	return fe;
}

void fe_free(struct fe *fe)
{
	g_mutex_lock(&fe->mu);
	fe->stop = true;
	g_mutex_unlock(&fe->mu);
	hv_poke(fe->hv);
	g_thread_join(fe->xb);
	free_rings(fe);
	g_mutex_clear(&fe->mu);
	g_mutex_clear(&fe->vmu);
	g_free(fe->error);
	g_free(fe->first_violation);
	g_free(fe->path);
	g_free(fe->be_path);
	g_free(fe);
}

int fe_state(struct fe *fe)
{
	int s;

	g_mutex_lock(&fe->mu);
	s = fe->own;
	g_mutex_unlock(&fe->mu);
	return s;
}

struct want_state {
	struct fe *fe;
	int state;
};

static bool has_state(struct hv *hv, void *arg)
{
	struct want_state *w = arg;

	return fe_state(w->fe) == w->state;
}

bool fe_wait_state(struct fe *fe, int state, int timeout_ms)
{
	struct want_state w = { fe, state };

	return hv_wait(fe->hv, has_state, &w, timeout_ms);
}

const char *fe_error(struct fe *fe)
{
	return fe->error;
}

int fe_socket(struct fe *fe)
{
	int fd;

	g_mutex_lock(&fe->mu);
	fd = fe->sock[0] >= 0 ? fcntl(fe->sock[0], F_DUPFD_CLOEXEC, 0) : -1;
	g_mutex_unlock(&fe->mu);
	return fd;
}

uint32_t fe_msize(struct fe *fe)
{
	uint32_t ring = fe->rings[0].pub.size;

	if (fe->o.kind == FE_LINUX)
		return MIN(128u * 1024, ring / 2);
	return ring / 2;
}

unsigned fe_nrings(struct fe *fe)
{
	return fe->nrings;
}

void fe_close(struct fe *fe)
{
	g_mutex_lock(&fe->mu);
	fe->cmd = CMD_CLOSE;
	g_mutex_unlock(&fe->mu);
	hv_poke(fe->hv);
}

void fe_reconnect(struct fe *fe)
{
	g_mutex_lock(&fe->mu);
	fe->cmd = CMD_RECONNECT;
	g_mutex_unlock(&fe->mu);
	hv_poke(fe->hv);
}

unsigned fe_violations(struct fe *fe)
{
	unsigned n;

	g_mutex_lock(&fe->vmu);
	n = fe->violations;
	g_mutex_unlock(&fe->vmu);
	return n;
}

char *fe_violation_text(struct fe *fe)
{
	char *s;

	g_mutex_lock(&fe->vmu);
	s = g_strdup(fe->first_violation ? fe->first_violation : "");
	g_mutex_unlock(&fe->vmu);
	return s;
}

unsigned fe_replies_on(struct fe *fe, unsigned ring)
{
	return fe->rings[ring].replies;
}

struct fe_ring *fe_ring(struct fe *fe, unsigned i)
{
	return i < fe->nrings ? &fe->rings[i].pub : NULL;
}
