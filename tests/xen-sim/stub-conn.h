/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Client side of sim-proto.h, linked into each stand-in library.
 * sim_call() is one request/reply exchange; callers serialize per socket.
 */
#ifndef X9P_XENSIM_STUB_CONN_H
#define X9P_XENSIM_STUB_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "sim-proto.h"

/* Connects and says HELLO; returns the socket or -1 (errno). */
int sim_connect(uint32_t role, uint32_t link, uint32_t *id);
/*
 * Sends op with args and data (and fds), waits for the reply.  On return
 * 0: *rh is the reply header, *rdata a malloc'd copy of its data (NUL
 * terminated, may be NULL when rdata is NULL), rfds/nrfds its descriptors.
 * -1 (errno) if the connection failed.
 */
int sim_call(int sock, uint32_t op, const uint32_t a[4], const void *data, size_t len,
	     struct sim_hdr *rh, char **rdata, int *rfds, int *nrfds);
/* Reads one pushed message (blocking unless nonblock): 0, or -1 (errno). */
int sim_recv(int sock, struct sim_hdr *h, char **data, int *fds, int *nfds, int nonblock);

#endif
