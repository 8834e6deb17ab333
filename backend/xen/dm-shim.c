// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Device-model stand-in for libxl 4.17 (`x9p-backend --xen-device-model`).
 *
 * libxl 4.17 starts a device-model QEMU for every PV/PVH guest that has p9=
 * entries (libxl__need_xenpv_qemu), through libxl__spawn_local_dm(), which
 * runs b_info->device_model (xl's device_model_override) when set.  It
 * then waits for /local/domain/0/device-model/<domid>/state = "running"
 * and, for QEMU_XEN device models, connects to the QMP socket it named in
 * `-chardev socket,id=libxl-cmd,path=...` (or passed as fd=N), expects a
 * QMP greeting and sends qmp_capabilities, query-chardev and, when the
 * guest has VNC, query-vnc; a failure or a 10 s silence fails the domain
 * creation.  It stops the device model with a signal (SIGHUP) through the
 * pid it recorded.
 *
 * This stand-in does exactly that and nothing else: the guest's 9pfs
 * devices (backend/9pfs/<domid>) are served by the x9p-backend daemon,
 * which must run with the "9pfs" backend kind.  Options that need a real
 * device model (disks, VNC, network, ...) are reported as ignored: such a
 * guest needs the real QEMU.
 */
#define G_LOG_DOMAIN "x9p-xen-dm"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib.h>
#include <glib-unix.h>
#include <xenstore.h>

#include "xen/x9p-xen.h"

struct qmp_listener {
	char *id;
	char *path;                  /* NULL for an inherited fd */
	int fd;
	bool monitor;                /* named by -mon chardev=ID,mode=control */
	guint src;
};

struct qmp_client {
	int fd;
	guint src;
	GString *in;
};

static struct {
	unsigned domid;
	char *name;
	GPtrArray *listeners;        /* struct qmp_listener */
	GMainLoop *loop;
	struct xs_handle *xsh;
	int status;
} dm;

/* ---- arguments ------------------------------------------------------ */

/* Value of key=... in a QEMU option string "a=b,c=d,flag". */
static char *opt_value(const char *opts, const char *key)
{
	char **parts = g_strsplit(opts, ",", -1);
	size_t kl = strlen(key);
	char *v = NULL;

	for (char **p = parts; *p && !v; p++)
		if (strncmp(*p, key, kl) == 0 && (*p)[kl] == '=')
			v = g_strdup(*p + kl + 1);
	g_strfreev(parts);
	return v;
}

static bool parse_args(int argc, char **argv)
{
	bool have_domid = false;

	dm.listeners = g_ptr_array_new();
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "-xen-domid") == 0 && val) {
			char *end;
			unsigned long v = strtoul(val, &end, 10);

			if (!*val || *end || v > 0xfffe) {
				fprintf(stderr, "x9p-xen-dm: -xen-domid '%s' is not a domain id\n", val);
				return false;
			}
			dm.domid = (unsigned)v;
			have_domid = true;
			i++;
		} else if (strcmp(a, "-name") == 0 && val) {
			g_free(dm.name);
			dm.name = g_strdup(val);
			i++;
		} else if (strcmp(a, "-chardev") == 0 && val) {
			if (g_str_has_prefix(val, "socket,")) {
				struct qmp_listener *l = g_new0(struct qmp_listener, 1);
				char *fd = opt_value(val, "fd");

				l->id = opt_value(val, "id");
				l->path = opt_value(val, "path");
				l->fd = fd ? atoi(fd) : -1;
				g_free(fd);
				if (!l->id || (!l->path && l->fd < 0)) {
					fprintf(stderr, "x9p-xen-dm: -chardev %s: need id= and path= or fd=\n",
						val);
					return false;
				}
				g_ptr_array_add(dm.listeners, l);
			} else {
				g_warning("x9p device-model stand-in: ignoring -chardev %s", val);
			}
			i++;
		} else if (strcmp(a, "-mon") == 0 && val) {
			char *id = opt_value(val, "chardev");
			char *mode = opt_value(val, "mode");

			for (guint j = 0; id && j < dm.listeners->len; j++) {
				struct qmp_listener *l = dm.listeners->pdata[j];

				if (strcmp(l->id, id) == 0 && mode && strcmp(mode, "control") == 0)
					l->monitor = true;
			}
			g_free(id);
			g_free(mode);
			i++;
		} else if (strcmp(a, "-drive") == 0 || strcmp(a, "-device") == 0 ||
			   strcmp(a, "-netdev") == 0 || strcmp(a, "-net") == 0 ||
			   (strcmp(a, "-vnc") == 0 && val && strcmp(val, "none") != 0) ||
			   strcmp(a, "-spice") == 0 || strcmp(a, "-usb") == 0) {
			g_warning("x9p device-model stand-in: %s %s needs a real QEMU; ignored", a,
				  val ? val : "");
			if (val && val[0] != '-')
				i++;
		}
	}
	if (!have_domid) {
		fprintf(stderr, "x9p-xen-dm: no -xen-domid given\n");
		return false;
	}
	return true;
}

/* ---- QMP ------------------------------------------------------------ */

/* Skips one JSON value starting at *p; false if malformed or incomplete. */
static bool skip_value(const char **p, const char *end)
{
	const char *s = *p;
	bool in_str = false;
	int depth = 0;

	if (s >= end)
		return false;
	if (*s == '"') {
		for (s++; s < end; s++) {
			if (*s == '\\') {
				s++;
			} else if (*s == '"') {
				*p = s + 1;
				return true;
			}
		}
		return false;
	}
	if (*s != '{' && *s != '[') {
		const char *start = s;

		while (s < end && !strchr(",}] \t\r\n", *s))
			s++;
		*p = s;
		return s > start;
	}
	for (; s < end; s++) {
		if (in_str) {
			if (*s == '\\')
				s++;
			else if (*s == '"')
				in_str = false;
			continue;
		}
		if (*s == '"') {
			in_str = true;
		} else if (*s == '{' || *s == '[') {
			depth++;
		} else if ((*s == '}' || *s == ']') && --depth == 0) {
			*p = s + 1;
			return true;
		}
	}
	return false;
}

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && strchr(" \t\r\n", *p))
		p++;
	return p;
}

/* Finds the top-level "execute" and "id" members of one command object. */
static bool parse_command(const char *s, size_t len, char **execute, char **id)
{
	const char *p = s, *end = s + len;

	*execute = *id = NULL;
	p = skip_ws(p, end);
	if (p >= end || *p != '{')
		return false;
	p++;
	for (;;) {
		const char *k, *v;
		size_t klen;

		p = skip_ws(p, end);
		if (p < end && *p == '}')
			return true;
		if (p >= end || *p != '"')
			return false;
		k = p + 1;
		if (!skip_value(&p, end))
			return false;
		klen = (size_t)(p - 1 - k);
		p = skip_ws(p, end);
		if (p >= end || *p != ':')
			return false;
		p = skip_ws(p + 1, end);
		v = p;
		if (!skip_value(&p, end))
			return false;
		if (klen == 7 && memcmp(k, "execute", 7) == 0 && *v == '"' && p - v >= 2) {
			g_free(*execute);
			*execute = g_strndup(v + 1, (size_t)(p - v - 2));
		} else if (klen == 2 && memcmp(k, "id", 2) == 0) {
			g_free(*id);
			*id = g_strndup(v, (size_t)(p - v));
		}
		p = skip_ws(p, end);
		if (p < end && *p == ',')
			p++;
	}
}

static void client_write(struct qmp_client *c, const char *s)
{
	size_t len = strlen(s);

	while (len) {
		ssize_t w = send(c->fd, s, len, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		len -= (size_t)w;
	}
}

static void client_free(struct qmp_client *c)
{
	if (c->src)
		g_source_remove(c->src);
	close(c->fd);
	g_string_free(c->in, TRUE);
	g_free(c);
}

static void answer(struct qmp_client *c, const char *execute, const char *id)
{
	const char *ret = NULL;
	char *reply, *idpart = id ? g_strdup_printf(", \"id\": %s", id) : g_strdup("");

	if (!execute)
		reply = g_strdup_printf("{\"error\": {\"class\": \"GenericError\", \"desc\": "
					"\"no command\"}%s}\r\n", idpart);
	else {
		if (strcmp(execute, "qmp_capabilities") == 0 || strcmp(execute, "quit") == 0 ||
		    strcmp(execute, "cont") == 0 || strcmp(execute, "stop") == 0)
			ret = "{}";
		else if (strcmp(execute, "query-chardev") == 0 ||
			 strcmp(execute, "query-blockstats") == 0 ||
			 strcmp(execute, "query-block") == 0)
			ret = "[]";
		else if (strcmp(execute, "query-vnc") == 0)
			ret = "{\"enabled\": false}";
		else if (strcmp(execute, "query-status") == 0)
			ret = "{\"status\": \"running\", \"singlestep\": false, \"running\": true}";
		else if (strcmp(execute, "query-version") == 0)
			ret = "{\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}, "
			      "\"package\": \"x9p device-model stand-in\"}";
		if (ret)
			reply = g_strdup_printf("{\"return\": %s%s}\r\n", ret, idpart);
		else
			reply = g_strdup_printf("{\"error\": {\"class\": \"CommandNotFound\", "
						"\"desc\": \"The command %s has not been found\"}%s}\r\n",
						execute, idpart);
	}
	client_write(c, reply);
	g_free(reply);
	g_free(idpart);
	if (execute && strcmp(execute, "quit") == 0)
		g_main_loop_quit(dm.loop);
}

/* Splits complete top-level JSON objects off the input and answers them. */
static void process_input(struct qmp_client *c)
{
	for (;;) {
		const char *s = c->in->str, *end = s + c->in->len;
		const char *p = skip_ws(s, end);
		const char *obj = p;
		char *execute, *id;

		if (p >= end)
			break;
		if (*p != '{') {
			/* Garbage: drop up to the next object. */
			const char *n = memchr(p, '{', (size_t)(end - p));

			g_string_erase(c->in, 0, n ? (gssize)(n - s) : -1);
			continue;
		}
		if (!skip_value(&p, end))
			break;          /* incomplete */
		if (parse_command(obj, (size_t)(p - obj), &execute, &id))
			answer(c, execute, id);
		else
			client_write(c, "{\"error\": {\"class\": \"GenericError\", \"desc\": "
				     "\"malformed command\"}}\r\n");
		g_free(execute);
		g_free(id);
		g_string_erase(c->in, 0, (gssize)(p - s));
	}
	if (c->in->len > 65536)
		g_string_truncate(c->in, 0);
}

static gboolean on_client(gint fd, GIOCondition cond, gpointer data)
{
	struct qmp_client *c = data;
	char buf[4096];
	ssize_t n = recv(fd, buf, sizeof(buf), 0);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return G_SOURCE_CONTINUE;
	if (n <= 0) {
		c->src = 0;
		client_free(c);
		return G_SOURCE_REMOVE;
	}
	g_string_append_len(c->in, buf, n);
	process_input(c);
	return G_SOURCE_CONTINUE;
}

static gboolean on_accept(gint fd, GIOCondition cond, gpointer data)
{
	int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	struct qmp_client *c;

	if (cfd < 0)
		return G_SOURCE_CONTINUE;
	c = g_new0(struct qmp_client, 1);
	c->fd = cfd;
	c->in = g_string_new(NULL);
	client_write(c, "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, "
		     "\"major\": 7}, \"package\": \"x9p device-model stand-in\"}, "
		     "\"capabilities\": []}}\r\n");
	c->src = g_unix_fd_add(cfd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_client, c);
	return G_SOURCE_CONTINUE;
}

static bool listen_on(struct qmp_listener *l)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (l->fd >= 0) {
		fcntl(l->fd, F_SETFD, FD_CLOEXEC);
		if (listen(l->fd, 8) < 0 && errno != EINVAL) {
			fprintf(stderr, "x9p-xen-dm: chardev %s: fd %d: %s\n", l->id, l->fd,
				strerror(errno));
			return false;
		}
	} else {
		if (strlen(l->path) >= sizeof(sa.sun_path)) {
			fprintf(stderr, "x9p-xen-dm: chardev %s: path too long\n", l->id);
			return false;
		}
		strcpy(sa.sun_path, l->path);
		l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		unlink(l->path);
		if (l->fd < 0 || bind(l->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    listen(l->fd, 8) < 0) {
			fprintf(stderr, "x9p-xen-dm: chardev %s: %s: %s\n", l->id, l->path,
				strerror(errno));
			return false;
		}
	}
	l->src = g_unix_fd_add(l->fd, G_IO_IN, on_accept, l);
	return true;
}

/* ---- XenStore and life cycle ---------------------------------------- */

static gboolean on_signal(gpointer data)
{
	g_main_loop_quit(dm.loop);
	return G_SOURCE_CONTINUE;
}

static gboolean on_xs(gint fd, GIOCondition cond, gpointer data)
{
	char **vec;

	while ((vec = xs_check_watch(dm.xsh))) {
		if (strcmp(vec[XS_WATCH_TOKEN], "rel") == 0 &&
		    !xs_is_domain_introduced(dm.xsh, dm.domid)) {
			g_message("domain %u is gone; exiting", dm.domid);
			g_main_loop_quit(dm.loop);
		}
		free(vec);
	}
	if (errno != EAGAIN && errno != EINTR) {
		g_main_loop_quit(dm.loop);
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

int x9p_xen_dm_main(int argc, char **argv)
{
	char *state_path;
	guint xs_src = 0;

	memset(&dm, 0, sizeof(dm));
	signal(SIGPIPE, SIG_IGN);
	if (!parse_args(argc, argv))
		return 2;
	dm.loop = g_main_loop_new(NULL, FALSE);
	g_unix_signal_add(SIGHUP, on_signal, NULL);
	g_unix_signal_add(SIGTERM, on_signal, NULL);
	g_unix_signal_add(SIGINT, on_signal, NULL);
	for (guint i = 0; i < dm.listeners->len; i++) {
		struct qmp_listener *l = dm.listeners->pdata[i];

		if (l->monitor && !listen_on(l)) {
			dm.status = 1;
			goto out;
		}
	}
	dm.xsh = xs_open(0);
	if (!dm.xsh) {
		fprintf(stderr, "x9p-xen-dm: cannot connect to XenStore: %s\n", strerror(errno));
		dm.status = 1;
		goto out;
	}
	state_path = g_strdup_printf("/local/domain/0/device-model/%u/state", dm.domid);
	if (!xs_write(dm.xsh, XBT_NULL, state_path, "running", 7)) {
		fprintf(stderr, "x9p-xen-dm: writing %s: %s\n", state_path, strerror(errno));
		g_free(state_path);
		dm.status = 1;
		goto out;
	}
	g_free(state_path);
	xs_src = g_unix_fd_add(xs_fileno(dm.xsh), G_IO_IN, on_xs, NULL);
	if (!xs_watch(dm.xsh, "@releaseDomain", "rel"))
		g_warning("watching @releaseDomain failed: %s", strerror(errno));
	g_message("device-model stand-in for domain %u (%s) running; its 9pfs devices are "
		  "served by the x9p-backend daemon", dm.domid, dm.name ? dm.name : "?");
	g_main_loop_run(dm.loop);
out:
	if (xs_src)
		g_source_remove(xs_src);
	if (dm.xsh)
		xs_close(dm.xsh);
	for (guint i = 0; i < dm.listeners->len; i++) {
		struct qmp_listener *l = dm.listeners->pdata[i];

		if (l->src)
			g_source_remove(l->src);
		if (l->fd >= 0)
			close(l->fd);
		if (l->path && l->src)
			unlink(l->path);
		g_free(l->id);
		g_free(l->path);
		g_free(l);
	}
	g_ptr_array_free(dm.listeners, TRUE);
	g_main_loop_unref(dm.loop);
	g_free(dm.name);
	return dm.status;
}
