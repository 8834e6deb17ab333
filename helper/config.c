/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The helper's process-wide configuration (see helper.h). */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <glib.h>

#include "helper.h"

struct hx_config hx = {
	.root_fd = -1,
	.proc_fd = -1,
	.have_openat2 = 1,
	.have_xattrat = 1,
	.have_fchmodat2 = 1,
};

int hx_config_init(int export_fd, enum x9p_secmodel model, enum x9p_multidevs md,
		   bool readonly, unsigned max_nodes)
{
	struct stat st;
	int fd = openat(export_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode)) {
		int e = errno ? -errno : -ENOTDIR;
		close(fd);
		return e;
	}
	hx.root_fd = fd;
	hx.root_dev = st.st_dev;
	hx.root_ino = st.st_ino;
	hx.model = model;
	hx.multidevs = md;
	hx.readonly = readonly;
	hx.max_nodes = max_nodes;
	return 0;
}

int hx_device_allowed(dev_t dev)
{
	if (dev == hx.root_dev)
		return 0;
	hx_note_device(dev);
	return hx.multidevs == X9P_MULTIDEVS_FORBID ? -ENODEV : 0;
}

void hx_note_device(dev_t dev)
{
	static GMutex lock;
	static GHashTable *seen;
	bool first;

	g_mutex_lock(&lock);
	if (!seen)
		seen = g_hash_table_new(g_int64_hash, g_int64_equal);
	first = !g_hash_table_contains(seen, &(gint64){ (gint64)dev });
	if (first) {
		gint64 *k = g_new(gint64, 1);

		*k = (gint64)dev;
		g_hash_table_add(seen, k);
	}
	g_mutex_unlock(&lock);
	if (!first)
		return;
	switch (hx.multidevs) {
	case X9P_MULTIDEVS_FORBID:
		g_warning("the export spans another filesystem (device %u:%u); "
			  "multidevs=forbid denies access to it", major(dev), minor(dev));
		break;
	case X9P_MULTIDEVS_WARN:
		g_warning("the export spans another filesystem (device %u:%u); with "
			  "multidevs=warn inode numbers may collide in the guest",
			  major(dev), minor(dev));
		break;
	default:
		g_info("the export spans another filesystem (device %u:%u); remapped",
		       major(dev), minor(dev));
		break;
	}
}
