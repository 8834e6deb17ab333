/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The recording options, shared by the daemons whose devices can be
 * recorded (record/record.h, docs/trace-format.md): x9p-backend's Xen
 * devices and x9p-vhost's virtqueue.
 *   --record DIR          record each device into DIR/<device>.x9prec
 *   --record-size MIB     both files of one device together (default 64)
 *   --record-redact       leave file data and names out
 * Add x9p_record_entries to the option context, then call
 * x9p_record_resolve() after parsing: it checks the values and DIR here,
 * in the monitor, which opens every recording file (a worker opens
 * nothing).
 */
#ifndef X9P_MONITOR_RECORD_OPTS_H
#define X9P_MONITOR_RECORD_OPTS_H

#include <glib.h>

#include "privsep/mw.h"

extern const GOptionEntry x9p_record_entries[];

bool x9p_record_resolve(GError **err);
/* Whether --record was given. */
bool x9p_record_on(void);
/*
 * With --record: opens label's two files (x9p_rec_files(); append: the
 * device's previous worker or program recorded into them, and this one
 * goes on) and adds them to a worker's CONFIG with the flags and size
 * limit.  After the journal's descriptor, before the trace's
 * (mw_cf_fd_at()).  A file that cannot be opened is logged, and the
 * device is served unrecorded.
 */
void x9p_record_config(struct mw_msg *cfg, const char *label, bool append);
/* Closes the recording files x9p_record_config() added (the monitor's
 * copies) and marks them gone (-1). */
void x9p_record_config_close(struct mw_msg *cfg);

#endif
