/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the daemons serve, one set of options for x9p-backend and x9p-vhost:
 *   --export DIR            a host directory, through x9p-helper (fs/proxy.h)
 *   --security-model MODEL  with --export, required: passthrough,
 *                           mapped-xattr, mapped-file or none
 *   --readonly              with --export: every change refused
 *   --multidevs MODE        with --export: remap (default), forbid or warn
 *   --no-setid              never set-user-ID or set-group-ID bits on host
 *                           files, in passthrough too
 *   --max-nodes N           files and directories the clients of one export
 *                           may hold in its helper (default: the helper's)
 *   --synthetic[=SPEC]      the built-in in-memory test tree instead
 * Add x9p_export_entries to the option context, then call
 * x9p_export_resolve() after parsing.  Whether anything at all is served
 * is each daemon's own check.
 */
#ifndef X9P_MONITOR_EXPORT_OPTS_H
#define X9P_MONITOR_EXPORT_OPTS_H

#include <stdbool.h>

#include <glib.h>

#include "fs/proxy.h"
#include "privsep/mw.h"

extern const GOptionEntry x9p_export_entries[];

/* Checks the options.  elsewhere: the option under which the daemon also
 * serves exports it is told of at run time (x9p-backend's "--xen"), NULL
 * for none, and elsewhere_on whether it was given: --no-setid and
 * --max-nodes apply to those exports as well. */
bool x9p_export_resolve(const char *elsewhere, bool elsewhere_on, GError **err);
/* The --export directory, or NULL. */
const char *x9p_export_dir(void);
bool x9p_export_synthetic(void);
/* --synthetic's SPEC ("" without one), or NULL without --synthetic. */
const char *x9p_export_synth_spec(void);
enum x9p_multidevs x9p_export_multidevs(void);
bool x9p_export_no_setid(void);
/* --max-nodes, 0 for the helper's default. */
unsigned x9p_export_max_nodes(void);
/* Sets a worker CONFIG's filesystem fields: FS, MODEL, MULTIDEVS,
 * MAX_NODES, and ORs READONLY and NO_SETID into FLAGS. */
void x9p_export_config(struct mw_msg *c);
/* What the export's helpers are started with: path, model, multidevs,
 * readonly, no_setid, max_nodes; the rest of *pc is left alone. */
void x9p_export_proxy_cfg(struct x9p_proxy_cfg *pc);

#endif
