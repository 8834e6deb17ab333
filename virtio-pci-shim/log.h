/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * x9p-vhost logging: one whole line per message on stderr,
 * "x9p-vhost: LEVEL: text", below a threshold set by name.
 */
#ifndef X9P_VHOST_LOG_H
#define X9P_VHOST_LOG_H

#include <stdbool.h>

void vhost_log_init(void);
/* "error", "warning", "notice", "info" (default) or "debug"; false if unknown. */
bool vhost_log_set_level(const char *name);

#endif
