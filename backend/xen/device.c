// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * One Xen 9pfs device: its configuration (backend keys written by the
 * toolstack) and its XenStore state machine.
 *
 * xdev_step() re-reads the backend's state and online keys and the
 * frontend's state and moves the device on; it is idempotent and runs on
 * every watch event that concerns the device.  States we write:
 *   InitWait   after publishing versions, max-rings, max-ring-page-order
 *   Connected  once the rings are mapped and their threads run
 *   Closing    after a frontend Closing, a ring fault or connect failure
 *              (with an `error` node), or at start-up for a device a
 *              previous instance had connected whose frontend is not
 *              Connected any more
 *   Closed     after a frontend Closed, an invalid configuration (with an
 *              `error` node), or a toolstack removal (online=0 or a state
 *              it wrote itself)
 * A frontend that goes back to Initialising gets InitWait again
 * (reconnect).  A device whose guest died is torn down and its backend
 * directory removed.
 *
 * Restarts: a stopping daemon hands its connected devices over instead of
 * closing them (xconn_handover: the rings are left Connected, nothing in
 * flight is dropped), and a starting one takes over every device that both
 * sides still call Connected: it maps the same rings and resumes the 9P
 * session recorded in the backend key `x9p-session` ("VERSION MSIZE",
 * written at every Rversion).  The guest's fids died with the old process:
 * they are answered ESTALE until the guest mounts again (a new Tversion on
 * the same rings).  The Linux frontend cannot reconnect a device once it is
 * closed, so closing it would cost the guest the device.  A device whose
 * worker dies is taken over the same way by a new worker
 * (xdev_on_worker_end), unless that looks like a compromise or a loop.
 */
#define G_LOG_DOMAIN "x9p-xen"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs/helper-spawn.h"
#include "journal/journal.h"
#include "xen/xen-int.h"

struct xdev *xdev_new(struct xmgr *m, const char *kind, unsigned domid, unsigned devid)
{
	struct xdev *d = g_new0(struct xdev, 1);

	d->ref = 1;
	d->m = m;
	d->kind = g_strdup(kind);
	d->domid = domid;
	d->devid = devid;
	d->key = g_strdup_printf("%s/%u/%u", kind, domid, devid);
	d->label = g_strdup_printf("dom%u/%s/%u", domid, kind, devid);
	d->be = g_strdup_printf("%s/backend/%s/%u/%u", m->home, kind, domid, devid);
	d->fe_token = g_strdup_printf("fe:%s", d->key);
	d->phase = PH_NEW;
	d->wrote = -1;
	d->journal_fd = -1;
	d->kept = x9p_kept_new(d->label);
	return d;
}

/* A previous daemon's journal for d, if it left one that fits. */
static int old_journal(struct xdev *d)
{
	int fd = open(d->journal_path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;

	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
			(size_t)st.st_size != x9p_journal_size())) {
		close(fd);
		fd = -1;
	}
	if (fd >= 0)
		g_message("%s: taking over the session journal %s", d->label, d->journal_path);
	return fd;
}

static int journal_file(struct xdev *d)
{
	int fd = open(d->journal_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd >= 0 && ftruncate(fd, (off_t)x9p_journal_size()) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* The environment variables that carry d's kept files across a reload. */
static void kept_vars(struct xdev *d, char **var, char **dvar)
{
	*var = g_strdup_printf("X9P_KEPT_%s_%u_%u", d->kind, d->domid, d->devid);
	*dvar = g_strdup_printf("%s_DEVICE", *var);
}

/* The files the previous program kept for d (a reload). */
static void kept_from_exec(struct xdev *d)
{
	char *var, *dvar;
	int unused;

	kept_vars(d, &var, &dvar);
	x9p_kept_import_env(d->kept, &unused, var, dvar);
	if (unused >= 0)
		close(unused);
	g_free(var);
	g_free(dvar);
}

int xdev_journal(struct xdev *d, bool resuming)
{
	int fd = -1;

	if (d->journal_fd >= 0)
		return d->journal_fd;
	if (d->m->state_dir && !d->journal_path)
		d->journal_path = g_strdup_printf("%s/%s-%u-%u.journal", d->m->state_dir, d->kind,
						  d->domid, d->devid);
	if (d->journal_path && resuming) {
		fd = old_journal(d);
		if (fd >= 0)
			kept_from_exec(d);
	}
	if (fd < 0 && d->journal_path) {
		fd = journal_file(d);
		if (fd < 0)
			g_warning("%s: %s: %s; the session will not outlive this process", d->label,
				  d->journal_path, g_strerror(errno));
	}
	if (fd < 0) {
		g_clear_pointer(&d->journal_path, g_free);
		fd = x9p_journal_memfd();
	}
	if (fd < 0)
		g_warning("%s: cannot make a session journal (%s): a worker's death will cost "
			  "the guest its session", d->label, g_strerror(errno));
	d->journal_fd = fd;
	return fd;
}

/* The connection ended for good: the next one starts a new session. */
static void forget_journal(struct xdev *d)
{
	if (d->journal_fd >= 0)
		close(d->journal_fd);
	d->journal_fd = -1;
	if (d->journal_path)
		unlink(d->journal_path);
	g_clear_pointer(&d->journal_path, g_free);
	x9p_kept_clear(d->kept);
}

void xdev_kept_fd(struct xdev *d, struct xconn *c, const struct mw_msg *m)
{
	if (d->m && (d->conn == c || d->starting == c))
		x9p_kept_note(d->kept, m);
}

GPtrArray *xdev_kept_fd_msgs(struct xdev *d)
{
	return x9p_kept_msgs(d->kept);
}

struct xdev *xdev_ref(struct xdev *d)
{
	g_atomic_int_inc(&d->ref);
	return d;
}

static void unconfigure(struct xdev *d)
{
	if (d->fe_watched && d->m)
		xs_unwatch(d->m->xsh, d->fe, d->fe_token);
	d->fe_watched = false;
	g_clear_pointer(&d->fe, g_free);
	g_clear_pointer(&d->path, g_free);
	g_clear_pointer(&d->secmodel, g_free);
	g_clear_pointer(&d->tag, g_free);
}

void xdev_unref(struct xdev *d)
{
	if (!g_atomic_int_dec_and_test(&d->ref))
		return;
	d->m = NULL;
	unconfigure(d);
	/* Not forgotten: a device still Connected is the next daemon's. */
	if (d->journal_fd >= 0)
		close(d->journal_fd);
	g_free(d->journal_path);
	x9p_kept_free(d->kept);
	g_free(d->kind);
	g_free(d->key);
	g_free(d->label);
	g_free(d->be);
	g_free(d->fe_token);
	g_free(d);
}

/* ---- XenStore writes ------------------------------------------------ */

static void write_state(struct xdev *d, int state)
{
	char *p = g_strdup_printf("%s/state", d->be);

	if (!xm_putf(d->m, XBT_NULL, p, "%d", state))
		g_warning("%s: writing state %d failed: %s", d->label, state, g_strerror(errno));
	else
		g_debug("%s: backend state %d", d->label, state);
	d->wrote = state;
	g_free(p);
}

static void write_error(struct xdev *d, const char *why)
{
	char *p = g_strdup_printf("%s/error", d->be);

	xm_put(d->m, XBT_NULL, p, why);
	g_free(p);
}

static void publish_initwait(struct xdev *d)
{
	struct xmgr *m = d->m;

	for (int tries = 0; tries < 100; tries++) {
		xs_transaction_t t = xs_transaction_start(m->xsh);
		char *p;
		bool ok = t != XBT_NULL;

		if (ok) {
			p = g_strdup_printf("%s/error", d->be);
			xs_rm(m->xsh, t, p);
			g_free(p);
			p = g_strdup_printf("%s/versions", d->be);
			ok = xm_put(m, t, p, "1");
			g_free(p);
			p = g_strdup_printf("%s/max-rings", d->be);
			ok = ok && xm_putf(m, t, p, "%u", m->max_rings);
			g_free(p);
			p = g_strdup_printf("%s/max-ring-page-order", d->be);
			ok = ok && xm_putf(m, t, p, "%u", X9P_XEN_MAX_RING_ORDER);
			g_free(p);
			p = g_strdup_printf("%s/state", d->be);
			ok = ok && xm_putf(m, t, p, "%d", XB_INITWAIT);
			g_free(p);
			if (!ok) {
				xs_transaction_end(m->xsh, t, true);
				break;
			}
			if (xs_transaction_end(m->xsh, t, false)) {
				d->wrote = XB_INITWAIT;
				d->phase = PH_INITWAIT;
				g_info("%s: waiting for the frontend (InitWait)", d->label);
				return;
			}
			if (errno == EAGAIN)
				continue;
		}
		break;
	}
	g_warning("%s: publishing the backend features failed: %s", d->label, g_strerror(errno));
}

/* Invalid device: Closed with an `error` node; nothing else is touched. */
static bool fail(struct xdev *d, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static bool fail(struct xdev *d, const char *fmt, ...)
{
	va_list ap;
	char *why;

	va_start(ap, fmt);
	why = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_warning("%s: invalid device: %s", d->label, why);
	write_error(d, why);
	write_state(d, XB_CLOSED);
	d->phase = PH_FAILED;
	g_free(why);
	unconfigure(d);
	return false;
}

/* ---- configuration -------------------------------------------------- */

static bool path_ok(const char *p, const char **why)
{
	size_t len = strlen(p);

	*why = NULL;
	if (p[0] != '/')
		*why = "is not absolute";
	else if (len >= PATH_MAX)
		*why = "is too long";
	else if (strstr(p, "//"))
		*why = "contains '//'";
	else if (len > 1 && p[len - 1] == '/')
		*why = "ends with '/'";
	else if (strstr(p, "/./") || strstr(p, "/../") || g_str_has_suffix(p, "/.") ||
		 g_str_has_suffix(p, "/.."))
		*why = "contains '.' or '..' components";
	for (const char *c = p; !*why && *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*why = "contains control characters";
	return *why == NULL;
}

static bool read_limit(struct xdev *d, const char *key, uint64_t max, uint64_t *out)
{
	char *v = xm_get(d->m, XBT_NULL, "%s/%s", d->be, key);
	bool ok = true;

	*out = 0;
	if (v && !xm_uint(v, max, out))
		ok = fail(d, "%s '%s' is not a number within 0..%" G_GUINT64_FORMAT, key, v, max);
	g_free(v);
	return ok;
}

/* Helpers for one connection's worker: false with an error; *out NULL
 * for a synthetic filesystem. */
bool xdev_helpers(struct xdev *d, struct x9p_helper_launcher **out, GError **err)
{
	struct xmgr *m = d->m;
	struct x9p_proxy_cfg pc = {
		.export_path = d->path,
		.export_fd = -1,
		.model = d->model,
		.multidevs = m->multidevs,
		.no_setid = m->no_setid,
		.max_nodes = m->max_nodes,
		.log_level = m->helper_log_level,
		.label = d->label,
	};
	struct stat st;

	*out = NULL;
	if (m->synthetic)
		return true;
	/* xen-9pfsd creates missing export directories; its drop-in does too. */
	if (strcmp(d->kind, "xen_9pfs") == 0 && stat(d->path, &st) < 0 && errno == ENOENT &&
	    g_mkdir_with_parents(d->path, 0750) < 0) {
		g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno),
			    "creating %s: %s", d->path, g_strerror(errno));
		return false;
	}
	*out = x9p_helper_spawner_new(&pc, err);
	return *out != NULL;
}

static bool configure(struct xdev *d)
{
	struct xmgr *m = d->m;
	char *fe = xm_get(m, XBT_NULL, "%s/frontend", d->be);
	char *feid = xm_get(m, XBT_NULL, "%s/frontend-id", d->be);
	char *want_fe = g_strdup_printf("/local/domain/%u/device/9pfs/%u", d->domid, d->devid);
	struct x9p_helper_launcher *helpers;
	GError *err = NULL;
	const char *why;
	uint64_t id, v;
	bool ok = false;

	d->path = xm_get(m, XBT_NULL, "%s/path", d->be);
	d->secmodel = xm_get(m, XBT_NULL, "%s/security_model", d->be);
	if (!fe || !feid) {
		fail(d, "backend key %s is missing", !fe ? "frontend" : "frontend-id");
		goto out;
	}
	if (!xm_uint(feid, UINT16_MAX, &id) || id != d->domid) {
		fail(d, "frontend-id '%s' does not name domain %u", feid, d->domid);
		goto out;
	}
	if (strcmp(fe, want_fe) != 0) {
		fail(d, "frontend '%s' is not %s", fe, want_fe);
		goto out;
	}
	if (!d->path) {
		fail(d, "backend key path is missing");
		goto out;
	}
	if (!path_ok(d->path, &why)) {
		fail(d, "path '%s' %s", d->path, why);
		goto out;
	}
	if (!d->secmodel || !x9p_secmodel_parse(d->secmodel, &d->model)) {
		fail(d, "security_model '%s' is not none, passthrough, mapped-xattr or "
		     "mapped-file", d->secmodel ? d->secmodel : "(missing)");
		goto out;
	}
	if (!read_limit(d, "max-files", UINT32_MAX, &d->max_files) ||
	    !read_limit(d, "max-open-files", 1u << 20, &d->max_open_files) ||
	    !read_limit(d, "max-space", UINT32_MAX, &d->max_space_mib) ||
	    !read_limit(d, "auto-delete", 1, &v))
		goto out;
	d->auto_delete = v != 0;
	d->fe = g_steal_pointer(&fe);
	d->tag = xm_get(m, XBT_NULL, "%s/tag", d->fe);

	if (!xs_is_domain_introduced(m->xsh, d->domid)) {
		d->fe_dead = true;
		ok = true;
		goto out;
	}
	/* Checked now, so that a bad export fails the device at once; each
	 * connection gets helpers of its own. */
	if (!xdev_helpers(d, &helpers, &err)) {
		fail(d, "export %s: %s", d->path, err->message);
		g_error_free(err);
		goto out;
	}
	if (helpers)
		helpers->destroy(helpers);

	d->fe_watched = xs_watch(m->xsh, d->fe, d->fe_token);
	if (!d->fe_watched)
		g_warning("%s: watching the frontend %s failed: %s", d->label, d->fe,
			  g_strerror(errno));
	g_message("%s: tag '%s', export %s%s, security_model %s, max-open-files %u, "
		  "max-files %" G_GUINT64_FORMAT ", max-space %" G_GUINT64_FORMAT " MiB%s",
		  d->label, d->tag ? d->tag : "", d->path, m->synthetic ? " (synthetic)" : "",
		  d->secmodel, d->max_open_files ? (unsigned)d->max_open_files : m->max_open_files,
		  d->max_files, d->max_space_mib,
		  d->auto_delete ? ", auto-delete" : "");
	ok = true;
out:
	g_free(fe);
	g_free(feid);
	g_free(want_fe);
	return ok;
}

/* ---- connection and teardown ---------------------------------------- */

struct teardown {
	struct xdev *dev;
	struct xconn *conn;
};

static gboolean teardown_done(gpointer p)
{
	struct teardown *t = p;
	struct xdev *d = t->dev;

	if (d->td_thread) {
		g_thread_join(d->td_thread);
		d->td_thread = NULL;
		d->busy = false;
		if (d->m)
			xdev_step(d);
	}
	xdev_unref(d);
	g_free(t);
	return G_SOURCE_REMOVE;
}

static gpointer teardown_thread(gpointer p)
{
	struct teardown *t = p;
	GMainContext *ctx = t->dev->m ? t->dev->m->ctx : NULL;

	xconn_free(t->conn);
	g_info("%s: disconnected", t->dev->label);
	g_atomic_int_set(&t->dev->td_done, 1);
	xm_in_main(ctx, teardown_done, t);
	return NULL;
}

static void start_teardown(struct xdev *d)
{
	struct teardown *t = g_new0(struct teardown, 1);

	t->dev = xdev_ref(d);
	t->conn = d->conn;
	d->conn = NULL;
	d->busy = true;
	d->phase = PH_DOWN;
	g_atomic_int_set(&d->td_done, 0);
	d->td_thread = g_thread_new("x9p-teardown", teardown_thread, t);
}

/* A new worker that ended before serving rings it was to take over: once
 * more, as for a death while serving (xdev_on_worker_end's limits)?  Each
 * new worker runs the recorded requests again, so a request that kills
 * them ends in EIO (X9P_JOURNAL_MAX_RUNS) long before. */
static bool take_over_again(struct xdev *d, const GError *err)
{
	if (g_error_matches(err, XCONN_ERROR, XCONN_KILLED))
		return ++d->kills <= MWORKER_KILL_RESTARTS;
	if (g_error_matches(err, XCONN_ERROR, XCONN_ENDED))
		return ++d->revives <= XDEV_REVIVE_MAX;
	return false;
}

static void connect(struct xdev *d, const struct xresume *resume)
{
	GError *err = NULL;
	struct xconn *c = xconn_new(d, resume, &err);

	while (!c && resume && take_over_again(d, err)) {
		g_warning("%s: %s; trying again", d->label, err->message);
		g_clear_error(&err);
		c = xconn_new(d, resume, &err);
	}
	if (!c) {
		g_warning("%s: cannot connect: %s", d->label, err->message);
		write_error(d, err->message);
		g_error_free(err);
		write_state(d, XB_CLOSING);
		d->phase = PH_CLOSING;
		return;
	}
	d->conn = c;
	write_state(d, XB_CONNECTED);
	d->phase = PH_CONNECTED;
}

void xdev_on_fault(struct xdev *d, struct xconn *c, const char *why)
{
	if (!d->m || d->conn != c)
		return;
	write_error(d, why);
	d->fault = true;
	start_teardown(d);
}

void xdev_on_worker_end(struct xdev *d, struct xconn *c, int status, const char *why)
{
	gint64 now = g_get_monotonic_time();
	bool killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;

	if (!d->m || d->conn != c)
		return;
	if (now - d->revive_window > 60 * G_USEC_PER_SEC) {
		d->revive_window = now;
		d->revives = 0;
		d->kills = 0;
	}
	if ((WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS) ||
	    (killed ? ++d->kills > MWORKER_KILL_RESTARTS : ++d->revives > XDEV_REVIVE_MAX)) {
		g_warning("%s: %s", d->label, why);
		xdev_on_fault(d, c, why);
		return;
	}
	g_warning("%s: %s; a new worker takes the rings over", d->label, why);
	d->revive = true;
	start_teardown(d);
}

/* ---- the state machine ---------------------------------------------- */

static int read_state(struct xmgr *m, const char *dir)
{
	char *v = xm_get(m, XBT_NULL, "%s/state", dir);
	uint64_t s;
	bool ok = xm_uint(v, 255, &s);

	g_free(v);
	return ok ? (int)s : -1;
}

/* Parses the x9p-session key ("9P2000.L 126976"); false if absent or bad. */
static bool read_session(struct xdev *d, struct xresume *rs)
{
	char *v = xm_get(d->m, XBT_NULL, "%s/x9p-session", d->be);
	char **f = v ? g_strsplit(v, " ", 3) : NULL;
	uint64_t ms;
	bool ok = false;

	if (f && f[0] && f[1] && !f[2] && xm_uint(f[1], UINT32_MAX, &ms) &&
	    p9_dialect_parse(p9_str_c(f[0]), &rs->dialect)) {
		rs->msize = (uint32_t)ms;
		ok = true;
	}
	g_strfreev(f);
	g_free(v);
	return ok;
}

/* Both sides are Connected from a previous daemon or worker: serve the same rings. */
static void take_over(struct xdev *d, const char *since)
{
	struct xresume rs = { .dialect = P9_DIALECT_2000L, .msize = 0 };
	bool known = read_session(d, &rs);

	d->wrote = XB_CONNECTED;
	g_message("%s: connected %s; taking the rings over (%s)", d->label, since,
		  known ? "session resumed" : "no session recorded: 9P2000.L assumed");
	connect(d, &rs);
}

void xdev_record_session(struct xdev *d, struct xconn *c, enum p9_dialect dl, uint32_t msize)
{
	char *p;

	if (!d->m || (d->conn != c && d->starting != c))
		return;
	p = g_strdup_printf("%s/x9p-session", d->be);
	if (!xm_putf(d->m, XBT_NULL, p, "%s %u", p9_dialect_name(dl), msize))
		g_debug("%s: recording the session failed: %s", d->label, g_strerror(errno));
	g_free(p);
}

/* The guest is gone: drop everything and clean up after it. */
static void reap(struct xdev *d)
{
	struct xmgr *m = d->m;
	char *parent;
	char **left;
	unsigned n = 0;

	if (d->conn) {
		start_teardown(d);
		return;
	}
	if (read_state(m, d->be) >= 0) {
		write_state(d, XB_CLOSED);
		xs_rm(m->xsh, XBT_NULL, d->be);
	}
	parent = g_strdup_printf("%s/backend/%s/%u", m->home, d->kind, d->domid);
	left = xs_directory(m->xsh, XBT_NULL, parent, &n);
	if (left && n == 0)
		xs_rm(m->xsh, XBT_NULL, parent);
	free(left);
	g_free(parent);
	g_message("%s: the guest is gone; device removed", d->label);
	xm_forget_device(m, d);
}

/*
 * A new device's first look (this process may have started after the
 * device connected, or was asked to close): false to stop here.  On, it
 * sets *bstate to the state it wrote.
 */
static bool first_look(struct xdev *d, int *bstate, const char *online)
{
	if (!online)
		return false;          /* the toolstack is not done yet */
	if (strcmp(online, "1") != 0) {
		if (*bstate != XB_CLOSED)
			write_state(d, XB_CLOSED);
		d->phase = PH_CLOSED;
		return false;
	}
	if (!configure(d))
		return false;
	if (d->fe_dead) {
		reap(d);
		return false;
	}
	switch (*bstate) {
	case XB_CONNECTED:
		if (read_state(d->m, d->fe) == XB_CONNECTED) {
			take_over(d, "before this process started");
			break;
		}
		g_message("%s: connected before this process started, frontend no longer "
			  "connected; resetting it", d->label);
		write_state(d, XB_CLOSING);
		d->phase = PH_CLOSING;
		break;
	case XB_CLOSING:
		d->wrote = XB_CLOSING;
		d->phase = PH_CLOSING;
		break;
	case XB_CLOSED:
		d->wrote = XB_CLOSED;
		d->phase = PH_CLOSED;
		break;
	default:
		publish_initwait(d);
		break;
	}
	*bstate = d->wrote;
	return true;
}

/*
 * What the toolstack asks through the backend's keys: a failed device
 * rewritten (started over: *again), a removal, a reset.  False when the
 * frontend's state does not matter now.
 */
static bool toolstack_asks(struct xdev *d, int bstate, const char *online, bool *again)
{
	if (d->phase == PH_FAILED) {
		if (bstate == XB_INITIALISING && d->wrote != XB_INITIALISING) {
			d->phase = PH_NEW;
			*again = true;
		}
		return false;
	}
	if ((online && strcmp(online, "0") == 0) ||
	    (bstate == XB_CLOSING && d->wrote != XB_CLOSING) ||
	    (bstate == XB_CLOSED && d->wrote != XB_CLOSED)) {
		/* libxl's removal: online=0 and Closing; it waits 10 s for Closed. */
		if (d->conn) {
			start_teardown(d);
			return false;
		}
		if (bstate != XB_CLOSED || d->wrote != XB_CLOSED) {
			write_state(d, XB_CLOSED);
			g_info("%s: closed at the toolstack's request", d->label);
		}
		d->phase = PH_CLOSED;
		return false;
	}
	if (bstate == XB_INITIALISING && d->wrote != XB_INITIALISING &&
	    d->phase != PH_INITWAIT) {
		/* The toolstack reset the device. */
		if (d->conn) {
			start_teardown(d);
			return false;
		}
		publish_initwait(d);
	}
	return true;
}

/* Follows the frontend's state: a few phases at most per look. */
static void follow_frontend(struct xdev *d)
{
	int fstate = read_state(d->m, d->fe);

	for (int pass = 0; pass < 4 && !d->busy; pass++) {
		enum xdev_phase before = d->phase;

		switch (d->phase) {
		case PH_INITWAIT:
			if (fstate == XB_INITIALISED || fstate == XB_CONNECTED)
				connect(d, NULL);
			break;
		case PH_CONNECTED:
			if (fstate != XB_CONNECTED && fstate != XB_INITIALISED)
				start_teardown(d);
			break;
		case PH_DOWN:
			if (d->revive && fstate == XB_CONNECTED) {
				d->revive = false;
				take_over(d, "when its worker died");
				break;
			}
			d->revive = false;
			forget_journal(d);
			if (d->fault || fstate == XB_CLOSING || fstate == XB_CONNECTED ||
			    fstate == XB_INITIALISED) {
				d->fault = false;
				write_state(d, XB_CLOSING);
				d->phase = PH_CLOSING;
			} else if (fstate == XB_INITIALISING) {
				publish_initwait(d);
			} else {
				write_state(d, XB_CLOSED);
				d->phase = PH_CLOSED;
			}
			break;
		case PH_CLOSING:
			if (fstate == XB_CLOSED || fstate < 0) {
				write_state(d, XB_CLOSED);
				d->phase = PH_CLOSED;
			} else if (fstate == XB_INITIALISING) {
				publish_initwait(d);
			}
			break;
		case PH_CLOSED:
			if (fstate == XB_INITIALISING)
				publish_initwait(d);
			break;
		default:
			break;
		}
		if (d->phase == before)
			break;
	}
}

void xdev_step(struct xdev *d)
{
	struct xmgr *m = d->m;
	char *online;
	int bstate;
	bool again = false;

	if (!m)
		return;
	if (d->busy) {
		d->dirty = true;
		return;
	}
	d->dirty = false;
	if (d->fe_dead) {
		reap(d);
		return;
	}
	bstate = read_state(m, d->be);
	if (bstate < 0) {
		if (d->conn) {
			start_teardown(d);
			return;
		}
		if (d->phase != PH_NEW)
			g_info("%s: backend directory removed", d->label);
		xm_forget_device(m, d);
		return;
	}
	online = xm_get(m, XBT_NULL, "%s/online", d->be);
	if ((d->phase != PH_NEW || first_look(d, &bstate, online)) &&
	    toolstack_asks(d, bstate, online, &again))
		follow_frontend(d);
	g_free(online);
	if (again)
		xdev_step(d);
}

void xdev_shutdown_begin(struct xdev *d)
{
	if (d->conn)
		xconn_handover_begin(d->conn);
}

void xdev_shutdown(struct xdev *d)
{
	if (d->td_thread) {
		/* The teardown waits for its worker's end, which this thread
		 * reports: keep the main context going meanwhile. */
		while (!g_atomic_int_get(&d->td_done))
			if (!g_main_context_iteration(NULL, FALSE))
				g_usleep(10000);
		g_thread_join(d->td_thread);
		d->td_thread = NULL;
		d->busy = false;
	}
	if (d->conn) {
		/* Left Connected: the next daemon takes the rings over.  Closing it
		 * would gain nothing: a Linux frontend cannot reconnect a closed
		 * device, and requests sent meanwhile wait in the rings either way. */
		xconn_handover(d->conn);
		d->conn = NULL;
		/* Only where the new program finds the journal again. */
		if (d->m && d->m->for_exec && d->journal_path) {
			char *var, *dvar;

			/* The next program's worker adopts them as this one's did. */
			kept_vars(d, &var, &dvar);
			x9p_kept_to_env_as(d->kept, -1, var, dvar);
			x9p_kept_release(d->kept);
			g_free(var);
			g_free(dvar);
		}
	}
	unconfigure(d);
}
