/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Frontend connections: a vhost-user or vfio-user device serves one
 * frontend (VMM) at a time.  With a listening socket, the next frontend is accepted after the
 * previous one went away (a restarted VMM reconnects); a connection
 * arriving while one is served is closed at once.  With an inherited
 * connected socket, that one connection is served.
 */
#ifndef X9P_VHOST_FRONTEND_H
#define X9P_VHOST_FRONTEND_H

/* A device's protocol on one connection (vu_dev_serve, vfu_dev_serve):
 * takes sock over; 0 when the frontend left or stop_fd fired, else
 * -errno.  Connections arriving on reject_fd meanwhile are refused. */
typedef int (*frontend_serve_fn)(void *dev, int sock, int stop_fd, int reject_fd);

/*
 * What a device's protocol loop waits for: a message on sock, stop_fd, or
 * event_fd (-1 for none).  Connections arriving on reject_fd (a listening
 * socket, or -1) meanwhile are refused (one frontend at a time: a second
 * one would wait forever for answers), with `label` in the warning.  A
 * message is reported before a new connection is refused, so a frontend
 * that closed just before a new one came is seen gone, not the newcomer
 * refused.  Returns FRONTEND_MESSAGE, FRONTEND_STOP, FRONTEND_EVENT or
 * -errno.
 */
enum { FRONTEND_MESSAGE = 1, FRONTEND_STOP, FRONTEND_EVENT };
int frontend_wait(int sock, int stop_fd, int reject_fd, int event_fd, const char *label);

/*
 * Serves listen_fd until stop_fd becomes readable.  Returns 0, or -errno
 * if accepting failed for good.
 */
int vhost_serve_listener(frontend_serve_fn serve, void *dev, int listen_fd, int stop_fd);
/* Serves one connected socket (taken over): 0 on a clean end, -errno. */
int vhost_serve_connection(frontend_serve_fn serve, void *dev, int sock, int stop_fd);
/* True for a listening socket, false for a connected one; -errno if fd
 * is not a stream socket. */
int vhost_fd_is_listener(int fd);

#endif
