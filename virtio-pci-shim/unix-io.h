/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Blocking message I/O on a connected SOCK_STREAM unix socket with
 * descriptor passing, shared by the vhost-user (vu-msg) and vfio-user
 * (vfu-msg) codecs.
 *
 * Contract:
 *  - uio_recv_fds() does one recvmsg() of at most `len` bytes and collects
 *    the SCM_RIGHTS descriptors that came with it (close-on-exec).  It
 *    keeps at most `max_fds` in fds[] and closes the rest, setting
 *    *excess; truncated ancillary data (MSG_CTRUNC) is -EPROTO with every
 *    descriptor closed.  Returns the bytes read (0: orderly close) or
 *    -errno; on error *nfds is 0.
 *  - uio_read_full() reads exactly `len` bytes: 0, -EPROTO when the peer
 *    closes before the end, -ETIMEDOUT when no byte comes for
 *    UIO_STALL_MS (a peer stopped in the middle of a message holds the
 *    reader, which could then neither serve anyone nor see a stop
 *    request), or -errno.
 *  - uio_send_all() writes every byte of iov[], the descriptors going with
 *    the first byte.  0 or -errno; never raises SIGPIPE.
 *  - EINTR is retried everywhere.
 *  - uio_close_fds() closes the descriptors of fds[0..n) that are not -1;
 *    uio_take_fd() takes fds[i] out of such an array (-1: none there).
 */
#ifndef X9P_UNIX_IO_H
#define X9P_UNIX_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

ssize_t uio_recv_fds(int sock, void *buf, size_t len, int *fds, int max_fds, int *nfds,
		     bool *excess);
#define UIO_STALL_MS 2000
int uio_read_full(int sock, void *buf, size_t len);
int uio_send_all(int sock, const struct iovec *iov, int iovcnt, const int *fds, int nfds);
void uio_close_fds(int *fds, int n);
int uio_take_fd(int *fds, int n, int i);

#endif
