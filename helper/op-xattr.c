/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Extended attributes as the guest sees them, per security model (the
 * rules of QEMU's 9p-xattr*.c and 9p-posix-acl.c):
 *
 *   passthrough, mapped-file  user.* and system.posix_acl_* pass through
 *   mapped-xattr              user.* passes; the POSIX ACLs live in
 *                             user.virtfs.system.posix_acl_*
 *   none                      user.* passes, ACLs are not supported
 *
 * In every model user.virtfs.* is reserved: it is where mapped-xattr keeps
 * ownership and mode, and an export may be served with another model
 * later (or by QEMU), so a guest must never plant it.  Get answers ENODATA,
 * set and remove EACCES (QEMU's answers), and it is never listed.
 *
 * Every other namespace (security., trusted., ...) is EOPNOTSUPP and is
 * left out of listings.
 */
#include <errno.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <glib.h>

#include "fsutil.h"
#include "helper.h"
#include "ops.h"

#define ACL_PREFIX "system.posix_acl_"
#define ACL_ACCESS "system.posix_acl_access"
#define ACL_DEFAULT "system.posix_acl_default"
#define VIRTFS_PREFIX "user.virtfs."

static bool prefixed(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

enum xclass { X_PASS, X_MAPPED_ACL, X_HIDDEN, X_UNSUPPORTED };

/* How a guest-visible name is handled; *host: the name used on the host. */
static enum xclass classify(const char *name, const char **host, char *buf, size_t len)
{
	*host = name;
	if (prefixed(name, VIRTFS_PREFIX))
		return X_HIDDEN;
	switch (hx.model) {
	case X9P_SM_MAPPED_XATTR:
		if (prefixed(name, "user."))
			return X_PASS;
		if (strcmp(name, ACL_ACCESS) == 0 || strcmp(name, ACL_DEFAULT) == 0) {
			g_snprintf(buf, len, "%s%s", VIRTFS_PREFIX, name);
			*host = buf;
			return X_MAPPED_ACL;
		}
		return X_UNSUPPORTED;
	case X9P_SM_NONE:
		return prefixed(name, "user.") ? X_PASS : X_UNSUPPORTED;
	default:
		return prefixed(name, "user.") || prefixed(name, ACL_PREFIX) ? X_PASS : X_UNSUPPORTED;
	}
}

int hx_op_getxattr(const struct x9p_px_req *q, struct hx_out *o)
{
	size_t size = q->size > X9P_PX_XSIZE_MAX ? X9P_PX_XSIZE_MAX : q->size;
	char hbuf[X9P_PX_XNAME_MAX + 32];
	const char *host;
	struct hx_node *n;
	ssize_t r;
	int e;
	HX_NAME(name, q->xname);

	switch (classify(name, &host, hbuf, sizeof(hbuf))) {
	case X_HIDDEN:
		return -ENODATA;
	case X_UNSUPPORTED:
		return -EOPNOTSUPP;
	default:
		break;
	}
	e = hx_get_node(q->node, &n);
	if (e)
		return e;
	r = hx_fgetxattr_path(n->fd, n->type, host, size ? o->scratch : NULL, size);
	hx_node_put(n);
	if (r < 0)
		return (int)r;
	if ((size_t)r > X9P_PX_XSIZE_MAX)
		return -E2BIG;
	o->rep->xlen = (uint32_t)r;
	if (size) {
		o->rep->data = o->scratch;
		o->rep->data_len = (uint32_t)r;
	}
	return 0;
}

/* The host's list of n, fetched whole (it may grow between two calls). */
static ssize_t host_list(struct hx_node *n, char **out)
{
	int tries;

	for (tries = 0; tries < 4; tries++) {
		ssize_t len = hx_flistxattr_path(n->fd, n->type, NULL, 0);
		char *buf;

		if (len <= 0) {
			*out = NULL;
			return len;
		}
		buf = g_malloc((size_t)len);
		len = hx_flistxattr_path(n->fd, n->type, buf, (size_t)len);
		if (len >= 0) {
			*out = buf;
			return len;
		}
		g_free(buf);
		if (len != -ERANGE)
			return len;
	}
	return -ERANGE;
}

int hx_op_listxattr(const struct x9p_px_req *q, struct hx_out *o)
{
	char *list = NULL, *p, *end;
	GString *res = g_string_new(NULL);
	struct hx_node *n;
	ssize_t len;
	int e = hx_get_node(q->node, &n);

	if (e)
		goto out;
	len = host_list(n, &list);
	hx_node_put(n);
	if (len < 0) {
		e = (int)len;
		goto out;
	}
	for (p = list, end = list ? list + len : NULL; p && p < end; p += strlen(p) + 1) {
		const char *host, *shown = p;
		char hbuf[X9P_PX_XNAME_MAX + 32];

		if (!memchr(p, 0, (size_t)(end - p)))
			break;
		if (hx.model == X9P_SM_MAPPED_XATTR && prefixed(p, VIRTFS_PREFIX ACL_PREFIX)) {
			shown = p + strlen(VIRTFS_PREFIX);
			if (classify(shown, &host, hbuf, sizeof(hbuf)) != X_MAPPED_ACL)
				continue;
		} else if (classify(p, &host, hbuf, sizeof(hbuf)) != X_PASS) {
			continue;
		}
		g_string_append_len(res, shown, (gssize)strlen(shown) + 1);
	}
	if (res->len > X9P_PX_XSIZE_MAX) {
		e = -E2BIG;
		goto out;
	}
	o->rep->xlen = (uint32_t)res->len;
	if (q->size) {
		if (res->len > q->size) {
			e = -ERANGE;
			goto out;
		}
		memcpy(o->scratch, res->str, res->len);
		o->rep->data = o->scratch;
		o->rep->data_len = (uint32_t)res->len;
	}
out:
	g_free(list);
	g_string_free(res, TRUE);
	return e;
}

int hx_op_setxattr(const struct x9p_px_req *q, struct hx_out *o)
{
	int flags = (q->xflags & X9P_PXX_CREATE) ? XATTR_CREATE :
		    (q->xflags & X9P_PXX_REPLACE) ? XATTR_REPLACE : 0;
	char hbuf[X9P_PX_XNAME_MAX + 32];
	const char *host;
	struct hx_node *n;
	int e;
	HX_NAME(name, q->xname);

	if (hx.readonly)
		return -EROFS;
	switch (classify(name, &host, hbuf, sizeof(hbuf))) {
	case X_HIDDEN:
		return -EACCES;
	case X_UNSUPPORTED:
		return -EOPNOTSUPP;
	default:
		break;
	}
	e = hx_get_node(q->node, &n);
	if (e)
		return e;
	e = hx_fsetxattr_path(n->fd, n->type, host, q->value, q->value_len, flags);
	hx_node_put(n);
	return e;
}

int hx_op_removexattr(const struct x9p_px_req *q, struct hx_out *o)
{
	char hbuf[X9P_PX_XNAME_MAX + 32];
	const char *host;
	struct hx_node *n;
	enum xclass c;
	int e;
	HX_NAME(name, q->xname);

	if (hx.readonly)
		return -EROFS;
	c = classify(name, &host, hbuf, sizeof(hbuf));
	if (c == X_HIDDEN)
		return -EACCES;
	if (c == X_UNSUPPORTED)
		return -EOPNOTSUPP;
	e = hx_get_node(q->node, &n);
	if (e)
		return e;
	e = hx_fremovexattr_path(n->fd, n->type, host);
	hx_node_put(n);
	/* Removing an absent ACL is not an error (QEMU's mapped ACL rule). */
	if (e == -ENODATA && c == X_MAPPED_ACL)
		e = 0;
	return e;
}
