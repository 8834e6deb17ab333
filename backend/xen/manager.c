// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The device manager: one XenStore connection, the watches on our backend
 * directories and on @releaseDomain, libxl's xen-9pfsd spawn protocol, and
 * the table of devices.  Runs in the thread of the default main context.
 */
#define G_LOG_DOMAIN "x9p-xen"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include <glib-unix.h>

#include "monitor/worker.h"
#include "xen/xen-int.h"

#define SPAWN_STATE "libxl/xen-9pfs/state"
#define SPAWN_PID "libxl/xen-9pfs/pid"

struct x9p_xen {
	struct xmgr m;
};

/* ---- XenStore helpers ----------------------------------------------- */

char *xm_get(struct xmgr *m, xs_transaction_t t, const char *fmt, ...)
{
	va_list ap;
	char *path, *v, *out = NULL;
	unsigned len = 0;

	va_start(ap, fmt);
	path = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	v = xs_read(m->xsh, t, path, &len);
	if (v) {
		out = g_strndup(v, len);
		free(v);
	}
	g_free(path);
	return out;
}

bool xm_put(struct xmgr *m, xs_transaction_t t, const char *path, const char *val)
{
	return xs_write(m->xsh, t, path, val, (unsigned)strlen(val));
}

bool xm_putf(struct xmgr *m, xs_transaction_t t, const char *path, const char *fmt, ...)
{
	va_list ap;
	char *v;
	bool ok;

	va_start(ap, fmt);
	v = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	ok = xm_put(m, t, path, v);
	g_free(v);
	return ok;
}

bool xm_uint(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || !*s || strlen(s) > 20)
		return false;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		if (v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

struct in_main {
	GSourceFunc fn;
	gpointer data;
};

void xm_in_main(GMainContext *ctx, GSourceFunc fn, gpointer data)
{
	GSource *s = g_idle_source_new();

	g_source_set_callback(s, fn, data, NULL);
	g_source_attach(s, ctx);
	g_source_unref(s);
}

/* ---- devices -------------------------------------------------------- */

void xm_forget_device(struct xmgr *m, struct xdev *d)
{
	if (d->fe_watched)
		xs_unwatch(m->xsh, d->fe, d->fe_token);
	d->fe_watched = false;
	d->m = NULL;
	g_hash_table_remove(m->devs, d->key);
}

static struct xdev *get_device(struct xmgr *m, const char *kind, unsigned domid,
			       unsigned devid)
{
	char *key = g_strdup_printf("%s/%u/%u", kind, domid, devid);
	struct xdev *d = g_hash_table_lookup(m->devs, key);

	if (!d) {
		d = xdev_new(m, kind, domid, devid);
		g_hash_table_insert(m->devs, g_strdup(d->key), d);
	}
	g_free(key);
	return d;
}

static void step_key(struct xmgr *m, const char *key)
{
	struct xdev *d = g_hash_table_lookup(m->devs, key);

	if (d) {
		xdev_ref(d);
		xdev_step(d);
		xdev_unref(d);
	}
}

static void step_device(struct xmgr *m, const char *kind, unsigned domid, unsigned devid)
{
	struct xdev *d = get_device(m, kind, domid, devid);

	xdev_ref(d);
	xdev_step(d);
	xdev_unref(d);
}

/* Finds every device of a kind in XenStore and steps all we know. */
static void rescan_kind(struct xmgr *m, const char *kind)
{
	char *base = g_strdup_printf("%s/backend/%s", m->home, kind);
	unsigned nd = 0;
	char **doms = xs_directory(m->xsh, XBT_NULL, base, &nd);
	GPtrArray *keys = g_ptr_array_new_with_free_func(g_free);
	GHashTableIter it;
	gpointer k, v;

	for (unsigned i = 0; doms && i < nd; i++) {
		uint64_t domid, devid;
		unsigned nn = 0;
		char *dp;
		char **devs;

		if (!xm_uint(doms[i], UINT16_MAX, &domid))
			continue;
		dp = g_strdup_printf("%s/%s", base, doms[i]);
		devs = xs_directory(m->xsh, XBT_NULL, dp, &nn);
		for (unsigned j = 0; devs && j < nn; j++)
			if (xm_uint(devs[j], UINT32_MAX, &devid))
				get_device(m, kind, (unsigned)domid, (unsigned)devid);
		free(devs);
		g_free(dp);
	}
	free(doms);
	g_free(base);

	/* Step a snapshot: stepping may remove devices from the table. */
	g_hash_table_iter_init(&it, m->devs);
	while (g_hash_table_iter_next(&it, &k, &v))
		if (strcmp(((struct xdev *)v)->kind, kind) == 0)
			g_ptr_array_add(keys, g_strdup(k));
	for (guint i = 0; i < keys->len; i++)
		step_key(m, keys->pdata[i]);
	g_ptr_array_free(keys, TRUE);
}

static void check_domains(struct xmgr *m)
{
	GPtrArray *keys = g_ptr_array_new_with_free_func(g_free);
	GHashTableIter it;
	gpointer k, v;

	g_hash_table_iter_init(&it, m->devs);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		struct xdev *d = v;

		if (!d->fe_dead && !xs_is_domain_introduced(m->xsh, d->domid)) {
			g_info("%s: domain %u is gone", d->label, d->domid);
			d->fe_dead = true;
			g_ptr_array_add(keys, g_strdup(k));
		}
	}
	for (guint i = 0; i < keys->len; i++)
		step_key(m, keys->pdata[i]);
	g_ptr_array_free(keys, TRUE);
}

static void on_backend_event(struct xmgr *m, const char *kind, const char *path)
{
	char *base = g_strdup_printf("%s/backend/%s/", m->home, kind);
	uint64_t domid, devid;
	char **parts;

	if (!g_str_has_prefix(path, base)) {
		rescan_kind(m, kind);
		g_free(base);
		return;
	}
	parts = g_strsplit(path + strlen(base), "/", 3);
	if (parts[0] && parts[1] && xm_uint(parts[0], UINT16_MAX, &domid) &&
	    xm_uint(parts[1], UINT32_MAX, &devid))
		step_device(m, kind, (unsigned)domid, (unsigned)devid);
	else
		rescan_kind(m, kind);
	g_strfreev(parts);
	g_free(base);
}

static void on_watch(struct xmgr *m, const char *path, const char *token)
{
	if (strcmp(token, "rel") == 0)
		check_domains(m);
	else if (g_str_has_prefix(token, "be:"))
		on_backend_event(m, token + 3, path);
	else if (g_str_has_prefix(token, "fe:"))
		step_key(m, token + 3);
}

static gboolean on_xs_readable(gint fd, GIOCondition cond, gpointer data)
{
	struct xmgr *m = data;
	char **vec;

	while ((vec = xs_check_watch(m->xsh))) {
		on_watch(m, vec[XS_WATCH_PATH], vec[XS_WATCH_TOKEN]);
		free(vec);
	}
	if (errno != EAGAIN && errno != EINTR) {
		g_critical("xen: lost the XenStore connection: %s; Xen devices are no longer "
			   "served", g_strerror(errno));
		m->watch_src = 0;
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

/* ---- libxl's spawn protocol for xen-9pfsd ---------------------------- */

static bool other_daemon_alive(const char *pidstr)
{
	uint64_t pid;
	char *comm_path, *comm = NULL;
	bool alive = false;

	if (!xm_uint(pidstr, INT32_MAX, &pid) || pid == 0 || (pid_t)pid == getpid())
		return false;
	if (kill((pid_t)pid, 0) < 0 && errno == ESRCH)
		return false;
	comm_path = g_strdup_printf("/proc/%" G_GUINT64_FORMAT "/comm", pid);
	if (g_file_get_contents(comm_path, &comm, NULL, NULL))
		alive = strstr(comm, "x9p") || strstr(comm, "9pfsd");
	g_free(comm);
	g_free(comm_path);
	return alive;
}

/* Writes libxl/xen-9pfs/state = running unless a live daemon holds it. */
static bool claim_spawn(struct xmgr *m)
{
	char *state_path = g_strdup_printf("%s/" SPAWN_STATE, m->home);
	char *pid_path = g_strdup_printf("%s/" SPAWN_PID, m->home);
	bool ok = false;

	for (int tries = 0; tries < 100; tries++) {
		xs_transaction_t t = xs_transaction_start(m->xsh);
		char *state, *pid;

		if (t == XBT_NULL)
			break;
		state = xm_get(m, t, "%s", state_path);
		pid = xm_get(m, t, "%s", pid_path);
		if (state && other_daemon_alive(pid)) {
			xs_transaction_end(m->xsh, t, true);
			g_warning("xen: another xen-9pfs daemon (pid %s) serves backend/xen_9pfs; "
				  "not serving that kind", pid);
			g_free(state);
			g_free(pid);
			break;
		}
		g_free(state);
		g_free(pid);
		if (!xm_put(m, t, state_path, "running") ||
		    !xm_putf(m, t, pid_path, "%d", (int)getpid())) {
			xs_transaction_end(m->xsh, t, true);
			g_warning("xen: writing %s failed: %s", state_path, g_strerror(errno));
			break;
		}
		if (xs_transaction_end(m->xsh, t, false)) {
			ok = true;
			break;
		}
		if (errno != EAGAIN)
			break;
	}
	g_free(state_path);
	g_free(pid_path);
	return ok;
}

static void release_spawn(struct xmgr *m)
{
	char *state_path = g_strdup_printf("%s/" SPAWN_STATE, m->home);

	xs_rm(m->xsh, XBT_NULL, state_path);
	g_free(state_path);
}

/* ---- start and stop ------------------------------------------------- */

bool x9p_xen_kinds_valid(const char *kinds, GError **err)
{
	char **v = g_strsplit(kinds, ",", -1);
	bool ok = v[0] != NULL;

	for (char **k = v; ok && *k; k++) {
		const char *c = *k;

		ok = *c && strlen(c) <= 32;
		for (; ok && *c; c++)
			ok = g_ascii_isalnum(*c) || *c == '_' || *c == '-';
		if (!ok)
			g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
				    "--xen-backend-kinds: '%s' is not a backend kind name "
				    "(letters, digits, '_' and '-')", *k);
	}
	if (!v[0])
		g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			    "--xen-backend-kinds: no kind given");
	g_strfreev(v);
	return ok;
}

static void dev_unref(gpointer p)
{
	xdev_unref(p);
}

struct x9p_xen *x9p_xen_start(const struct x9p_xen_cfg *cfg, GError **err)
{
	struct x9p_xen *x = g_new0(struct x9p_xen, 1);
	struct xmgr *m = &x->m;
	char *domid;
	uint64_t id = 0;
	GPtrArray *kinds;

	if (!x9p_xen_kinds_valid(cfg->kinds ? cfg->kinds : X9P_XEN_DEFAULT_KINDS, err))
		goto fail;
	m->xsh = xs_open(0);
	if (!m->xsh) {
		g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno),
			    "cannot connect to XenStore: %s", g_strerror(errno));
		goto fail;
	}
	domid = xm_get(m, XBT_NULL, "domid");
	if (domid && !xm_uint(domid, UINT16_MAX, &id)) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL,
			    "XenStore key domid '%s' is not a domain id", domid);
		g_free(domid);
		goto fail;
	}
	g_free(domid);
	m->domid = (unsigned)id;
	m->home = g_strdup_printf("/local/domain/%u", m->domid);
	m->ctx = g_main_context_default();
	m->devs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, dev_unref);
	m->synthetic = cfg->synthetic;
	m->synth_spec = g_strdup(cfg->synth_spec);
	m->workers = cfg->workers;
	m->max_fids = cfg->max_fids;
	m->max_open_files = cfg->max_open_files;
	m->max_rings = cfg->max_rings ? MIN(cfg->max_rings, X9P_XEN_MAX_RINGS)
				      : X9P_XEN_DEFAULT_MAX_RINGS;
	m->multidevs = cfg->multidevs;
	m->max_locks = cfg->max_locks;
	m->max_xattr_bytes = cfg->max_xattr_bytes;
	m->no_setid = cfg->no_setid;
	m->max_nodes = cfg->max_nodes;
	m->helper_log_level = g_strdup(cfg->helper_log_level);
	m->trace_fd = cfg->trace_fd;
	m->worker = x9p_mworker_program();
	m->state_dir = g_strdup(cfg->state_dir ? cfg->state_dir : X9P_XEN_DEFAULT_STATE_DIR);
	if (!*m->state_dir) {
		g_clear_pointer(&m->state_dir, g_free);
	} else if (g_mkdir_with_parents(m->state_dir, 0700) < 0) {
		g_warning("--xen-state-dir %s: %s; sessions outlive a device's worker but not "
			  "this process", m->state_dir, g_strerror(errno));
		g_clear_pointer(&m->state_dir, g_free);
	}

	kinds = g_ptr_array_new();
	{
		char **v = g_strsplit(cfg->kinds ? cfg->kinds : X9P_XEN_DEFAULT_KINDS, ",", -1);

		for (char **k = v; *k; k++) {
			if (strcmp(*k, "xen_9pfs") == 0 && !m->spawn_claimed) {
				if (!claim_spawn(m)) {
					g_free(*k);
					continue;
				}
				m->spawn_claimed = true;
			}
			g_ptr_array_add(kinds, *k);
		}
		g_free(v);
	}
	g_ptr_array_add(kinds, NULL);
	m->kinds = (char **)g_ptr_array_free(kinds, FALSE);

	/* The event descriptor exists before the first watch can fire. */
	m->watch_src = g_unix_fd_add(xs_fileno(m->xsh), G_IO_IN, on_xs_readable, m);
	for (char **k = m->kinds; *k; k++) {
		char *path = g_strdup_printf("%s/backend/%s", m->home, *k);
		char *token = g_strdup_printf("be:%s", *k);

		if (!xs_watch(m->xsh, path, token))
			g_warning("xen: watching %s failed: %s", path, g_strerror(errno));
		g_free(path);
		g_free(token);
	}
	if (!xs_watch(m->xsh, "@releaseDomain", "rel"))
		g_warning("xen: watching @releaseDomain failed: %s", g_strerror(errno));
	{
		char *list = g_strjoinv(",", m->kinds);

		g_message("xen: serving backend/{%s} of domain %u", list, m->domid);
		g_free(list);
	}
	/* Devices that exist already (a restart while guests run). */
	for (char **k = m->kinds; *k; k++)
		rescan_kind(m, *k);
	return x;

fail:
	if (m->xsh)
		xs_close(m->xsh);
	g_free(x);
	return NULL;
}

void x9p_xen_stop_for_exec(struct x9p_xen *x)
{
	if (x)
		x->m.for_exec = true;
}

void x9p_xen_stop(struct x9p_xen *x)
{
	struct xmgr *m;
	GHashTableIter it;
	gpointer k, v;

	if (!x)
		return;
	m = &x->m;
	if (m->watch_src)
		g_source_remove(m->watch_src);
	g_hash_table_iter_init(&it, m->devs);
	while (g_hash_table_iter_next(&it, &k, &v))
		xdev_shutdown_begin(v);
	g_hash_table_iter_init(&it, m->devs);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		xdev_shutdown(v);
		((struct xdev *)v)->m = NULL;
	}
	/* Late notes of ring and teardown threads still queued in the main
	 * context hold references; they find the devices detached. */
	g_hash_table_destroy(m->devs);
	for (char **k2 = m->kinds; *k2; k2++) {
		char *path = g_strdup_printf("%s/backend/%s", m->home, *k2);
		char *token = g_strdup_printf("be:%s", *k2);

		xs_unwatch(m->xsh, path, token);
		g_free(path);
		g_free(token);
	}
	xs_unwatch(m->xsh, "@releaseDomain", "rel");
	if (m->spawn_claimed)
		release_spawn(m);
	xs_close(m->xsh);
	g_strfreev(m->kinds);
	g_free(m->home);
	g_free(m->synth_spec);
	g_free(m->helper_log_level);
	g_free(m->worker);
	g_free(m->state_dir);
	g_free(x);
	g_message("xen: stopped");
}
