/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * systemd's service notification protocol (sd_notify(3)), for the daemons'
 * Type=notify units: newline-separated KEY=value assignments in one
 * datagram to the unix socket named by $NOTIFY_SOCKET (a path, or an
 * abstract name written with a leading '@').  Without that variable,
 * nothing is sent.  The variable is left in the environment: a reload
 * executes the program again in the same process, whose READY=1 ends the
 * RELOADING=1 the old one sent.
 *
 * What the daemons say: READY=1 once they serve, STATUS= a line for
 * `systemctl status`, RELOADING=1 before a reload's exec, STOPPING=1 when
 * asked to stop.
 */
#ifndef X9P_MONITOR_SD_NOTIFY_H
#define X9P_MONITOR_SD_NOTIFY_H

#include <stdbool.h>

#include <glib.h>

/* Sends the assignments; false (debug-logged) when it cannot, or when
 * there is no $NOTIFY_SOCKET. */
bool x9p_sd_notify(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* RELOADING=1 with the MONOTONIC_USEC systemd wants beside it, and a
 * STATUS line. */
bool x9p_sd_notify_reloading(const char *status);

#endif
