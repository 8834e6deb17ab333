// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The two helpers every sandbox step uses (sandbox-priv.h), apart from the
 * helper's own sequence in sandbox.c, so that a worker linking the steps
 * it needs links nothing else of the helper's sandbox (no fork).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "sandbox-priv.h"

int x9p_sb_fail(char **err, int errnum, const char *fmt, ...)
{
	va_list ap;

	if (errnum <= 0)
		errnum = EINVAL;
	if (err && !*err) {
		char *msg;

		va_start(ap, fmt);
		msg = g_strdup_vprintf(fmt, ap);
		va_end(ap);
		*err = g_strdup_printf("%s: %s", msg, g_strerror(errnum));
		g_free(msg);
	}
	return -errnum;
}

int x9p_sb_write_file(const char *path, const char *buf, char **err)
{
	size_t len = strlen(buf);
	ssize_t n;
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return x9p_sb_fail(err, errno, "open(%s)", path);
	n = write(fd, buf, len);
	if (n < 0 || (size_t)n != len) {
		int e = n < 0 ? errno : EIO;

		close(fd);
		return x9p_sb_fail(err, e, "write(%s)", path);
	}
	if (close(fd) < 0)
		return x9p_sb_fail(err, errno, "close(%s)", path);
	return 0;
}
