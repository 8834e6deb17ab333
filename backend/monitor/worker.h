/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The monitor's side of one worker process (privsep/mw.h): starting it,
 * answering its requests, and noticing its end.  Runs in the monitor's
 * main context; never parses anything but monitor-worker messages.
 *
 * x9p_mworker_start() forks and executes the worker program with the
 * channel as descriptor 3, /dev/null as stdin and a pipe as stdout and
 * stderr (relayed: log/relay.h), every other descriptor closed, and
 * argv[0] "DAEMON: worker LABEL" (what ps shows), then sends `config`
 * (its descriptors are sent, not closed: the caller keeps them for the
 * next worker).
 *
 * Requests: HELPER_START, HELPER_KILL and HELPER_REAP act only on the
 * helper of `helpers` (one at a time); without `helpers` a start is
 * refused with ENOTSUP.  Starts are limited per minute: at most
 * MWORKER_HELPER_STARTS after a helper the worker asked to kill (a worker
 * cycling its helper costs the monitor a process creation each time), and
 * MWORKER_HELPER_RESTARTS in all, so that a helper killed from outside
 * (the OOM killer, an operator) comes back as fast as it goes.  A worker
 * that sends a malformed or unexpected message is killed and its end
 * reported like any other.  When the worker has exited, its helper is
 * reaped (killed if it still runs) before exited() is called; the
 * x9p_mworker is then inert and the caller frees it.
 */
#ifndef X9P_MONITOR_WORKER_H
#define X9P_MONITOR_WORKER_H

#include <glib.h>
#include <sys/types.h>

#include "fs/helper-launch.h"
#include "privsep/mw.h"

#define MWORKER_HELPER_STARTS 30
#define MWORKER_HELPER_RESTARTS 1200
/* Workers started again per minute after deaths by SIGKILL (an operator,
 * the OOM killer), for a service or a Xen device. */
#define MWORKER_KILL_RESTARTS 1200

struct x9p_mworker;

struct x9p_mworker_cfg {
	const char *daemon;                  /* "x9p-backend", "x9p-vhost" */
	const char *label;
	const char *program;                 /* the worker binary */
	const struct mw_msg *config;
	/* Sent right after config, in order (descriptors sent, not closed). */
	struct mw_msg *const *after;
	unsigned nafter;
	struct x9p_helper_launcher *helpers; /* not owned; may be NULL */
	void (*ready)(void *opaque, struct x9p_mworker *w);
	void (*exited)(void *opaque, struct x9p_mworker *w, int wait_status);
	/* SESSION, FAULT, KEEP_FD, DROP_FD, KEEP_DEVICE, KEEP_CONN and
	 * DROP_CONN; NULL: those are
	 * violations.  The message is well-formed (codec) but its values are
	 * unchecked; its descriptors are closed after the call. */
	void (*note)(void *opaque, struct x9p_mworker *w, const struct mw_msg *m);
	void *opaque;
};

struct x9p_mworker *x9p_mworker_start(const struct x9p_mworker_cfg *cfg, GError **err);
/*
 * Serves the worker's messages in the caller's thread (the monitor's main
 * thread, outside any dispatch of them) until it is ready, it ended or
 * timeout_ms passed: true once ready.  For callers that must not go on
 * before the worker serves (a Xen device is Connected only then).
 */
bool x9p_mworker_wait_ready(struct x9p_mworker *w, int timeout_ms);
/* Until it has exited (iterating the default main context), at most
 * timeout_ms; true once it has.  Main thread, outside a dispatch. */
bool x9p_mworker_wait_exit(struct x9p_mworker *w, int timeout_ms);
bool x9p_mworker_exited(const struct x9p_mworker *w);
/*
 * How a worker that is ending ended, without reaping it (the child watch
 * still reports it): the signal that killed it, 0 for an exit, -1 when it
 * has not ended within timeout_ms or that cannot be told.  Dispatches
 * nothing.
 */
int x9p_mworker_end_signal(struct x9p_mworker *w, int timeout_ms);
/* SIGKILL at once. */
void x9p_mworker_kill(struct x9p_mworker *w);
/* SIGTERM now, SIGKILL if it is still there after grace_s seconds. */
void x9p_mworker_terminate(struct x9p_mworker *w, unsigned grace_s);
void x9p_mworker_free(struct x9p_mworker *w);
pid_t x9p_mworker_pid(const struct x9p_mworker *w);
const char *x9p_mworker_label(const struct x9p_mworker *w);

/* The worker program: $X9P_WORKER, x9p-worker next to the running
 * program, else X9P_LIBEXECDIR/x9p-worker (g_free). */
char *x9p_mworker_program(void);

#endif
