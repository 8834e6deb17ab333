// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A worker of the vhost role: one virtio-9p device on the frontend socket
 * the monitor opened (virtio-pci-shim/); see serve.h.  The device speaks
 * vhost-user, or with MW_CF_VFIO_USER vfio-user as a virtio-pci function.
 * Guest memory arrives as descriptors (SET_MEM_TABLE, DMA_MAP) and is
 * mapped here, which the worker's filter allows (never executable).
 */
#define G_LOG_DOMAIN "x9p-worker"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <glib.h>

#include "virtio-pci-shim/frontend.h"
#include "proxy.h"
#include "record/record.h"
#include "virtio-pci-shim/p9-vq.h"
#include "virtio-pci-shim/vfu-dev.h"
#include "virtio-pci-shim/vu-dev.h"
#include "worker/serve.h"

/* Linux's 9pnet_virtio carries at most 512000 bytes; larger is harmless. */
#define VHOST_MAX_MSIZE ((1u << 20) + P9_IOHDR_SIZE)

static int serve_vu(void *dev, int sock, int stop_fd, int reject_fd)
{
	return vu_dev_serve(dev, sock, stop_fd, reject_fd);
}

static int serve_vfu(void *dev, int sock, int stop_fd, int reject_fd)
{
	return vfu_dev_serve(dev, sock, stop_fd, reject_fd);
}

static struct x9p_wlink *mlink;
static gint said_unkept;

/*
 * The monitor keeps the frontend connection and its set-up, so that the
 * next worker goes on serving it if this one dies (vu-dev.h).
 */
static void keep_device(void *arg, int sock, const char *state, const int *fds, unsigned nfds)
{
	const char *label = arg;
	struct mw_msg m;

	mw_init(&m, MW_KEEP_DEVICE, 0);
	if (sock >= 0 && nfds + 1 <= MW_MAX_FDS && mw_add_text(&m, state)) {
		mw_add_fd(&m, sock);
		for (unsigned i = 0; i < nfds; i++)
			mw_add_fd(&m, fds[i]);
	} else if (sock >= 0) {
		mw_clear(&m);
		mw_init(&m, MW_KEEP_DEVICE, 0);
		if (g_atomic_int_compare_and_exchange(&said_unkept, 0, 1))
			g_warning("%s: a set-up of %zu bytes and %u descriptors cannot be kept: the "
				  "frontend loses the device if this worker dies", label,
				  strlen(state), nfds);
	}
	if (x9p_wlink_send(mlink, &m) < 0 && m.nfds) {
		/* Never leave the monitor an older set-up than this one. */
		mw_clear_keep_fds(&m);
		mw_init(&m, MW_KEEP_DEVICE, 0);
		g_warning("%s: cannot hand the frontend connection to the monitor", label);
		x9p_wlink_send(mlink, &m);
	}
	mw_clear_keep_fds(&m);
}

/* Serves the connection the previous worker left, if any, until it ends. */
static void serve_kept(struct vu_dev *dev, struct vfu_dev *vfu, struct mw_msg *k, int stop_fd,
		       int reject_fd)
{
	char *state;
	int sock, err;

	if (k->nfds == 0 || k->ns == 0)
		return;
	sock = k->fds[0];
	k->fds[0] = -1;
	state = mw_text(k);
	if (vfu)
		err = vfu_dev_serve_adopted(vfu, sock, state, k->fds + 1, k->nfds - 1, stop_fd,
					    reject_fd);
	else
		err = vu_dev_serve_adopted(dev, sock, state, k->fds + 1, k->nfds - 1, stop_fd,
					   reject_fd);
	g_free(state);
	if (err < 0)
		g_warning("frontend connection ended: %s; waiting for the next one",
			  g_strerror(-err));
}

/* --record: the recorder on CONFIG's two files, which it takes over, and
 * its WORKER record. */
static struct x9p_rec *start_recording(struct mw_msg *c, bool restored)
{
	unsigned at = mw_cf_fd_at(c, MW_CF_RECORD);
	int fd[2] = { c->fds[at], c->fds[at + 1] };
	struct x9p_rec *rec;
	char *options;

	rec = x9p_rec_new(fd, (uint64_t)c->u[MW_CF_RECORD_MIB] << 20,
			  c->u[MW_CF_FLAGS] & MW_CF_RECORD_REDACT);
	c->fds[at] = c->fds[at + 1] = -1;
	options = x9p_rec_options(c->u[MW_CF_FLAGS] & MW_CF_VFIO_USER ? "vfio-user" : "vhost-user",
				  1, x9p_secmodel_name(c->u[MW_CF_MODEL]),
				  c->u[MW_CF_FLAGS] & MW_CF_READONLY, 0, 0, false);
	x9p_rec_worker(rec, c->s[MW_CF_S_LABEL], options, restored);
	g_free(options);
	return rec;
}

int x9p_worker_serve_vhost(struct x9p_wctx *w)
{
	struct mw_msg *c = w->c;
	uint8_t config[VU_MAX_CONFIG_SIZE];
	struct vu_dev_cfg dcfg = { 0 };
	const char *label = c->s[MW_CF_S_LABEL];
	struct vu_dev *dev;
	struct vfu_dev *vfu = NULL;
	frontend_serve_fn serve = serve_vu;
	void *serving;
	struct p9vq *p9;
	struct x9p_rec *rec = NULL;
	sigset_t sigs;
	int sigfd, fd = c->fds[0], kind, status = 0;

	c->fds[0] = -1;
	/* main.c blocked them before any thread existed. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	if (sigfd < 0) {
		g_critical("signalfd: %s", g_strerror(errno));
		close(fd);
		return 1;
	}
	p9 = p9vq_new(w->engine, VHOST_MAX_MSIZE, label);
	if (c->u[MW_CF_FLAGS] & MW_CF_RECORD) {
		rec = start_recording(c, w->restored);
		p9vq_set_recorder(p9, rec);
	}
	dcfg.features = 1ull << VIRTIO_9P_MOUNT_TAG;
	dcfg.config = config;
	dcfg.config_len = p9vq_config(c->s[MW_CF_S_TAG], config, sizeof(config));
	dcfg.nqueues = 1;
	dcfg.stop_grace_ms = c->u[MW_CF_STOP_GRACE_MS];
	dcfg.ops = &p9vq_ops;
	dcfg.opaque = p9;
	dcfg.label = label;
	dev = vu_dev_new(&dcfg);
	serving = dev;
	if (c->u[MW_CF_FLAGS] & MW_CF_VFIO_USER) {
		vfu = vfu_dev_new(dev, VIRTIO_ID_9P, label);
		p9vq_set_inline(p9, true);
		serve = serve_vfu;
		serving = vfu;
	}
	/* A journal: this worker may take over from, and be taken over by,
	 * another, which the monitor hands the frontend connection to (after
	 * vfu_dev_new(), whose new function resets the device class). */
	if (w->journal) {
		p9vq_set_journal(p9, w->journal, w->restored);
		mlink = w->link;
		vu_dev_set_keeper(dev, keep_device, (void *)label);
	}
	kind = vhost_fd_is_listener(fd);
	if (kind < 0 || !x9p_worker_announce(w)) {
		close(fd);
		status = 1;
	} else if (kind == 1) {
		serve_kept(dev, vfu, &w->kept_device, sigfd, fd);
		if (vhost_serve_listener(serve, serving, fd, sigfd) < 0)
			status = 1;
		close(fd);
	} else if (vhost_serve_connection(serve, serving, fd, sigfd) < 0) {
		status = 1;   /* the device closed fd */
	}
	g_info("shutting down");
	vfu_dev_free(vfu);
	vu_dev_free(dev);
	p9vq_free(p9);
	if (rec) {
		x9p_rec_end(rec, X9P_REC_END_STOP);
		x9p_rec_free(rec);
	}
	close(sigfd);
	return status;
}
