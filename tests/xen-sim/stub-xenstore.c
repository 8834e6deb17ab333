// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Stand-in libxenstore.so.4 for the simulated Xen: the xs_* API the
 * project's programs use, implemented over sim-proto.h.  Built against
 * the real <xenstore.h>, so signatures cannot drift.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xenstore.h>

#include "stub-conn.h"

struct xs_handle {
	int rpc;
	int ev;
	pthread_mutex_t lock;
};

struct xs_handle *xs_open(unsigned long flags)
{
	struct xs_handle *h = calloc(1, sizeof(*h));
	uint32_t id;

	(void)flags;
	if (!h)
		return NULL;
	h->rpc = sim_connect(SIM_ROLE_RPC, 0, &id);
	if (h->rpc < 0) {
		free(h);
		return NULL;
	}
	h->ev = sim_connect(SIM_ROLE_EVENTS, id, NULL);
	if (h->ev < 0) {
		int e = errno;

		close(h->rpc);
		free(h);
		errno = e;
		return NULL;
	}
	pthread_mutex_init(&h->lock, NULL);
	return h;
}

void xs_close(struct xs_handle *h)
{
	if (!h)
		return;
	close(h->rpc);
	close(h->ev);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

struct xs_handle *xs_daemon_open(void) { return xs_open(0); }
struct xs_handle *xs_domain_open(void) { return xs_open(0); }
struct xs_handle *xs_daemon_open_readonly(void) { return xs_open(0); }
void xs_daemon_close(struct xs_handle *h) { xs_close(h); }
void xs_daemon_destroy_postfork(struct xs_handle *h) { xs_close(h); }

/* One call; returns the reply data (malloc'd) or NULL with errno. */
static char *call(struct xs_handle *h, uint32_t op, uint32_t a0, uint32_t a1,
		  const void *data, size_t len, struct sim_hdr *rh)
{
	uint32_t a[4] = { a0, a1, 0, 0 };
	char *out = NULL;
	int r;

	pthread_mutex_lock(&h->lock);
	r = sim_call(h->rpc, op, a, data, len, rh, &out, NULL, NULL);
	pthread_mutex_unlock(&h->lock);
	if (r < 0)
		return NULL;
	if (rh->err) {
		free(out);
		errno = rh->err;
		return NULL;
	}
	return out;
}

static bool call_ok(struct xs_handle *h, uint32_t op, uint32_t a0, uint32_t a1,
		    const void *data, size_t len)
{
	struct sim_hdr rh;
	char *out = call(h, op, a0, a1, data, len, &rh);

	free(out);
	return out != NULL;
}

void *xs_read(struct xs_handle *h, xs_transaction_t t, const char *path, unsigned int *len)
{
	struct sim_hdr rh;
	char *v = call(h, SIM_XS_READ, t, 0, path, strlen(path) + 1, &rh);

	if (v && len)
		*len = rh.len;
	return v;
}

bool xs_write(struct xs_handle *h, xs_transaction_t t, const char *path, const void *data,
	      unsigned int len)
{
	size_t pl = strlen(path) + 1;
	char *buf = malloc(pl + len);
	bool ok;

	if (!buf)
		return false;
	memcpy(buf, path, pl);
	memcpy(buf + pl, data, len);
	ok = call_ok(h, SIM_XS_WRITE, t, 0, buf, pl + len);
	free(buf);
	return ok;
}

bool xs_mkdir(struct xs_handle *h, xs_transaction_t t, const char *path)
{
	return call_ok(h, SIM_XS_MKDIR, t, 0, path, strlen(path) + 1);
}

bool xs_rm(struct xs_handle *h, xs_transaction_t t, const char *path)
{
	return call_ok(h, SIM_XS_RM, t, 0, path, strlen(path) + 1);
}

bool xs_restrict(struct xs_handle *h, unsigned domid)
{
	(void)h;
	(void)domid;
	return false;
}

char **xs_directory(struct xs_handle *h, xs_transaction_t t, const char *path,
		    unsigned int *num)
{
	struct sim_hdr rh;
	char *names = call(h, SIM_XS_DIRECTORY, t, 0, path, strlen(path) + 1, &rh);
	char **vec, *strs;
	unsigned n;
	size_t off = 0;

	if (!names)
		return NULL;
	n = rh.a[1];
	/* One block, like the real library: the caller frees only vec. */
	vec = malloc(sizeof(char *) * (n + 1) + rh.len + 1);
	if (!vec) {
		free(names);
		return NULL;
	}
	strs = (char *)(vec + n + 1);
	memcpy(strs, names, rh.len);
	strs[rh.len] = 0;
	for (unsigned i = 0; i < n; i++) {
		vec[i] = strs + off;
		off += strlen(strs + off) + 1;
		if (off > rh.len + 1)
			off = rh.len;
	}
	vec[n] = NULL;
	*num = n;
	free(names);
	return vec;
}

struct xs_permissions *xs_get_permissions(struct xs_handle *h, xs_transaction_t t,
					  const char *path, unsigned int *num)
{
	struct sim_hdr rh;
	char *raw = call(h, SIM_XS_GET_PERMS, t, 0, path, strlen(path) + 1, &rh);
	struct xs_permissions *p;
	unsigned n;

	if (!raw)
		return NULL;
	n = rh.a[1];
	if (n == 0 || rh.len != n * 8) {
		free(raw);
		errno = EPROTO;
		return NULL;
	}
	p = calloc(n, sizeof(*p));
	for (unsigned i = 0; p && i < n; i++) {
		uint32_t v[2];

		memcpy(v, raw + i * 8, 8);
		p[i].id = v[0];
		p[i].perms = v[1];
	}
	free(raw);
	*num = n;
	return p;
}

bool xs_set_permissions(struct xs_handle *h, xs_transaction_t t, const char *path,
			struct xs_permissions *perms, unsigned int num_perms)
{
	size_t pl = strlen(path) + 1;
	char *buf = malloc(pl + num_perms * 8);
	bool ok;

	if (!buf)
		return false;
	memcpy(buf, path, pl);
	for (unsigned i = 0; i < num_perms; i++) {
		uint32_t v[2] = { perms[i].id, perms[i].perms };

		memcpy(buf + pl + i * 8, v, 8);
	}
	ok = call_ok(h, SIM_XS_SET_PERMS, t, num_perms, buf, pl + num_perms * 8);
	free(buf);
	return ok;
}

static bool watch_op(struct xs_handle *h, uint32_t op, const char *path, const char *token)
{
	size_t pl = strlen(path) + 1, tl = strlen(token) + 1;
	char *buf = malloc(pl + tl);
	bool ok;

	if (!buf)
		return false;
	memcpy(buf, path, pl);
	memcpy(buf + pl, token, tl);
	ok = call_ok(h, op, 0, 0, buf, pl + tl);
	free(buf);
	return ok;
}

bool xs_watch(struct xs_handle *h, const char *path, const char *token)
{
	return watch_op(h, SIM_XS_WATCH, path, token);
}

bool xs_unwatch(struct xs_handle *h, const char *path, const char *token)
{
	return watch_op(h, SIM_XS_UNWATCH, path, token);
}

int xs_fileno(struct xs_handle *h)
{
	return h->ev;
}

static char **read_watch(struct xs_handle *h, unsigned int *num, int nonblock)
{
	struct sim_hdr eh;
	char *data = NULL;
	char **vec;
	size_t pl;

	for (;;) {
		if (sim_recv(h->ev, &eh, &data, NULL, NULL, nonblock) < 0) {
			if (errno == EWOULDBLOCK)
				errno = EAGAIN;
			return NULL;
		}
		if (eh.op == SIM_EV_WATCH)
			break;
		free(data);
	}
	pl = strnlen(data, eh.len);
	vec = malloc(sizeof(char *) * 2 + eh.len + 2);
	if (!vec) {
		free(data);
		return NULL;
	}
	memcpy(vec + 2, data, eh.len);
	((char *)(vec + 2))[eh.len] = 0;
	((char *)(vec + 2))[eh.len + 1] = 0;
	vec[XS_WATCH_PATH] = (char *)(vec + 2);
	vec[XS_WATCH_TOKEN] = pl < eh.len ? (char *)(vec + 2) + pl + 1 : (char *)(vec + 2) + eh.len + 1;
	if (num)
		*num = 2;
	free(data);
	return vec;
}

char **xs_read_watch(struct xs_handle *h, unsigned int *num)
{
	return read_watch(h, num, 0);
}

char **xs_check_watch(struct xs_handle *h)
{
	return read_watch(h, NULL, 1);
}

xs_transaction_t xs_transaction_start(struct xs_handle *h)
{
	struct sim_hdr rh;
	char *out = call(h, SIM_XS_TX_START, 0, 0, NULL, 0, &rh);

	if (!out)
		return XBT_NULL;
	free(out);
	return rh.a[0];
}

bool xs_transaction_end(struct xs_handle *h, xs_transaction_t t, bool abort)
{
	return call_ok(h, SIM_XS_TX_END, t, abort, NULL, 0);
}

bool xs_is_domain_introduced(struct xs_handle *h, unsigned int domid)
{
	struct sim_hdr rh;
	char *out = call(h, SIM_XS_INTRODUCED, domid, 0, NULL, 0, &rh);

	if (!out)
		return false;
	free(out);
	return rh.a[1] != 0;
}

char *xs_get_domain_path(struct xs_handle *h, unsigned int domid)
{
	char *p = malloc(32);

	(void)h;
	if (p)
		snprintf(p, 32, "/local/domain/%u", domid);
	return p;
}

bool xs_strings_to_perms(struct xs_permissions *perms, unsigned int num, const char *strings)
{
	const char *s = strings;

	for (unsigned i = 0; i < num; i++) {
		char *end;

		switch (*s) {
		case 'r': perms[i].perms = XS_PERM_READ; break;
		case 'w': perms[i].perms = XS_PERM_WRITE; break;
		case 'b': perms[i].perms = XS_PERM_READ | XS_PERM_WRITE; break;
		case 'n': perms[i].perms = XS_PERM_NONE; break;
		default: errno = EINVAL; return false;
		}
		perms[i].id = (unsigned)strtoul(s + 1, &end, 10);
		if (end == s + 1 || *end) {
			errno = EINVAL;
			return false;
		}
		s += strlen(s) + 1;
	}
	return true;
}

bool xs_write_all(int fd, const void *data, unsigned int len)
{
	const char *p = data;

	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		len -= (unsigned)w;
	}
	return true;
}

const char *xs_daemon_rundir(void) { return "/var/run/xenstored"; }
const char *xs_daemon_socket(void) { return getenv(SIM_ENV_SOCK); }
const char *xs_daemon_socket_ro(void) { return getenv(SIM_ENV_SOCK); }
