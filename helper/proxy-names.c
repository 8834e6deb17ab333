/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Names of proxy operations, security models and multidevs policies. */
#include <string.h>

#include "proxy.h"

const char *x9p_px_op_name(unsigned op)
{
	static const char *const names[X9P_PX_OP_END] = {
		[X9P_PX_HELLO] = "HELLO", [X9P_PX_ATTACH] = "ATTACH", [X9P_PX_WALK] = "WALK",
		[X9P_PX_CLUNK] = "CLUNK", [X9P_PX_GETATTR] = "GETATTR",
		[X9P_PX_SETATTR] = "SETATTR", [X9P_PX_OPEN] = "OPEN",
		[X9P_PX_CREATE] = "CREATE", [X9P_PX_MKDIR] = "MKDIR", [X9P_PX_MKNOD] = "MKNOD",
		[X9P_PX_SYMLINK] = "SYMLINK", [X9P_PX_LINK] = "LINK",
		[X9P_PX_READLINK] = "READLINK", [X9P_PX_RENAME] = "RENAME",
		[X9P_PX_UNLINK] = "UNLINK", [X9P_PX_READDIR] = "READDIR",
		[X9P_PX_STATFS] = "STATFS", [X9P_PX_FSYNC] = "FSYNC",
		[X9P_PX_GETXATTR] = "GETXATTR", [X9P_PX_LISTXATTR] = "LISTXATTR",
		[X9P_PX_SETXATTR] = "SETXATTR", [X9P_PX_REMOVEXATTR] = "REMOVEXATTR",
		[X9P_PX_CANCEL] = "CANCEL",
		[X9P_PX_CHANNEL] = "CHANNEL",
		[X9P_PX_ADOPT] = "ADOPT",
	};

	op &= ~X9P_PX_REPLY;
	return op < X9P_PX_OP_END ? names[op] : NULL;
}

static const char *const models[] = {
	[X9P_SM_PASSTHROUGH] = "passthrough",
	[X9P_SM_MAPPED_XATTR] = "mapped-xattr",
	[X9P_SM_MAPPED_FILE] = "mapped-file",
	[X9P_SM_NONE] = "none",
};

const char *x9p_secmodel_name(enum x9p_secmodel m)
{
	return (unsigned)m < sizeof(models) / sizeof(models[0]) ? models[m] : "?";
}

bool x9p_secmodel_parse(const char *s, enum x9p_secmodel *m)
{
	unsigned i;

	if (!s)
		return false;
	/* QEMU accepts "mapped" as the old name of mapped-xattr. */
	if (strcmp(s, "mapped") == 0) {
		*m = X9P_SM_MAPPED_XATTR;
		return true;
	}
	for (i = 0; i < sizeof(models) / sizeof(models[0]); i++) {
		if (strcmp(s, models[i]) == 0) {
			*m = (enum x9p_secmodel)i;
			return true;
		}
	}
	return false;
}

static const char *const multidevs[] = {
	[X9P_MULTIDEVS_REMAP] = "remap",
	[X9P_MULTIDEVS_FORBID] = "forbid",
	[X9P_MULTIDEVS_WARN] = "warn",
};

const char *x9p_multidevs_name(enum x9p_multidevs m)
{
	return (unsigned)m < sizeof(multidevs) / sizeof(multidevs[0]) ? multidevs[m] : "?";
}

bool x9p_multidevs_parse(const char *s, enum x9p_multidevs *m)
{
	unsigned i;

	if (!s)
		return false;
	for (i = 0; i < sizeof(multidevs) / sizeof(multidevs[0]); i++) {
		if (strcmp(s, multidevs[i]) == 0) {
			*m = (enum x9p_multidevs)i;
			return true;
		}
	}
	return false;
}
