// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzzer of a vhost-user or vfio-user connection's kept set-up
 * (virtio-pci-shim/vu-state.c, vfu-state.c with the virtio-pci function's
 * tokens), under ASan and UBSan: what x9p-vhost's next worker adopts
 * from the monitor after a worker died, as the dead worker left it -- a
 * worker its guest may have taken over.
 *
 * Each round builds a set-up text from the tokens vu_state_save() writes
 * ("f=", "pf=", "r=", "q="), or in every other round those of
 * vfu_state_save() ("caps=", "dma=", "err=", "cfg=", "msixt=", "regs=",
 * "pq=", "vec="), with values that are plausible (the device's
 * features, regions that fit their memfds, ring addresses inside them,
 * queue sizes) or not (huge, overlapping, misaligned, out of range), and
 * tokens cut, repeated, mangled or of random bytes; and a descriptor list
 * that matches it or not (memfds too small, eventfds, /dev/null, a socket;
 * too few, too many).  The real device (vu_dev_new(), one queue, a device
 * class that completes every chain) adopts it on one end of a socketpair
 * whose other end is closed, so serving ends at once.
 * Checked, besides the sanitizers: vu_dev_serve_adopted() returns 0 or
 * -EINVAL, the keeper hears of the connection's end either way, and no
 * descriptor is left open by the round (every one handed over is used or
 * closed).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "fuzz-common.h"
#include "procinfo.h"
#include "virtio-pci-shim/vfu-dev.h"
#include "virtio-pci-shim/vu-dev.h"

#define MEM_SIZE (1u << 20)

static unsigned drops;

static void handle(void *opaque, struct vu_elem *e)
{
	vu_elem_complete(e, 0);
	vu_elem_free(e);
}

static void reset(void *opaque, bool handover)
{
}

static const struct vu_dev_ops ops = { .handle = handle, .reset = reset };

static void keep(void *arg, int sock, const char *state, const int *fds, unsigned nfds)
{
	if (sock < 0)
		drops++;
}

static void quiet(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer data)
{
}

static uint64_t pick(GRand *r, uint64_t plausible)
{
	static const uint64_t odd[] = { 0, 1, 0xffff, 0x10000, 0x7fffffff, 0xffffffffull,
					UINT64_MAX, UINT64_MAX - 0xfff, 1ull << 63, MEM_SIZE,
					MEM_SIZE - 1 };

	switch (g_rand_int_range(r, 0, 8)) {
	case 0:
		return odd[g_rand_int_range(r, 0, G_N_ELEMENTS(odd))];
	case 1:
		return ((uint64_t)g_rand_int(r) << 32) | g_rand_int(r);
	case 2:
		return plausible + (uint64_t)g_rand_int_range(r, -64, 64);
	default:
		return plausible;
	}
}

static int make_fd(GRand *r)
{
	int fd;

	switch (g_rand_int_range(r, 0, 8)) {
	case 0:
		return eventfd(0, EFD_CLOEXEC);
	case 1:
		return open("/dev/null", O_RDWR | O_CLOEXEC);
	case 2: {
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
			return -1;
		close(sv[1]);
		return sv[0];
	}
	default:
		fd = memfd_create("fz", MFD_CLOEXEC);
		if (fd >= 0 && ftruncate(fd, g_rand_int_range(r, 0, 4) ? (off_t)MEM_SIZE :
					 (off_t)g_rand_int_range(r, 0, MEM_SIZE)) < 0) {
			close(fd);
			fd = -1;
		}
		return fd;
	}
}

static void hex_token(GRand *r, GString *t, const char *key, unsigned bytes)
{
	unsigned n = g_rand_int_range(r, 0, 8) ? bytes : (unsigned)g_rand_int_range(r, 0, 2 * bytes);

	g_string_append_printf(t, " %s=", key);
	for (unsigned i = 0; i < n; i++)
		g_string_append_printf(t, "%02x", g_rand_int_range(r, 0, 4) ? 0 : g_rand_int_range(r, 0, 256));
}

/* The tokens of a vfio-user set-up (vfu-state.c). */
static unsigned vfu_text(GRand *r, GString *t)
{
	unsigned nmaps = (unsigned)g_rand_int_range(r, 0, 4), nfds = 0;

	g_string_append_printf(t, "caps=%" PRIx64 ":%" PRIx64 ":%" PRIx64 ":%" PRIx64 ":%d:%d:%d",
			       pick(r, 8), pick(r, 1 << 20), pick(r, 64), pick(r, 4096),
			       g_rand_int_range(r, 0, 2), 0, 0);
	for (unsigned i = 0; i < nmaps; i++)
		g_string_append_printf(t, " dma=%" PRIx64 ":%" PRIx64 ":%" PRIx64 ":%x:%d",
				       pick(r, (uint64_t)i * MEM_SIZE), pick(r, MEM_SIZE), pick(r, 0),
				       (unsigned)pick(r, 3), g_rand_int_range(r, -2, 5));
	if (g_rand_boolean(r))
		g_string_append_printf(t, " err=%d", g_rand_int_range(r, -1, 5));
	hex_token(r, t, "cfg", 256);
	hex_token(r, t, "msixt", 144);
	g_string_append_printf(t, " regs=%x:%x:%" PRIx64 ":%x:%x:%x:%x", (unsigned)pick(r, 0),
			       (unsigned)pick(r, 1), pick(r, 0x100000001ull), (unsigned)pick(r, 0),
			       (unsigned)pick(r, 0), (unsigned)pick(r, 0xf), (unsigned)pick(r, 0));
	g_string_append_printf(t, " pq=%x:%x:%x:%d:%" PRIx64 ":%" PRIx64 ":%" PRIx64,
			       (unsigned)pick(r, 0), (unsigned)pick(r, 128), (unsigned)pick(r, 1),
			       g_rand_int_range(r, 0, 2), pick(r, 0x1000), pick(r, 0x3000),
			       pick(r, 0x4000));
	for (int v = 0; v < 2; v++)
		if (g_rand_boolean(r))
			g_string_append_printf(t, " vec=%x:%x", (unsigned)pick(r, (uint64_t)v),
					       (unsigned)g_rand_int_range(r, 0, 5));
	nfds = nmaps + 3;
	return nfds;
}

static void round_once(GRand *r, struct vu_dev *d, struct vfu_dev *vfu, unsigned served[2],
		       unsigned *refused)
{
	GString *t = g_string_new(NULL);
	int fds[24], sv[2], rc;
	unsigned nfds = 0, nreg = (unsigned)g_rand_int_range(r, 0, 4), before = (unsigned)x9p_proc_fds(0);
	unsigned ndrops = drops;

	bool as_vfu = g_rand_boolean(r);
	unsigned vfu_fds = as_vfu ? vfu_text(r, t) : 0;

	if (!as_vfu)
		g_string_append_printf(t, "f=%" PRIx64 " pf=%" PRIx64,
				       pick(r, vu_dev_features(d) & g_rand_int(r)), pick(r, 9));
	for (unsigned i = 0; !as_vfu && i < nreg; i++) {
		g_string_append_printf(t, " r=%" PRIx64 ":%" PRIx64 ":%" PRIx64 ":%" PRIx64,
				       pick(r, (uint64_t)i * MEM_SIZE), pick(r, MEM_SIZE),
				       pick(r, 0x7f0000000000ull + (uint64_t)i * MEM_SIZE), pick(r, 0));
	}
	if (!as_vfu && g_rand_int_range(r, 0, 4)) {
		unsigned num = (unsigned)pick(r, 64);
		uint64_t base = 0x7f0000000000ull;

		g_string_append_printf(t, " q=%x:%x:%x:%x:%" PRIx64 ":%" PRIx64 ":%" PRIx64
				       ":%" PRIx64 ":%d:%d:%d:%d:%d",
				       (unsigned)pick(r, 0), num, (unsigned)pick(r, 0), 0u,
				       pick(r, base + 0x1000), pick(r, base + 0x4000),
				       pick(r, base + 0x3000), pick(r, 0), g_rand_int_range(r, 0, 2),
				       g_rand_int_range(r, 0, 2), g_rand_int_range(r, 0, 2),
				       g_rand_int_range(r, 0, 2), g_rand_int_range(r, 0, 2));
	}
	switch (g_rand_int_range(r, 0, 6)) {
	case 0: /* cut */
		g_string_truncate(t, (gsize)g_rand_int_range(r, 0, (gint32)t->len + 1));
		break;
	case 1: /* a byte changed */
		if (t->len)
			t->str[g_rand_int_range(r, 0, (gint32)t->len)] =
				(char)g_rand_int_range(r, 1, 256);
		break;
	case 2: /* a token repeated */
		g_string_append(t, strrchr(t->str, ' ') ? strrchr(t->str, ' ') : " q=0");
		break;
	default:
		break;
	}
	/* Descriptors: about what the text names, sometimes fewer or more. */
	nfds = (as_vfu ? vfu_fds : nreg) + (unsigned)g_rand_int_range(r, 0, 4);
	if (!g_rand_int_range(r, 0, 5))
		nfds = (unsigned)g_rand_int_range(r, 0, G_N_ELEMENTS(fds));
	for (unsigned i = 0; i < nfds; i++)
		fds[i] = make_fd(r);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
	close(sv[1]);
	rc = as_vfu ? vfu_dev_serve_adopted(vfu, sv[0], t->str, fds, nfds, -1, -1) :
		      vu_dev_serve_adopted(d, sv[0], t->str, fds, nfds, -1, -1);
	CHECK(rc == 0 || rc == -EINVAL, "adopting \"%s\" (%u descriptors): %d", t->str, nfds, rc);
	if (rc == 0)
		served[as_vfu]++;
	else
		(*refused)++;
	/* Served or refused, the keeper must hear the connection end: a kept
	 * copy left behind would hide its end from the frontend. */
	CHECK(drops > ndrops, "no end of the connection heard for \"%s\" (%d)", t->str, rc);
	CHECK((unsigned)x9p_proc_fds(0) == before, "\"%s\" with %u descriptors left %d open", t->str, nfds,
	      (int)x9p_proc_fds(0) - (int)before);
	g_string_free(t, TRUE);
}

int main(int argc, char **argv)
{
	gint seconds;
	gint64 seed, end;
	GRand *r;
	struct vu_dev *d, *vd;
	struct vfu_dev *vfu;
	uint8_t config[8] = { 2, 0, 'f', 'z' };
	struct vu_dev_cfg cfg = {
		.features = 1,
		.config = config,
		.config_len = 4,
		.nqueues = 1,
		.ops = &ops,
		.label = "fuzz",
	};
	unsigned rounds = 0, served[2] = { 0, 0 }, refused = 0;

	fuzz_begin(&argc, &argv, "fuzz-vu-state", "- fuzz a vhost-user connection's kept set-up",
		   NULL, &seconds, &seed);
	g_log_set_always_fatal(G_LOG_FATAL_MASK);
	/* As in the worker: an eventfd that is a closed socket fails, quietly. */
	signal(SIGPIPE, SIG_IGN);
	/* Refusals are logged as warnings: expected here, and many. */
	g_log_set_handler("x9p-vhost", G_LOG_LEVEL_MASK, quiet, NULL);
	r = g_rand_new_with_seed((guint32)seed);
	d = vu_dev_new(&cfg);
	vu_dev_set_keeper(d, keep, NULL);
	/* The vfio-user device on a virtio device of its own. */
	vd = vu_dev_new(&cfg);
	vu_dev_set_keeper(vd, keep, NULL);
	vfu = vfu_dev_new(vd, 9, "fuzz");
	end = g_get_monotonic_time() + (gint64)seconds * G_USEC_PER_SEC;
	while (!failure[0] && g_get_monotonic_time() < end) {
		round_once(r, d, vfu, served, &refused);
		rounds++;
	}
	vfu_dev_free(vfu);
	vu_dev_free(vd);
	vu_dev_free(d);
	g_rand_free(r);
	if (failure[0])
		return fuzz_failed("fuzz-vu-state", seed, "");
	printf("ok 1 - %u set-ups adopted: %u vhost-user and %u vfio-user served, %u refused\n",
	       rounds, served[0], served[1], refused);
	return 0;
}
