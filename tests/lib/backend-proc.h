/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Runs the real x9p-backend program for tests.
 *
 * x9p_backend_start() starts $X9P_BUILD/x9p-backend (default build/) with
 * the given extra arguments plus a private unix socket listener and
 * --ready-fd, and waits until it reports ready.  The process is killed and
 * reaped by x9p_backend_stop(); its stderr goes to the test's stderr.
 */
#ifndef X9P_TESTS_BACKEND_PROC_H
#define X9P_TESTS_BACKEND_PROC_H

#include <stdbool.h>
#include <sys/types.h>

struct x9p_backend_proc {
	pid_t pid;
	char *dir;       /* private temporary directory */
	char *sock;      /* path of the unix socket */
	char *addr;      /* "unix:<sock>" for p9c_connect */
};

/* argv: NULL-terminated extra arguments.  Returns false (with a message on
 * stderr) if the program could not be started or did not become ready. */
bool x9p_backend_start(struct x9p_backend_proc *p, const char *const *argv);
void x9p_backend_stop(struct x9p_backend_proc *p);
/* True while the process is still running. */
bool x9p_backend_alive(struct x9p_backend_proc *p);
/* Path of a program built next to x9p-backend. */
char *x9p_build_path(const char *name);

#endif
