/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Xen PV 9pfs backend: the device manager x9p-backend runs with --xen.
 *
 * Contract:
 *  - One manager serves every guest of the domain it runs in (dom0 or a
 *    driver domain).  It learns its own domid from the XenStore key
 *    "domid" (0 when that key is missing) and watches
 *    /local/domain/<own>/backend/<kind>/<domid>/<devid> for every kind in
 *    cfg->kinds ("9pfs" is what libxl 4.17 writes, "xen_9pfs" what libxl
 *    4.19+ writes for type=xen_9pfsd, "x9p" what xenstore-scripts/x9p-attach
 *    writes by default; any other name works too).
 *  - Serving "xen_9pfs" also honours libxl's spawn protocol for xen-9pfsd:
 *    libxl/xen-9pfs/state = "running" is written at start and removed at
 *    a clean exit.
 *  - Each device gets its own filesystem driver instance (one x9p-helper
 *    per device export, or a synthetic filesystem with cfg->synthetic) and
 *    its own engine; devices never share fids, helpers or rings, and a
 *    fault of one device (bad configuration, hostile ring contents, a dead
 *    guest) closes that device only.
 *  - Everything XenStore-related runs in the thread of the GMainContext
 *    the manager was started on (the default context); rings have their
 *    own I/O threads.  x9p_xen_start() and x9p_xen_stop() are called from
 *    that thread.
 *  - Log lines name the domain and device they concern ("dom5/9pfs/0: ").
 *  - docs/xen.md documents the XenStore keys, limits and deployment.
 */
#ifndef X9P_XEN_H
#define X9P_XEN_H

#include <stdbool.h>

#include <glib.h>

#include "helper/proxy.h"

#define X9P_XEN_DEFAULT_KINDS "9pfs,xen_9pfs,x9p"
#define X9P_XEN_DEFAULT_MAX_RINGS 4u
#define X9P_XEN_MAX_RINGS 8u
#define X9P_XEN_MAX_RING_ORDER 9u
/* Where each connected device's session journal is kept (--xen-state-dir). */
#define X9P_XEN_DEFAULT_STATE_DIR "/run/x9p-backend"

struct x9p_xen_cfg {
	const char *kinds;          /* comma list; NULL: X9P_XEN_DEFAULT_KINDS */
	bool synthetic;             /* every device serves a synthetic fs ... */
	const char *synth_spec;     /* ... built from this spec (may be NULL) */
	unsigned workers;           /* per device engine; 0: engine default */
	unsigned max_fids;          /* per device; 0: engine default */
	/* Open files per device when its backend has no (or a 0) max-open-files
	 * key; 0: no limit besides max_fids. */
	unsigned max_open_files;
	unsigned max_rings;         /* advertised max-rings; 0: default (4) */
	unsigned max_locks;         /* per device; 0: engine default */
	unsigned max_xattr_bytes;   /* per device; 0: engine default */
	enum x9p_multidevs multidevs; /* helper-backed exports */
	bool no_setid;              /* helper-backed exports: helper --no-setid */
	unsigned max_nodes;         /* helper-backed exports: helper --max-nodes; 0: default */
	const char *helper_log_level; /* NULL: the helper's default */
	int trace_fd;               /* the --trace file, for the workers; -1: none */
	/* Session journals of connected devices, kept across daemon restarts;
	 * NULL: X9P_XEN_DEFAULT_STATE_DIR; "": none (in memory only). */
	const char *state_dir;
};

struct x9p_xen;

/* Connects to XenStore, claims the spawn protocol if needed, picks up the
 * devices already present and starts watching.  NULL + err on failure. */
struct x9p_xen *x9p_xen_start(const struct x9p_xen_cfg *cfg, GError **err);
/* Hands every connected device over (left Connected, in-flight requests
 * answered first; the next x9p-backend takes the rings over), releases the
 * spawn-protocol node and disconnects from XenStore. */
void x9p_xen_stop(struct x9p_xen *x);
/* Before x9p_xen_stop(): the daemon executes itself next (a reload); the
 * open files without a name that devices' workers handed over go to the
 * new program (monitor/session-keep.h) instead of being closed. */
void x9p_xen_stop_for_exec(struct x9p_xen *x);

/* Checks a --xen-backend-kinds value; false + err if malformed. */
bool x9p_xen_kinds_valid(const char *kinds, GError **err);

/*
 * `x9p-backend --xen-device-model QEMU-ARGS...`: stands in for the QEMU
 * that libxl 4.17 starts as device model of a PV/PVH guest that has p9=
 * entries (xl's device_model_override): reports "running" in XenStore and
 * answers libxl's QMP queries, while the x9p-backend daemon serves the
 * guest's backend/9pfs devices.  argv[0] is "--xen-device-model".  Returns
 * the exit status.
 */
int x9p_xen_dm_main(int argc, char **argv);

#endif
